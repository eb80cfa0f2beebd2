#!/usr/bin/env bash
# `sam build` as an operator runs it: SAM calls cargo-lambda for every function of template.yaml
# (BuildMethod: rust-cargolambda), which cross-compiles it for Linux on the template's default
# architecture (arm64) with zig. Offline, no AWS credentials used. Then every function must have
# its `bootstrap`.
#
# The operator's build is `--release` with the workspace's release profile (LTO, one codegen
# unit). Here the same build runs unoptimised, so the check stays quick; what it proves is that
# the template, SAM and cargo-lambda produce every function.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=$(scripts/tools-venv.sh)
export PATH="$PWD/$venv/bin:$PATH"
export AWS_ACCESS_KEY_ID=AKIDUMMYDUMMYDUMMY00 AWS_SECRET_ACCESS_KEY=dummy AWS_REGION=us-east-1
export AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
export SAM_CLI_TELEMETRY=0 SAM_CLI_CONTACT_TRACKING=0
export CARGO_PROFILE_RELEASE_OPT_LEVEL=0 CARGO_PROFILE_RELEASE_LTO=false
export CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 CARGO_PROFILE_RELEASE_DEBUG=false

out=target/sam-build
rm -rf "$out"
# One function after the other: in parallel, each cargo-lambda run checks and "installs" the
# cross target at once, and one may find the others' half-written toolchain. The functions
# share one target dir, so after the first the rest only link.
config=target/samconfig-check.toml
mkdir -p target
printf 'version = 0.1\n[default.build.parameters]\nbeta_features = true\nparallel = false\n' >"$config"
sam build --config-file "$PWD/$config" --beta-features --no-cached --build-dir "$out" </dev/null

missing=0
for function in $("$venv/bin/python" - <<'PY'
import yaml
class Loader(yaml.SafeLoader):
    pass
# CloudFormation's short tags (!Ref, !Sub, ...) as plain values: only the resource types matter.
Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
template = yaml.load(open("template.yaml"), Loader=Loader)
for name, resource in template["Resources"].items():
    if resource["Type"] in ("AWS::Serverless::Function", "AWS::Lambda::Function"):
        print(name)
PY
); do
    bootstrap="$out/$function/bootstrap"
    # e_machine of the ELF header: 0xb7 is AArch64.
    if [ -x "$bootstrap" ] && [ "$(od -An -tx1 -j18 -N2 "$bootstrap" | tr -d ' ')" = "b700" ]; then
        echo "   $function: $(du -h "$bootstrap" | cut -f1) bootstrap for arm64"
    else
        echo "   $function: no arm64 bootstrap at $bootstrap" >&2
        missing=1
    fi
done
exit "$missing"
