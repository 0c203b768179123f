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

.PHONY: synth test test-fast lint bench lock clean

# The suite runs in PYTEST_WORKERS processes (pytest-xdist; a file's tests stay on one worker,
# but for the long files tests/conftest.py splits in parts; each worker synthesizes the
# example app once). Default 4 on any machine: the tests wait on
# servers, subprocesses and the jsii kernel much of the time, so 4 keep 2 cores busy.
# PYTEST_WORKERS=0 runs them in this process (no xdist), e.g. for a debugger.
PYTEST_WORKERS ?= 4
PYTEST_XDIST   := -n $(PYTEST_WORKERS) --dist loadfile
# The fast loop's tests are CPU-bound (synths): one worker per core is quicker there.
PYTEST_FAST_WORKERS ?= 2

PIP    := $(PY) -m pip install --quiet --disable-pip-version-check -c requirements/constraints.txt

synth: $(VENV)/.app-installed node_modules/.installed
	rm -rf cdk.out
	$(CDK) synth --quiet --no-notices --no-version-reporting --output cdk.out $(CDK_ARGS)
	@ls cdk.out/*.template.json

# mypy (about 100 s without its cache, as on a fresh clone) runs beside the tests, whose
# workers wait on servers and subprocesses much of the time; its report follows theirs.
test: $(VENV)/.dev-installed $(VENV)/.checkov-installed node_modules/.installed
	$(PY) -m ruff check .
	@rm -f $(VENV)/mypy.log; \
	$(PY) -m mypy > $(VENV)/mypy.log 2>&1 & types=$$!; \
	$(PY) -m pytest $(PYTEST_XDIST) $(PYTEST_ARGS); tests=$$?; \
	wait $$types; typed=$$?; \
	echo "$(PY) -m mypy"; cat $(VENV)/mypy.log; \
	test $$tests -eq 0 && test $$typed -eq 0

# The unit and snapshot tests only (no fuzzing, servers, deploys or wheels): the loop to run
# while changing a construct. `make test` stays the full suite and the CI command.
test-fast: $(VENV)/.dev-installed node_modules/.installed
	$(PY) -m ruff check .
	$(PY) -m pytest -n $(PYTEST_FAST_WORKERS) --dist loadfile -m "not slow" -q $(PYTEST_ARGS)

lint: $(VENV)/.dev-installed
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

bench: $(VENV)/.dev-installed
	$(PY) benchmarks/synth_scale.py

# Synthesis needs only the library, cdk-nag and the config reader (requirements/app.txt);
# the tests add the rest (requirements/dev.txt). Both install the exact pins.
$(VENV)/.app-installed: pyproject.toml requirements/app.txt requirements/constraints.txt
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found (set PYTHON=...)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) -r requirements/app.txt
	touch $@

$(VENV)/.dev-installed: $(VENV)/.app-installed requirements/dev.txt
	$(PIP) -r requirements/dev.txt
	touch $@

# checkov in a venv of its own (it pins boto3 and others differently from the tests).
$(VENV)/.checkov-installed: $(VENV)/.app-installed requirements/checkov.txt requirements/checkov-constraints.txt
	test -x $(VENV)/checkov/bin/python || $(PYTHON) -m venv $(VENV)/checkov
	$(VENV)/checkov/bin/python -m pip install --quiet --disable-pip-version-check \
	  -c requirements/checkov-constraints.txt -r requirements/checkov.txt
	touch $@

# Re-pin after editing requirements/*.txt: a fresh venv, the unpinned requirements, a freeze.
lock:
	rm -rf .venv-lock
	$(PYTHON) -m venv .venv-lock
	.venv-lock/bin/pip install --quiet --disable-pip-version-check -r requirements/dev.txt
	{ sed -n '1,3p' requirements/constraints.txt; .venv-lock/bin/pip freeze --exclude-editable | grep -iv '^sagemaker'; } > requirements/constraints.txt.new
	mv requirements/constraints.txt.new requirements/constraints.txt
	rm -rf .venv-lock

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

clean:
	rm -rf cdk.out .pytest_cache
