#!/usr/bin/env bash
# Static checks of the SAM template, offline and without AWS credentials:
#   1. cfn-lint template.yaml (clean: no error, no warning);
#   2. sam validate --lint (the SAM CLI's own validation of the same template);
#   3. scripts/check-template.py: the template routes exactly the operations of openapi.yaml.
# Tools live in the venv that scripts/tools-venv.sh keeps.
set -euo pipefail
cd "$(dirname "$0")/.."

venv=$(scripts/tools-venv.sh)

# Neither check calls AWS; the SDK still wants a region and credentials to exist.
export AWS_ACCESS_KEY_ID=AKIDUMMYDUMMYDUMMY00
export AWS_SECRET_ACCESS_KEY=dummy-secret-for-offline-checks
export AWS_SESSION_TOKEN=dummy
export AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true
export SAM_CLI_TELEMETRY=0
export SAM_CLI_CONTACT_TRACKING=0
export SAM_CLI_BETA_FEATURES=0

echo "== cfn-lint template.yaml"
"$venv/bin/cfn-lint" template.yaml </dev/null
echo "== sam validate --lint"
"$venv/bin/sam" validate --lint --region us-east-1 --template-file template.yaml </dev/null
echo "== routes of template.yaml against openapi.yaml"
"$venv/bin/python" scripts/check-template.py
