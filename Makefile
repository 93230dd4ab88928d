# The project's verbs. `make run` and `make test` are the whole quick start.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# uv: the one on PATH, else a private copy bootstrapped with pip into .tools/.
UV := $(shell command -v uv 2>/dev/null)
ifeq ($(UV),)
UV := .tools/bin/uv
endif
SYNC_FLAGS := $(if $(CI),--locked,)
PG_TEST_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/kohort_test
PYTEST_ARGS ?=

.PHONY: help run test test-sqlite test-pg lint fmt migrate bench sync

help:
	@echo "make run | test | test-sqlite | test-pg | lint | fmt | migrate | bench"

.tools/bin/uv:
	python3 -m venv .tools
	.tools/bin/pip install --quiet uv

sync: $(UV)
	@$(UV) sync --quiet $(SYNC_FLAGS)

run: sync migrate  ## Migrate, create the demo organization once, serve on 127.0.0.1:8000
	@$(UV) run --no-sync kohort demo
	@$(UV) run --no-sync kohort serve

migrate: sync
	@$(UV) run --no-sync kohort migrate

test: test-sqlite  ## The whole suite on SQLite, then on PostgreSQL when KOHORT_TEST_DATABASE_URL is set
	@if [ -n "$$KOHORT_TEST_DATABASE_URL" ]; then \
		$(MAKE) --no-print-directory test-pg; \
	else \
		echo "KOHORT_TEST_DATABASE_URL is not set: the PostgreSQL run is skipped (make test-pg runs it)."; \
	fi

test-sqlite: sync
	@echo "== test suite on SQLite =="
	@env -u KOHORT_TEST_DATABASE_URL $(UV) run --no-sync pytest $(PYTEST_ARGS)

test-pg: sync
	@echo "== test suite on PostgreSQL ($${KOHORT_TEST_DATABASE_URL:-$(PG_TEST_URL)}) =="
	@KOHORT_TEST_DATABASE_URL=$${KOHORT_TEST_DATABASE_URL:-$(PG_TEST_URL)} $(UV) run --no-sync pytest $(PYTEST_ARGS)

lint: sync
	$(UV) run --no-sync ruff check .
	$(UV) run --no-sync ruff format --check .
	$(UV) run --no-sync mypy kohort

fmt: sync
	$(UV) run --no-sync ruff check --fix .
	$(UV) run --no-sync ruff format .

BENCH_SCRIPTS := bench/api.py bench/sweep.py bench/webhooks.py

bench: sync  ## Every benchmark script; each prints its figures (needs Debian's wrk)
	@for script in $(BENCH_SCRIPTS); do \
		if [ -f $$script ]; then echo "== $$script =="; $(UV) run --no-sync python $$script || exit 1; fi; \
	done
