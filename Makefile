# Steward's two commands: `make run` (the app on the demo registry) and `make test` (the whole suite).
# Both create .venv on first use and reinstall only when pyproject.toml changes (stamp files).

SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8501
# Local mode has no sign-in: serve this machine only (the app refuses another address in local
# mode unless STEWARD_ALLOW_NETWORK_LOCAL_MODE=1).
ADDRESS ?= 127.0.0.1
PYTEST_ARGS ?=
# pytest-xdist workers for make test (0: one process, no xdist).
TEST_WORKERS ?= 2
CHROMIUM := /usr/bin/chromium
OIDC := tests/e2e/oidc
PG_TEST_URL := postgresql+psycopg://postgres@127.0.0.1:5432/test

# python3.11 when installed, else python3 if it is at least 3.11.
PYTHON := $(shell command -v python3.11 2>/dev/null || \
	(python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null && command -v python3))

.PHONY: run test lint typecheck browser oidc postgres mlflow-envs clean-venv

run: $(VENV)/.installed
	$(BIN)/steward init
	@echo "Loading the demo portfolio (built once, in about a minute; later runs reuse it)."
	$(BIN)/steward demo
	@echo "Steward is starting on http://$(ADDRESS):$(PORT) (Ctrl+C stops it)."
	$(BIN)/streamlit run app/main.py --server.address $(ADDRESS) --server.port $(PORT) --server.headless true --browser.gatherUsageStats false

test: $(VENV)/.installed-dev browser oidc postgres mlflow-envs
	@if [ -z "$${STEWARD_TEST_POSTGRES_URL:-}" ] && pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then \
		export STEWARD_TEST_POSTGRES_URL="$(PG_TEST_URL)"; \
	fi; \
	if [ -n "$${STEWARD_TEST_POSTGRES_URL:-}" ]; then \
		echo "Tests run on SQLite and on PostgreSQL ($${STEWARD_TEST_POSTGRES_URL})."; \
	else \
		echo "No PostgreSQL server answers on 127.0.0.1:5432: tests run on SQLite only."; \
	fi; \
	status=0; $(BIN)/python -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS) || status=$$?; \
	if [ $$status -eq 5 ]; then echo "make test: pytest collected no tests; that is a failure." >&2; exit 1; fi; \
	exit $$status

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# mypy on core/ (CI runs it): columns in queries go through sqlmodel.col(), stored ids through
# core.db.types.saved_id().
typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy core

$(VENV)/bin/python:
	@if [ -z "$(PYTHON)" ]; then \
		echo "Steward needs Python 3.11 or newer: install python3.11 (e.g. apt-get install python3.11 python3.11-venv) and retry." >&2; \
		exit 1; \
	fi
	@echo "Creating $(VENV) with $(PYTHON) ($$($(PYTHON) --version))."
	@$(PYTHON) -m venv $(VENV) || { \
		echo "Could not create $(VENV); on Debian/Ubuntu install the venv module (apt-get install python3-venv)." >&2; \
		rm -rf $(VENV); exit 1; }
	$(BIN)/python -m pip install --quiet --upgrade pip

# pip lists what it fetches and installs, so a first install (a few minutes) is never silent.
$(VENV)/.installed: pyproject.toml | $(VENV)/bin/python
	@echo "Installing Steward and its dependencies into $(VENV) (a few minutes the first time)."
	set -o pipefail; $(BIN)/python -m pip install --disable-pip-version-check -e . \
		| { grep -v '^Requirement already satisfied' || true; }
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@ $(VENV)/.installed

# Debian's Chromium for the browser tests; installed when we are root with apt, else those tests skip.
browser:
	@if [ ! -x $(CHROMIUM) ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "Installing Chromium for the browser tests (apt-get)."; \
			apt-get update -q && apt-get install -y -q chromium || echo "Chromium could not be installed: browser tests will be skipped."; \
		else \
			echo "No $(CHROMIUM) and no root apt-get: browser tests will be skipped."; \
		fi; \
	fi

# The OpenID Connect issuer of the sign-in browser test (npm's oidc-provider, pinned in
# tests/e2e/oidc/package-lock.json); installed again when the lock file changes, else that test skips.
oidc:
	@if [ ! -f $(OIDC)/node_modules/.package-lock.json ] || [ $(OIDC)/package-lock.json -nt $(OIDC)/node_modules/.package-lock.json ]; then \
		if command -v npm >/dev/null; then \
			echo "Installing the test identity provider (npm ci in $(OIDC))."; \
			npm ci --prefix $(OIDC) --no-audit --no-fund || echo "npm ci failed: the sign-in browser test will be skipped."; \
		else \
			echo "No npm (apt-get install nodejs npm): the sign-in browser test will be skipped."; \
		fi; \
	fi

# A second, small venv with an older MLflow (pinned in tests/requirements-mlflow2.txt): the MLflow
# import is tested against stores that MLflow 2 writes and serves, not only the 3.x in .venv.
# Reinstalled when the pins change; if PyPI cannot be reached, those tests are skipped, saying why.
MLFLOW2 := .mlflow-envs/mlflow2
mlflow-envs: $(MLFLOW2)/.installed

$(MLFLOW2)/.installed: tests/requirements-mlflow2.txt | $(VENV)/bin/python
	@echo "Installing MLflow 2 for the import tests into $(MLFLOW2)."
	@rm -rf $(MLFLOW2) && $(PYTHON) -m venv $(MLFLOW2) && \
		$(MLFLOW2)/bin/python -m pip install --quiet --disable-pip-version-check -r tests/requirements-mlflow2.txt && \
		touch $@ || { rm -rf $(MLFLOW2); echo "MLflow 2 could not be installed: the tests against it will be skipped." >&2; }

# Start the local PostgreSQL cluster when it is installed but not running.
postgres:
	@if command -v pg_isready >/dev/null && ! pg_isready -h 127.0.0.1 -p 5432 -q && command -v pg_ctlcluster >/dev/null \
		&& [ -d /etc/postgresql ]; then \
		echo "Starting PostgreSQL."; \
		pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql | head -n 1) main start || \
			echo "PostgreSQL could not be started: tests run on SQLite only."; \
	fi

clean-venv:
	rm -rf $(VENV)
