#!/usr/bin/env bash
# Runs a command with the local AWS emulator available: starts one if none answers, and stops
# only what it started. Usage: infra/with-emulator.sh <command…>
set -euo pipefail
cd "$(dirname "$0")/.."
port=${EMULATOR_PORT:-4566}
started=0
if ! infra/emulator.sh status "$port" >/dev/null 2>&1; then
  infra/emulator.sh start "$port"
  started=1
fi
cleanup() { if [ "$started" = 1 ]; then infra/emulator.sh stop "$port"; fi; }
trap cleanup EXIT
export AWS_ENDPOINT_URL=http://127.0.0.1:$port AWS_REGION=us-east-1
"$@"
