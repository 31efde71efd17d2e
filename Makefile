# The two commands: `make dev` runs the product locally; `make test` runs every test.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
VENV := .venv
PY := $(VENV)/bin/python
# SAM CLI pins a boto3 that moto's does not accept: it gets its own virtualenv.
SAM_VENV := .venv-sam
SAM_VERSION := 1.170.0

.PHONY: dev test lint bench build invoke-all emulator emulator-stop venv clean-local

$(VENV)/.installed: infra/requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r infra/requirements.txt
	touch $@

venv: $(VENV)/.installed

$(SAM_VENV)/.installed:
	python3 -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet --disable-pip-version-check aws-sam-cli==$(SAM_VERSION)
	touch $@

## dev: emulator + table/queues from template.yaml + demo Slack provider + `im serve` on 127.0.0.1:3000
dev: venv
	cargo build -p im
	infra/dev.sh

## test: every test; starts the emulator if none is running and stops what it started
## (and installs Chromium for the dashboard's page test when it is missing)
test: venv
	infra/ensure-chromium.sh
	cargo build --workspace --tests --bins
	infra/with-emulator.sh cargo test --workspace

## lint: formatting, clippy with warnings as errors, cfn-lint and `sam validate --lint` of template.yaml
lint: venv $(SAM_VENV)/.installed
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	$(VENV)/bin/cfn-lint template.yaml
	AWS_DEFAULT_REGION=us-east-1 SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam validate --lint --template template.yaml

## bench: criterion benchmarks and whole-process harnesses (release builds)
bench: venv
	cargo build --release -p slack-webhook -p discord-webhook
	infra/with-emulator.sh cargo bench -p im-tests

## build: Lambda binaries for arm64 with cargo-lambda (skips cleanly without the arm64 target)
build: venv
	infra/build.sh

## invoke-all: every event in events/ through `cargo lambda invoke` against a fresh local stack, answers checked
invoke-all: venv
	cargo build -p im
	infra/invoke-all.sh

emulator: venv
	infra/emulator.sh start

emulator-stop:
	infra/emulator.sh stop

clean-local:
	infra/emulator.sh stop || true
	rm -rf .local
