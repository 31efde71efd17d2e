#!/usr/bin/env bash
# `make dev`: the whole product on this machine. Starts the emulator, creates the table and
# queues from template.yaml, seeds a demo Slack provider with its own signing secret and a demo
# Discord provider that trusts the local key pair (the tenants of the events/ fixtures, so
# `./im sign-event` fixtures are accepted), then runs `im serve` in the foreground with local
# stand-ins for Slack's and Discord's APIs (Ctrl-C stops it and the emulator it started).
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
    \"team_id\": \"T0001\", \"api_app_id\": \"A123456\",
    \"notification_channels\": {\"SEV-1\": \"C0CRITICAL\", \"default\": \"C0DEMO\"},
    \"services\": [\"checkout\", \"payments\", \"database\", \"search\", \"api\"],
    \"rbac\": {\"default_role\": \"responder\"}}"
fi
if ! "$im" --env-file "$env_file" chatops list --json | grep -q '"name": "demo-discord"'; then
  # The public half of the local key pair (im_discord::verify::local_signing_key): Discord itself
  # signs real interactions, so only a local provider trusts it. /im is registered with the local
  # stand-in for Discord's API.
  sink_port=${IM_SINK_PORT:-9019}
  "$im" local sink --addr "127.0.0.1:$sink_port" >/dev/null &
  sink=$!
  sleep 0.5
  DISCORD_API_URL="http://127.0.0.1:$sink_port/discord/api/v10" \
  "$im" --env-file "$env_file" chatops add discord demo-discord --config '{
    "public_key": "4abf97a7212f92e651b1cbc3c4ba6d41dcc6276e8b4d2a95fd9e09917b48df09",
    "application_id": "900100", "guild_id": "700100", "bot_token": "discord-local-demo",
    "default_channel": "800100", "services": ["checkout", "payments", "database", "search", "api"],
    "rbac": {"default_role": "responder"}}'
  kill "$sink" 2>/dev/null || true
fi

cat <<MSG

  Local stack is up (emulator http://127.0.0.1:$port, table $stack-incidents).
  Slack webhook:   http://$addr/chatops/slack/demo
  Discord webhook: http://$addr/chatops/discord/demo-discord

  Send a signed slash command to it (in another terminal):
    ./im chatops slash --provider demo --url http://$addr declare --sev SEV-2 --service checkout "Payment processing down"
  Notifications appear below as [slack] and [discord] lines (local stand-ins for their APIs).
  Dead letters:   ./im chatops dlq list
  Or run every command once:
    ./im chatops test-commands --provider demo --url http://$addr
  How a mention would be understood:
    ./im nlu "resolve the checkout incident"
  An on-call rotation to ask about:
    ./im oncall set payments --participants slack:U0DEMO --timezone Europe/Berlin

MSG
"$im" --env-file "$env_file" serve --addr "$addr" --platform-sink
