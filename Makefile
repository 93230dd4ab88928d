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

.PHONY: help run test test-sqlite test-pg pytest-sqlite pytest-pg browser lint fmt migrate org bench sync

help:
	@echo "make run | test | test-sqlite | test-pg | lint | fmt | migrate | org NAME=… | bench"

.tools/bin/uv:
	python3 -m venv .tools
	.tools/bin/pip install --quiet uv

# Bytecode compiled once, at install: every `kohort` process (the tests start hundreds) then
# imports it instead of compiling its dependencies again, even with PYTHONDONTWRITEBYTECODE.
sync: $(UV)
	@$(UV) sync --quiet --compile-bytecode $(SYNC_FLAGS)
	@$(UV) run --no-sync python -m compileall -q kohort

run: sync migrate  ## Migrate, create the demo organization once, serve on 127.0.0.1:8000
	@$(UV) run --no-sync kohort demo
	@KOHORT_WEBHOOK_ALLOW_PRIVATE_DESTINATIONS=$${KOHORT_WEBHOOK_ALLOW_PRIVATE_DESTINATIONS:-true} $(UV) run --no-sync kohort serve

migrate: sync
	@$(UV) run --no-sync kohort migrate

NAME ?=
org: sync migrate  ## make org NAME="My Shop": an organization with its four keys, live ones included
	@if [ -z "$(NAME)" ]; then echo 'Usage: make org NAME="My Shop"'; exit 2; fi
	@$(UV) run --no-sync kohort org create --name "$(NAME)"

# With PostgreSQL, both passes run side by side: the suite waits on subprocesses, browsers and
# sockets more than it computes, so two passes on two cores take little longer than one.
# SQLite's output streams; PostgreSQL's is kept and printed whole after it. Either failing
# (pytest's "no tests", exit 5, included) fails the target.
test: sync browser  ## The whole suite on SQLite, and on PostgreSQL when KOHORT_TEST_DATABASE_URL is set
	@if [ -z "$$KOHORT_TEST_DATABASE_URL" ]; then \
		echo "KOHORT_TEST_DATABASE_URL is not set: the PostgreSQL pass is skipped (make test-pg runs it)."; \
		$(MAKE) --no-print-directory pytest-sqlite; \
		exit $$?; \
	fi; \
	log=$$(mktemp); \
	echo "== the PostgreSQL pass runs alongside ($$KOHORT_TEST_DATABASE_URL), its output follows SQLite's =="; \
	$(MAKE) --no-print-directory pytest-pg >"$$log" 2>&1 & pg=$$!; \
	$(MAKE) --no-print-directory pytest-sqlite; sqlite=$$?; \
	wait $$pg; postgres=$$?; \
	cat "$$log"; rm -f "$$log"; \
	echo "SQLite pass: exit $$sqlite; PostgreSQL pass: exit $$postgres"; \
	[ $$sqlite = 0 ] && [ $$postgres = 0 ]

test-sqlite: sync browser  ## Only the SQLite pass
	@$(MAKE) --no-print-directory pytest-sqlite

test-pg: sync browser  ## Only the PostgreSQL pass
	@$(MAKE) --no-print-directory pytest-pg

pytest-sqlite:
	@echo "== test suite on SQLite =="
	@env -u KOHORT_TEST_DATABASE_URL $(UV) run --no-sync pytest $(PYTEST_ARGS)

pytest-pg:
	@echo "== test suite on PostgreSQL ($${KOHORT_TEST_DATABASE_URL:-$(PG_TEST_URL)}) =="
	@KOHORT_TEST_DATABASE_URL=$${KOHORT_TEST_DATABASE_URL:-$(PG_TEST_URL)} $(UV) run --no-sync pytest $(PYTEST_ARGS)

# The browser tests drive Debian's chromium (never a downloaded one): installed here when
# missing and we may (root with apt-get); otherwise those tests are skipped, saying so
# (on CI, CI=true, they fail instead).
browser:
	@if ! command -v chromium >/dev/null 2>&1; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
			echo "Installing Debian's chromium for the browser tests..."; \
			apt-get install -y -q chromium >/dev/null 2>&1 \
				|| { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium >/dev/null 2>&1; } \
				|| echo "Could not install chromium: the browser tests will be skipped."; \
		else \
			echo "chromium is not installed (apt-get install chromium): the browser tests will be skipped."; \
		fi; \
	fi

lint: sync
	$(UV) run --no-sync ruff check .
	$(UV) run --no-sync ruff format --check .
	$(UV) run --no-sync mypy kohort

fmt: sync
	$(UV) run --no-sync ruff check --fix .
	$(UV) run --no-sync ruff format .

BENCH_SCRIPTS := bench/api.py bench/sweep.py bench/ontime.py bench/webhooks.py bench/mail.py bench/limits.py bench/dashboard.py

bench: sync  ## Every benchmark script; each prints its figures (needs Debian's wrk)
	@for script in $(BENCH_SCRIPTS); do \
		if [ -f $$script ]; then echo "== $$script =="; $(UV) run --no-sync python $$script || exit 1; fi; \
	done
