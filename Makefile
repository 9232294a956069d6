# Two entry points a newcomer needs (see README): `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# Tests use the machine's Postgres when one answers on 127.0.0.1:5432, else an embedded one.
SYNCD_TEST_DATABASE_URL ?= $(shell pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null && echo postgresql://postgres@127.0.0.1:5432/postgres)
export SYNCD_TEST_DATABASE_URL

.PHONY: install demo emulator test test-fast reliability lint typecheck bench clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q -U pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## The main job: the demo on embedded defaults (embedded Postgres + emulator).
demo: $(STAMP)
	$(BIN)/syncd demo

emulator: $(STAMP)
	$(BIN)/syncd emulator --contacts 1000

## The whole suite, as CI runs it (lint + types + tests, slow ones included).
test: $(STAMP) lint typecheck
	$(BIN)/pytest -q -p no:cacheprovider

## Quick loop: everything but the slow tests.
test-fast: $(STAMP)
	$(BIN)/pytest -q -x -m "not slow"

## The reliability suite alone (part of `make test` too), then docs/reliability.md from it.
reliability: $(STAMP)
	$(BIN)/pytest -q -p no:cacheprovider -m reliability
	$(BIN)/python scripts/reliability_report.py

lint: $(STAMP)
	$(BIN)/ruff check syncd tests bench scripts
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy syncd/livevox

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
