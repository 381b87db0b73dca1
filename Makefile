# OpenSPM developer commands. `make demo` and `make test` work on a fresh clone with only python3 (>= 3.11).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
UV     := $(BIN)/uv
UV_VERSION := 0.13.9
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: demo install dev test test-fast lint format check bench lock clean docs

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.runtime: $(BIN)/python requirements.lock pyproject.toml
	$(UV) pip install --quiet --python $(BIN)/python -r requirements.lock
	$(UV) pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.lock
	$(UV) pip install --quiet --python $(BIN)/python -r requirements-dev.lock
	touch $@

install: $(VENV)/.runtime  ## runtime environment in .venv

dev: $(VENV)/.dev  ## runtime + test and lint tools

demo: install  ## install, migrate ./spm.db, load the demo company, serve the web app on $(HOST):$(PORT)
	$(BIN)/spm db upgrade
	$(BIN)/spm demo load
	$(BIN)/spm serve --host $(HOST) --port $(PORT)

test: dev  ## the whole test suite (SQLite and PostgreSQL)
	$(BIN)/pytest -n 2

test-fast: dev  ## unit tests only
	$(BIN)/pytest tests/unit

lint: dev  ## ruff, mypy --strict on the core, import-linter layer contracts
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

format: dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

check: lint test  ## everything CI checks

bench: dev  ## benchmarks; JSON results in bench/results/
	$(BIN)/python -m bench.run

lock: $(BIN)/python  ## re-pin dependencies after editing pyproject.toml
	$(UV) pip compile --quiet --python-version 3.11 pyproject.toml -o requirements.lock
	$(UV) pip compile --quiet --python-version 3.11 --extra dev pyproject.toml -o requirements-dev.lock

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache spm.db spm.db-wal spm.db-shm

docs: install  ## regenerate docs/cli.md from the commands' --help
	$(BIN)/python -m openspm.cli.reference > docs/cli.md
