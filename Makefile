# Sentinel developer entry points. Each target bootstraps what it needs from a fresh clone: uv (into
# .tools/ with pip, when no uv is on PATH), then `uv sync --frozen` of uv.lock into .venv.
#
#   make demo                      the end-to-end demo (embedded PostgreSQL, generated CDRs)
#   make test [PYTEST_ARGS=...]    the test suite (embedded PostgreSQL unless DATABASE_URL is set)
#   make dev                       Dagster UI + daemon on the local instance
#   make bench [BENCH_ARGS=...]    the end-to-end benchmark (prints its figures; e.g. BENCH_ARGS="--cdrs 1000000")
#   make lock                      re-resolve uv.lock after editing dependencies in pyproject.toml

PYTHON ?= python3
UV_VERSION := 0.13.9
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.sentinel-synced
PYTEST_ARGS ?=
BENCH_ARGS ?=

# A uv already on PATH is used as it is; otherwise a pinned one is installed into .tools/ once.
UV ?= $(or $(shell command -v uv 2>/dev/null),.tools/bin/uv)
# Trust the platform's certificate store (where a TLS-inspecting proxy's CA is installed), not only
# the certificates compiled into uv.
export UV_SYSTEM_CERTS := 1
export UV_PYTHON_DOWNLOADS := never

.PHONY: install demo test dev bench lock

install: $(STAMP)

.tools/bin/uv:
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --disable-pip-version-check -q uv==$(UV_VERSION)

# The test extra is always installed: one environment for the demo, the tests and the benchmarks.
$(STAMP): uv.lock pyproject.toml | $(UV)
	$(UV) sync --frozen --extra test --python $(PYTHON)
	touch $@

demo: $(STAMP)
	$(BIN)/sentinel demo

test: $(STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

dev: $(STAMP)
	$(BIN)/sentinel dev

bench: $(STAMP)
	$(BIN)/python -m bench.e2e $(BENCH_ARGS)

lock: | $(UV)
	$(UV) lock
