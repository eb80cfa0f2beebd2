#!/usr/bin/env bash
# Builds the web portal into frontend/dist: installs exactly the npm packages of
# package-lock.json when they changed, then type-checks and bundles the app.
set -euo pipefail
cd "$(dirname "$0")/../frontend"

if ! command -v npm >/dev/null; then
  echo "build-frontend: the web portal needs Node.js 20.19 or later with npm (https://nodejs.org)" >&2
  exit 1
fi
# npm ci leaves this file behind; it is older than the lock file once the lock file changes.
installed=node_modules/.package-lock.json
if [ ! -f "$installed" ] || [ package-lock.json -nt "$installed" ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
# Vite rewrites dist/index.html on every build: nothing newer than it, nothing to build again.
if [ -f dist/index.html ] && [ -z "$(find src index.html vite.config.ts tsconfig.json \
    package.json package-lock.json -newer dist/index.html -print -quit)" ]; then
  exit 0
fi
npm run build --silent
