#!/usr/bin/env bash
# `make dev`: the whole product on this machine. Starts the emulator, creates the table and
# queues from template.yaml, seeds a demo Slack provider with its own signing secret, then runs
# `im serve` in the foreground (Ctrl-C stops it and the emulator it started).
set -euo pipefail
cd "$(dirname "$0")/.."
port=${EMULATOR_PORT:-4566}
addr=${IM_LISTEN:-127.0.0.1:3000}
stack=${IM_STACK:-im-dev}
im=./target/debug/im
env_file=.local/dev.env

started=0
if ! infra/emulator.sh status "$port" >/dev/null 2>&1; then
  infra/emulator.sh start "$port"
  started=1
fi
cleanup() { if [ "$started" = 1 ]; then infra/emulator.sh stop "$port"; fi; }
trap cleanup EXIT INT TERM

AWS_ENDPOINT_URL=http://127.0.0.1:$port "$im" local bootstrap --stack "$stack" --env-file "$env_file"
if ! "$im" --env-file "$env_file" chatops list --json | grep -q '"name": "demo"'; then
  secret=$(.venv/bin/python -c 'import secrets; print(secrets.token_hex(24))')
  "$im" --env-file "$env_file" chatops add slack demo --config "{
    \"signing_secret\": \"$secret\", \"bot_token\": \"xoxb-local-demo\", \"default_channel\": \"C0DEMO\",
    \"team_id\": \"T0IMCLI\", \"api_app_id\": \"A0IMCLI\",
    \"notification_channels\": {\"SEV-1\": \"C0CRITICAL\", \"default\": \"C0DEMO\"}}"
fi

cat <<MSG

  Local stack is up (emulator http://127.0.0.1:$port, table $stack-incidents).
  Slack webhook:  http://$addr/chatops/slack/demo

  Send a signed slash command to it (in another terminal):
    $im --env-file $env_file chatops slash --provider demo --url http://$addr declare --sev SEV-2 --service checkout "Payment processing down"
  Notifications appear below as [slack] lines (a local stand-in for Slack's API).
  Dead letters:   $im --env-file $env_file chatops dlq list
  Or run every command once:
    $im --env-file $env_file chatops test-commands --provider demo --url http://$addr

MSG
"$im" --env-file "$env_file" serve --addr "$addr" --slack-sink
