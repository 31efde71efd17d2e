#!/usr/bin/env bash
# Chromium for the page tests (the /dashboard test renders in headless Chromium): installs
# Debian's package when it is missing and this user can (root or passwordless sudo).
set -euo pipefail
bin=${CHROMIUM:-/usr/bin/chromium}
if [ -x "$bin" ]; then exit 0; fi
echo "Chromium is missing: installing Debian's chromium package for the page tests"
if [ "$(id -u)" = 0 ]; then sudo=""; elif sudo -n true 2>/dev/null; then sudo="sudo -n"; else
  echo "cannot install Chromium (not root, no sudo): run 'apt-get install chromium' or set CHROMIUM" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q >/dev/null
$sudo apt-get install -y -q --no-install-recommends chromium >/dev/null
[ -x "$bin" ] || { echo "chromium was installed but $bin is not there: set CHROMIUM" >&2; exit 1; }
