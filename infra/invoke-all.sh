#!/usr/bin/env bash
# `make invoke-all`: every event in events/ through `cargo lambda invoke`, against a fresh stack on
# the local emulator, each answer checked against events/invoke-all.json.
#
# Starts the emulator when none answers, bootstraps a stack of its own (so a running `make dev` is
# left alone), adds the fixtures' providers (Slack `demo`, Discord `demo-discord` trusting the
# local key), runs local stand-ins for Slack's and Discord's APIs and `cargo lambda watch`, then
# infra/invoke_all.py re-signs each event now (`im sign-event`) and invokes it. Stops what it started.
set -euo pipefail
cd "$(dirname "$0")/.."
port=${EMULATOR_PORT:-4566}
watch_port=${IM_WATCH_PORT:-9000}
sink_port=${IM_SINK_PORT:-9018}
stack="im-invoke-$(date +%s)"
env_file=.local/invoke.env
im=./target/debug/im

if [ ! -x .venv/bin/cargo-lambda ]; then
  .venv/bin/pip install --quiet --disable-pip-version-check -r infra/requirements-build.txt
fi
export PATH="$PWD/.venv/bin:$PATH"
cargo build --quiet --workspace --bins

pids=()
started=0
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ "$started" = 1 ]; then infra/emulator.sh stop "$port"; fi
}
trap cleanup EXIT INT TERM
if ! infra/emulator.sh status "$port" >/dev/null 2>&1; then
  infra/emulator.sh start "$port"
  started=1
fi

mkdir -p .local
AWS_ENDPOINT_URL=http://127.0.0.1:$port "$im" local bootstrap --stack "$stack" --env-file "$env_file" >/dev/null
{
  echo "SLACK_API_URL=http://127.0.0.1:$sink_port/api"
  echo "DISCORD_API_URL=http://127.0.0.1:$sink_port/discord/api/v10"
  echo "RUST_LOG=warn"
} >>"$env_file"

"$im" local sink --addr "127.0.0.1:$sink_port" >.local/invoke-sink.log 2>&1 &
pids+=($!)
secret=$(.venv/bin/python -c 'import secrets; print(secrets.token_hex(24))')
"$im" --env-file "$env_file" chatops add slack demo --config "{
  \"signing_secret\": \"$secret\", \"bot_token\": \"xoxb-local-demo\", \"default_channel\": \"C0DEMO\",
  \"team_id\": \"T0001\", \"api_app_id\": \"A123456\",
  \"notification_channels\": {\"SEV-1\": \"C0CRITICAL\", \"SEV-2\": \"C_MAJOR\", \"default\": \"C0DEMO\"},
  \"rbac\": {\"default_role\": \"responder\"}}" >/dev/null
"$im" --env-file "$env_file" chatops add discord demo-discord --config '{
  "public_key": "4abf97a7212f92e651b1cbc3c4ba6d41dcc6276e8b4d2a95fd9e09917b48df09",
  "application_id": "900100", "guild_id": "700100", "bot_token": "discord-local-demo",
  "default_channel": "800100", "rbac": {"default_role": "responder"}}' >/dev/null

cargo lambda watch -A 127.0.0.1 -P "$watch_port" --env-file "$env_file" >.local/invoke-watch.log 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do
  if (echo >"/dev/tcp/127.0.0.1/$watch_port") 2>/dev/null; then break; fi
  sleep 0.2
done

IM_SINK_LOG=.local/invoke-sink.log IM_ENV_FILE="$env_file" IM_WATCH_PORT="$watch_port" .venv/bin/python infra/invoke_all.py "$@"
