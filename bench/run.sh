#!/usr/bin/env bash
# Every benchmark in one command, written to BENCHMARKS.md: builds what it measures as an
# operator would (the functions with `cargo lambda build --release`, ferry-local and the
# benchmark driver with `cargo build --release`), installs what it compares against (boto3 and
# awslambdaric in a venv of their own, moto, wrk) and runs `ferry-bench run`.
#
# `bench/run.sh --quick`: small sizes, few iterations, debug builds; writes
# target/bench/BENCHMARKS.md. It proves that the benchmarks run; its times mean nothing.
# Further arguments go to `ferry-bench run` (e.g. `--only cold-start --out /tmp/cold.md`).
set -euo pipefail
cd "$(dirname "$0")/.."

quick=false
if [ "${1:-}" = "--quick" ]; then
    quick=true
    shift
fi

tools=$(scripts/tools-venv.sh)
export PATH="$PWD/$tools/bin:$PATH"

venv=target/bench-venv
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv" >&2
fi
if ! "$venv/bin/python" -c 'import boto3, awslambdaric' 2>/dev/null; then
    echo "== installing the Python baseline's runtime into $venv" >&2
    "$venv/bin/pip" install --quiet --disable-pip-version-check \
        -r bench/python/requirements.txt </dev/null >&2
fi

scripts/debian-package.sh wrk wrk

if $quick; then
    scripts/build-debug.sh
    mkdir -p target/bench
    exec target/debug/ferry-bench run --quick \
        --out target/bench/BENCHMARKS.md \
        --functions target/debug \
        --functions-built-by "debug builds, quick mode" \
        --ferry-local target/debug/ferry-local \
        --python "$venv/bin/python" \
        --command "bench/run.sh --quick" "$@"
fi

cargo lambda build --release --locked -p ferry-functions
cargo build --release --locked -p ferry-local -p ferry-bench
exec target/release/ferry-bench run \
    --out BENCHMARKS.md \
    --functions target/lambda \
    --functions-built-by "\`cargo lambda build --release\`, x86_64" \
    --ferry-local target/release/ferry-local \
    --python "$venv/bin/python" \
    --command "bench/run.sh" "$@"
