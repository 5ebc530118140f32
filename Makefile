# Sentinel developer entry points. Each target bootstraps what it needs from a fresh clone:
# a .venv made with $(PYTHON), and `pip install -e '.[test]'` whenever pyproject.toml changed.
#
#   make demo                      the end-to-end demo (embedded PostgreSQL, generated CDRs)
#   make test [PYTEST_ARGS=...]    the test suite (embedded PostgreSQL unless DATABASE_URL is set)
#   make dev                       Dagster UI + daemon on the local instance
#   make bench [BENCH_ARGS=...]    the end-to-end benchmark (prints its figures; e.g. BENCH_ARGS="--cdrs 1000000")

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.sentinel-installed
PYTEST_ARGS ?=
BENCH_ARGS ?=

.PHONY: install demo test dev bench

install: $(STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall only when pyproject.toml is newer than the last install (the pins live there).
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --disable-pip-version-check -q -e '.[test]'
	touch $@

demo: $(STAMP)
	$(BIN)/sentinel demo

test: $(STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

dev: $(STAMP)
	$(BIN)/sentinel dev

bench: $(STAMP)
	$(BIN)/python -m bench.e2e $(BENCH_ARGS)
