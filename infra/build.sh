#!/usr/bin/env bash
# `make build`: release zips of every function with cargo-lambda (target/lambda/<function>/bootstrap.zip).
# arm64 when its standard library is installed (or rustup can fetch it), otherwise x86_64, said
# plainly with how to deploy that architecture.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/cargo-lambda ]; then
  .venv/bin/pip install --quiet --disable-pip-version-check -r infra/requirements-build.txt
fi
# cargo-lambda runs zig as `python -m ziglang`: the virtualenv's bin must come first.
export PATH="$PWD/.venv/bin:$PATH"

arch=arm64
if ! rustup target list --installed 2>/dev/null | grep -q '^aarch64-unknown-linux-gnu$' &&
   ! rustup target add aarch64-unknown-linux-gnu >/dev/null 2>&1; then
  arch=x86_64
  echo "make build: the arm64 standard library (aarch64-unknown-linux-gnu) is not installed and cannot be"
  echo "            fetched here, so the functions are built for x86_64. Deploy them with"
  echo "            'sam deploy --parameter-overrides Architecture=x86_64' (or install the target with"
  echo "            'rustup target add aarch64-unknown-linux-gnu' and run make build again for arm64)."
fi

bins=()
for fn in functions/*/; do
  bins+=(--bin "$(basename "$fn")")
done
if [ "$arch" = arm64 ]; then
  cargo lambda build --release --arm64 --output-format zip "${bins[@]}"
else
  cargo lambda build --release --x86-64 --compiler cargo --output-format zip "${bins[@]}"
fi

echo "make build: $arch zips"
for zip in target/lambda/*/bootstrap.zip; do
  awk -v name="$(basename "$(dirname "$zip")")" -v bytes="$(stat -c %s "$zip")" \
    'BEGIN { printf "  %-22s %5.1f MB\n", name, bytes / 1000000 }'
done
