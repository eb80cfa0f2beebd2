#!/usr/bin/env bash
# The whole portal on this machine: builds the web app, then runs ferry-local (release build),
# which serves it at / beside the API. Arguments go to ferry-local (see --help).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/build-frontend.sh" >&2
exec cargo run --quiet --manifest-path "$root/Cargo.toml" --release --bin ferry-local -- "$@"
