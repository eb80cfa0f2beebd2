#!/usr/bin/env bash
# The portal end to end in headless Chromium: a fresh ferry-local per test file, Debian's
# chromium driven by playwright-core. Screenshots land in frontend/e2e-output/.
# Usage: scripts/e2e.sh [test files…]   (default: every frontend/e2e/*.test.mjs)
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/debian-package.sh /usr/bin/chromium chromium
scripts/build-frontend.sh
scripts/build-debug.sh
export FERRY_LOCAL_BIN="$PWD/target/debug/ferry-local"

cd frontend
rm -rf e2e-output
if [ $# -eq 0 ]; then
  set -- e2e/*.test.mjs
fi
node --test --test-concurrency=1 --test-reporter=spec "$@"
