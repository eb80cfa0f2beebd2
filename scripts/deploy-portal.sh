#!/usr/bin/env bash
# After `sam deploy`: builds the web portal, writes its config.json from the stack's outputs and
# uploads both to the stack's private portal bucket behind CloudFront.
#
# Usage: scripts/deploy-portal.sh [STACK_NAME]   (default: ferry, as in samconfig.toml)
# Needs: the AWS CLI with the same credentials as `sam deploy`, python3, Node.js 20.19+.
# Optional: FERRY_WEB_CLIENT_ID (an outside issuer's public client for the portal; default
# the stack's OidcAudience), FERRY_ACCOUNT_URL (where users turn on two-factor sign-in).
set -euo pipefail
cd "$(dirname "$0")/.."
stack=${1:-ferry}

output() {
  aws cloudformation describe-stacks --stack-name "$stack" \
    --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue" --output text
}
api_url=$(output ApiUrl)
origin=$(output PortalOrigin)
bucket=$(output PortalBucketName)
distribution=$(output PortalDistributionId)
issuer=$(output OidcIssuer)
client_id=${FERRY_WEB_CLIENT_ID:-$(output OidcAudience)}
hosted_ui=$(output HostedUiDomain)

scripts/build-frontend.sh

# Cognito publishes no end_session_endpoint and has no self-service two-factor page (with
# Mfa=ON its sign-in enrolls TOTP); another issuer (Keycloak) has both.
case "$issuer" in
  https://cognito-idp.*)
    logout_url="$hosted_ui/logout?client_id=$client_id&logout_uri=$origin/"
    account_url=${FERRY_ACCOUNT_URL:-} ;;
  *)
    logout_url=""
    account_url=${FERRY_ACCOUNT_URL:-$issuer/account} ;;
esac
API_URL=$api_url ISSUER=$issuer CLIENT_ID=$client_id ACCOUNT_URL=$account_url LOGOUT_URL=$logout_url \
  python3 - > frontend/dist/config.json <<'PY'
import json, os
def optional(name):
    return os.environ[name] or None
print(json.dumps({
    "api_url": os.environ["API_URL"],
    "oidc": {
        "issuer": os.environ["ISSUER"],
        "client_id": os.environ["CLIENT_ID"],
        "scope": "openid email profile",
        "account_url": optional("ACCOUNT_URL"),
        "logout_url": optional("LOGOUT_URL"),
    },
    "dev_mail_url": None,
}, indent=2))
PY

# Hashed assets are immutable; the page and its configuration are revalidated every time.
aws s3 sync frontend/dist "s3://$bucket" --delete --exclude index.html --exclude config.json \
  --cache-control "public, max-age=31536000, immutable"
aws s3 cp frontend/dist/index.html "s3://$bucket/index.html" --cache-control no-cache \
  --content-type "text/html; charset=utf-8"
aws s3 cp frontend/dist/config.json "s3://$bucket/config.json" --cache-control no-cache \
  --content-type application/json
aws cloudfront create-invalidation --distribution-id "$distribution" \
  --paths /index.html /config.json >/dev/null
echo "The portal is at $origin/"
