#!/usr/bin/env bash
# The whole test suite, as CI runs it: formatting, lints, unit, service and integration tests,
# and the OpenAPI document checked against the router.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== format"
cargo fmt --all -- --check
echo "== lints"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== tests"
cargo test --workspace --locked
echo "== openapi.yaml"
venv=target/tools-venv
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check openapi-spec-validator pyyaml
fi
"$venv/bin/python" scripts/check-openapi.py
echo "== all checks passed"
