#!/usr/bin/env bash
# Starts/stops the local AWS emulator (moto behind infra/emulator.py) on loopback.
# Usage: infra/emulator.sh start|stop|status [PORT]
set -euo pipefail
cd "$(dirname "$0")/.."
action=${1:-status}
port=${2:-${EMULATOR_PORT:-4566}}
py=.venv/bin/python
pidfile=.local/emulator-$port.pid
log=.local/emulator-$port.log
url=http://127.0.0.1:$port

up() { "$py" - "$url" <<'PY' 2>/dev/null
import sys, urllib.request
urllib.request.urlopen(sys.argv[1] + "/moto-api/", timeout=1)
PY
}

case "$action" in
  start)
    if up; then echo "emulator already running at $url"; exit 0; fi
    mkdir -p .local
    nohup "$py" infra/emulator.py --port "$port" >"$log" 2>&1 &
    echo $! >"$pidfile"
    for _ in $(seq 1 100); do
      if up; then echo "emulator started at $url (pid $(cat "$pidfile"), log $log)"; exit 0; fi
      if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then echo "emulator failed to start:"; cat "$log"; exit 1; fi
      sleep 0.2
    done
    echo "emulator did not answer within 20 s"; cat "$log"; exit 1
    ;;
  stop)
    if [ -f "$pidfile" ]; then
      kill "$(cat "$pidfile")" 2>/dev/null || true
      rm -f "$pidfile"
      echo "emulator stopped"
    fi
    ;;
  status)
    if up; then echo "running at $url"; else echo "not running"; exit 1; fi
    ;;
  *) echo "usage: $0 start|stop|status [port]"; exit 2 ;;
esac
