# The commands people type. `make run` and `make test` are all the set-up there is.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
BENCH_STAMP := $(VENV)/.bench-stamp
# Debian packages the suite drives for real: a browser, Redis (addok, shared rate limits),
# compilers for addok's dependencies, GDAL and the sqlite3 shell for the data-client tests,
# PostgreSQL 15 + PostGIS 3 for the tests that run on both backends.
TEST_DEBIAN_PACKAGES := chromium fonts-liberation redis-server build-essential python3-dev \
	gdal-bin sqlite3 postgresql postgresql-15-postgis-3
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test lint bench clean test-system-packages messages

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "ess-atlas needs Python >= 3.11")'
	@$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || scripts/debian-packages python3-venv
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) ## create .venv and install ess-atlas with its dev tools

run: install ## serve the map on http://$(HOST):$(PORT)/ (SQLite, default directory preloaded)
	$(BIN)/ess-atlas serve --host $(HOST) --port $(PORT)

test-system-packages: ## the Debian packages the suite needs (installed when root, else the apt-get line)
	@scripts/debian-packages $(TEST_DEBIAN_PACKAGES)

test: test-system-packages install ## the whole suite, browser and addok tests included
	$(BIN)/pytest

lint: install ## ruff + mypy --strict
	$(BIN)/ruff check app geocode tests bench data/scripts
	$(BIN)/mypy

LOCALE_DIR := app/mapview/locale
messages: install ## extract the pages' texts and update the English catalogue (.po)
	$(BIN)/pybabel extract -F babel.cfg --no-location --sort-output --project=ess-atlas \
		-o $(LOCALE_DIR)/messages.pot .
	$(BIN)/pybabel update -i $(LOCALE_DIR)/messages.pot -d $(LOCALE_DIR) --no-wrap --no-location

$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $(BENCH_STAMP)

# BENCH_SIZES=100000 skips the 1,000,000-structure run of bench/bench_national.py,
# BENCH_EXPORT_SIZES=100000 that of bench/bench_exports.py.
bench: test-system-packages install $(BENCH_STAMP) ## benchmarks: print tables and append to bench/results.md
	@scripts/debian-packages wrk time python3-gdal python3-venv
	@for script in bench/bench_*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
