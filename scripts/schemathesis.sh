#!/usr/bin/env bash
# Fuzzes the API of a fresh ferry-local against openapi.yaml with schemathesis, signed in as the
# admin (who is also a member): the per-operation phases (examples, coverage, fuzzing), then
# stateful sequences along the document's `links` (create a transfer, then read or cancel it by
# the id it answered; create a user, then change or delete it). Fails on any 5xx and on any
# answer the document does not describe: status code, content type, body or headers.
#
# Seeded and bounded: the same seed generates the same inputs, and the run stops once its time
# budget is spent (how many inputs fit in it depends on the machine). Only 127.0.0.1 is ever
# contacted: the spec's `servers` entry is overridden, redirects (the download's 303 to
# storage) are not followed, the example database is off, and ferry-local keeps its mail in
# its data dir. Deliveries, the one feature that reaches out, need a transfer whose documents
# were uploaded to storage, which this run never does.
#
# ferry-local runs with rate limits far above its defaults, so that the run tests what lies
# behind them rather than collecting 429s (which the document describes, with `Retry-After`).
#
# Usage: scripts/schemathesis.sh [extra schemathesis run options]
# Environment: SCHEMATHESIS_SEED (default 20240601), SCHEMATHESIS_MAX_EXAMPLES (default 25),
# SCHEMATHESIS_MAX_TIME (the run's time budget in seconds, default 150; the fuzzing and stateful
# phases use what is left of it), SCHEMATHESIS_RATE_LIMITS (ferry-local's --rate-limits),
# SCHEMATHESIS_REPORT_DIR (keep the JUnit report and the ferry-local log there).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

seed=${SCHEMATHESIS_SEED:-20240601}
max_examples=${SCHEMATHESIS_MAX_EXAMPLES:-25}
admin_email=admin@example.org
admin_password='correct horse battery staple'
rate_limits=${SCHEMATHESIS_RATE_LIMITS:-sign-in=100000/min,request-code=100000/min,verify-code=100000/min,create-transfer=100000/min,download=100000/min}

venv=$(scripts/tools-venv.sh)
echo "== building ferry-local" >&2
CARGO_TARGET_DIR="$root/target" scripts/build-debug.sh
bin="$root/target/debug/ferry-local"

work=$(mktemp -d)
report_dir=${SCHEMATHESIS_REPORT_DIR:-$work/report}
mkdir -p "$report_dir"
ferry_pid=
cleanup() {
    if [ -n "$ferry_pid" ] && kill -0 "$ferry_pid" 2>/dev/null; then
        kill "$ferry_pid" 2>/dev/null || true
        wait "$ferry_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

port=$("$venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
echo "== starting ferry-local on $base" >&2
FERRY_ADMIN_EMAIL=$admin_email FERRY_ADMIN_PASSWORD=$admin_password FERRY_LOG=warn \
    FERRY_RATE_LIMITS=$rate_limits \
    "$bin" --listen "127.0.0.1:$port" --data-dir "$work/data" \
    --sweep-seconds 1 >"$report_dir/ferry-local.log" 2>&1 </dev/null &
ferry_pid=$!

for _ in $(seq 1 600); do
    if curl --silent --fail --max-time 2 --noproxy '*' "$base/api/v1/health" >/dev/null; then
        break
    fi
    if ! kill -0 "$ferry_pid" 2>/dev/null; then
        cat "$report_dir/ferry-local.log" >&2
        echo "ferry-local exited before it served" >&2
        exit 1
    fi
    sleep 0.1
done
curl --silent --fail --max-time 2 --noproxy '*' "$base/api/v1/health" >/dev/null \
    || { echo "ferry-local did not come up on $base" >&2; exit 1; }

token=$(no_proxy='*' "$venv/bin/python" scripts/local-login.py "$base" "$admin_email" "$admin_password")

echo "== schemathesis $("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("schemathesis"))') (seed $seed, at most $max_examples examples per operation)" >&2
status=0
# A config file in the working directory would change the run: start from none.
(cd "$work" && NO_PROXY='*' no_proxy='*' "$root/$venv/bin/schemathesis" run "$root/openapi.yaml" \
    --url "$base" \
    --header "Authorization: Bearer $token" \
    --phases examples,coverage,fuzzing,stateful \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance \
    --seed "$seed" \
    --max-examples "$max_examples" \
    --max-time "${SCHEMATHESIS_MAX_TIME:-150}" \
    --workers 1 \
    --max-redirects 0 \
    --request-timeout 10 \
    --generation-database none \
    --suppress-health-check all \
    --no-color \
    --report junit --report-dir "$report_dir" \
    "$@") || status=$?

if [ "$status" -ne 0 ]; then
    echo "== schemathesis found failures (exit $status); ferry-local's log:" >&2
    tail -n 50 "$report_dir/ferry-local.log" >&2
fi
exit "$status"
