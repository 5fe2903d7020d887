# Carnet — two commands for a newcomer:
#
#   make run     install into .venv and serve (embedded PostgreSQL unless
#                CARNET_DATABASE_URL is set); HOST/PORT overridable:
#                make run PORT=8080
#   make test    install what the tests need, then ruff, mypy and pytest;
#                extra pytest arguments: make test PYTEST_ARGS='-x -k notes'
#
# `make lint` and `make typecheck` run those steps alone.
# Every install step leaves a stamp (in .venv, or npm's own
# node_modules/.package-lock.json) newer than the file it was made from, so a
# second run installs nothing and goes straight to the checks.

SHELL := /bin/bash
.DEFAULT_GOAL := run

HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

VENV := .venv
BIN := $(VENV)/bin
RUN_STAMP := $(VENV)/.stamp-run
DEV_STAMP := $(VENV)/.stamp-dev

# Every npm project in the repo (tests/js today, static/ soon): one
# `npm ci` per folder holding a package-lock.json, installed packages excluded.
NPM_DIRS := $(patsubst ./%/,%,$(dir $(shell find . \
	\( -name node_modules -o -name .venv -o -name .git \) -prune -o \
	-name package-lock.json -print)))
NPM_STAMPS := $(addsuffix /node_modules/.package-lock.json,$(NPM_DIRS))

# Browser tests drive Debian's Chromium (Playwright's own browser download
# cannot be used here).
CHROMIUM := /usr/bin/chromium

.PHONY: run test lint typecheck bundle-check bundle

run: $(RUN_STAMP)
	$(BIN)/carnet serve --host $(HOST) --port $(PORT)

test: $(DEV_STAMP) $(NPM_STAMPS) $(CHROMIUM) lint typecheck bundle-check
	$(BIN)/pytest $(PYTEST_ARGS)

# The web app's bundle is committed (static/dist, so the app runs without Node);
# it must be exactly what static/src builds with the locked packages.
bundle-check: static/node_modules/.package-lock.json
	cd static && node build.mjs --check

# Rebuild static/dist after changing static/src (then commit it).
bundle: static/node_modules/.package-lock.json
	cd static && node build.mjs

lint: $(DEV_STAMP)
	$(BIN)/ruff check
	$(BIN)/ruff format --check

typecheck: $(DEV_STAMP)
	$(BIN)/mypy

# The first Python >= 3.11 found on PATH makes the virtualenv.
$(BIN)/python:
	@for candidate in python3.11 python3.12 python3.13 python3.14 python3; do \
		if command -v $$candidate >/dev/null 2>&1 && \
			$$candidate -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then \
			echo "Creating $(VENV) with $$(command -v $$candidate)"; \
			$$candidate -m venv $(VENV) && exit 0; \
		fi; \
	done; \
	echo "Carnet needs Python 3.11 or newer on PATH (python3.11, python3.12, ...)." >&2; \
	exit 1

# Editable installs: code changes need no reinstall, pyproject.toml changes do.
$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -e .
	@touch $@

# The dev extra includes everything `make run` needs, so it stamps both.
$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -e '.[dev]'
	@touch $@ $(RUN_STAMP)

# npm ci writes node_modules/.package-lock.json itself; touch it so its time
# is later than package-lock.json's even when nothing had to be fetched.
%/node_modules/.package-lock.json: %/package-lock.json %/package.json
	@command -v npm >/dev/null 2>&1 || { \
		echo "npm is needed for the tests in $*: install Node.js 20+ (Debian: apt-get install nodejs npm)." >&2; \
		exit 1; }
	cd $* && npm ci --no-audit --no-fund
	@mkdir -p $*/node_modules && touch $@

# Only when missing: installed as root with apt, otherwise explained.
$(CHROMIUM):
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "Installing Debian's chromium for the browser tests"; \
		apt-get update && DEBIAN_FRONTEND=noninteractive \
			apt-get -o DPkg::Lock::Timeout=300 install -y chromium; \
	else \
		echo "The browser tests need Chromium at $(CHROMIUM)." >&2; \
		echo "Install it once with: sudo apt-get install chromium   (Debian; then run make test again)" >&2; \
		exit 1; \
	fi
