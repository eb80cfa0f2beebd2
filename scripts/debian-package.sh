#!/usr/bin/env bash
# Makes sure a program from Debian's packages is installed: `scripts/debian-package.sh PROGRAM
# PACKAGE`. Installs PACKAGE with apt when PROGRAM is missing and this runs as root; otherwise
# says what is needed and fails.
set -euo pipefail
program=$1 package=$2
if command -v "$program" >/dev/null; then
    exit 0
fi
if [ "$(id -u)" = 0 ]; then
    echo "== installing Debian's $package" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$package" >/dev/null
else
    echo "needs $program (as root: apt-get install $package)" >&2
    exit 1
fi
