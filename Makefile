# The two commands of the README:
#   make synth   set up (.venv, node_modules) and synthesize the example app to cdk.out/
#   make test    set up and run the whole test suite
# Everything runs offline: the CDK CLI's version check, notices and telemetry are off.

PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
CDK    := node_modules/.bin/cdk

export CDK_DISABLE_VERSION_CHECK := true
export CDK_DISABLE_CLI_TELEMETRY := true
# jsii (under aws-cdk-lib) prints a banner on every run for Node 20, which CI pins.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 20

.PHONY: synth test lint bench clean

synth: $(VENV)/.installed node_modules/.installed
	rm -rf cdk.out
	$(CDK) synth --quiet --no-notices --no-version-reporting --output cdk.out $(CDK_ARGS)
	@ls cdk.out/*.template.json

test: $(VENV)/.installed node_modules/.installed
	$(PY) -m ruff check .
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

bench: $(VENV)/.installed
	$(PY) benchmarks/synth_scale.py

$(VENV)/.installed: pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found (set PYTHON=...)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

clean:
	rm -rf cdk.out .pytest_cache
