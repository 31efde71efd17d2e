#!/usr/bin/env bash
# `make build`: release Lambda binaries for arm64 (target/lambda/<function>/bootstrap).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! rustup target list --installed 2>/dev/null | grep -q '^aarch64-unknown-linux-gnu$'; then
  if ! rustup target add aarch64-unknown-linux-gnu >/dev/null 2>&1; then
    echo "make build: the aarch64-unknown-linux-gnu target is not installed and cannot be fetched here; skipping."
    echo "            (install it with 'rustup target add aarch64-unknown-linux-gnu', then run make build again)"
    exit 0
  fi
fi
if [ ! -x .venv/bin/cargo-lambda ]; then
  .venv/bin/pip install --quiet --disable-pip-version-check -r infra/requirements-build.txt
fi
export PATH="$PWD/.venv/bin:$PATH"
for fn in functions/*/; do
  name=$(basename "$fn")
  cargo lambda build --release --arm64 --bin "$name"
done
ls -la target/lambda/*/bootstrap
