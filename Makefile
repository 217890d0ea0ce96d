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

.PHONY: help install servers demo test lint dev clean

help:
	@echo "make demo   build and serve the synthetic demo end to end (fresh machine OK)"
	@echo "make test   install what the tests need and run lint, types and the whole suite"
	@echo "make dev    Dagster UI + daemon (http://127.0.0.1:3000) and the service (:8000)"
	@echo "make clean  remove local data, keys and environments"

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

# Dependencies are pinned by uv.lock; --frozen refuses to run if it is out of date.
$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --python $(PYTHON)
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

# Two workers (the machine has 2 cores); whole files per worker, so module-scoped servers
# (the Dagster webserver and daemon) start once.
# CI: the derandomized hypothesis profile, so a failure reproduces (tests/conftest.py).
test: lint servers
	HYPOTHESIS_PROFILE=ci $(BIN)/pytest -n 2 --dist loadfile

dev: install $(KEY_FILE) $(LOCAL_HOME)/dagster.yaml
	$(LOCAL_ENV) scripts/dev.sh

clean:
	rm -rf .recsys .dagster_home .secrets $(VENV) $(TOOLS)
