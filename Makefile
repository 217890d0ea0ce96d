# Quickstart: `make demo` (the whole path on local files) and `make test` (what CI runs).
SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin
KEY_FILE := .secrets/signing_keys
LOCAL_HOME := $(CURDIR)/.dagster_home

# The embedded default: local files, a SQLite Dagster instance, a development signing key.
LOCAL_ENV := RECSYS_STORAGE_URL=$${RECSYS_STORAGE_URL:-file://$(CURDIR)/.recsys} \
	RECSYS_SIGNING_KEYS_FILE=$${RECSYS_SIGNING_KEYS_FILE:-$(CURDIR)/$(KEY_FILE)} \
	DAGSTER_HOME=$${DAGSTER_HOME:-$(LOCAL_HOME)} OPENBLAS_NUM_THREADS=1

.PHONY: help install servers demo test test-fast lint dev clean

help:
	@echo "make demo       build and serve the synthetic demo end to end (fresh machine OK)"
	@echo "make test       install what the tests need and run lint, types and the whole suite (CI)"
	@echo "make test-fast  the unit and service tiers only: no lint, no servers (the inner loop)"
	@echo "make lint       ruff, mypy and the import-linter contracts"
	@echo "make dev        Dagster UI + daemon (http://127.0.0.1:3000) and the service (:8000)"
	@echo "make clean      remove local data, keys and environments"
	@echo ""
	@echo "Test tiers, one folder and marker each: $(TIERS)"
	@echo "  one alone: $(PYTEST) -m TIER   (integration and reliability: make servers first)"

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

# Dependencies are pinned by uv.lock; --frozen refuses to run if it is out of date.
# --compile-bytecode: every library's .pyc is written once here, as the image does
# (UV_COMPILE_BYTECODE); otherwise, with PYTHONDONTWRITEBYTECODE set, every process compiles
# dagster, sqlalchemy, polars' Python part... again (seconds of each CLI run and test child).
$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --compile-bytecode --python $(PYTHON)
	@touch $@

install: $(VENV)/.synced

$(KEY_FILE): | install
	@mkdir -p .secrets && chmod 700 .secrets
	@(umask 077 && $(BIN)/python -c "import secrets; print(f'dev-{secrets.token_hex(4)}:{secrets.token_hex(32)}')" > $@)
	@echo "created a local development signing key in $@ (mode 600); production sets RECSYS_SIGNING_KEYS"

$(LOCAL_HOME)/dagster.yaml: dagster.yaml
	@mkdir -p $(LOCAL_HOME) && cp dagster.yaml $@

demo: install $(KEY_FILE) $(LOCAL_HOME)/dagster.yaml
	$(LOCAL_ENV) $(BIN)/python scripts/demo.py

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

# Server binaries the integration tests start themselves (PostgreSQL from Debian if missing).
servers:
	scripts/ensure_servers.sh

# Test tiers are the folders under tests/; tests/conftest.py marks each test with its folder.
TIERS := unit service pipelines integration reliability deploy
# The tiers that need no server, no Dagster instance and no lint: what to run while editing.
FAST_TIERS := unit service
# Two workers (the machine has 2 cores); whole files per worker, so module-scoped servers
# (the Dagster webserver and daemon) start once.
PYTEST := $(BIN)/pytest -n 2 --dist loadfile

# CI: the derandomized hypothesis profile, so a failure reproduces (tests/conftest.py).
test: lint servers
	HYPOTHESIS_PROFILE=ci $(PYTEST)

# Folders rather than `-m`: the other tiers' modules are not even imported (faster start).
test-fast: install
	$(PYTEST) $(addprefix tests/,$(FAST_TIERS))

dev: install $(KEY_FILE) $(LOCAL_HOME)/dagster.yaml
	$(LOCAL_ENV) scripts/dev.sh

clean:
	rm -rf .recsys .dagster_home .secrets $(VENV) $(TOOLS)
