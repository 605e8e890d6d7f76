# The commands people type. `make run` and `make test` are all the set-up there is.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test lint bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "ess-atlas needs Python >= 3.11")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) ## create .venv and install ess-atlas with its dev tools

run: install ## serve the map on http://$(HOST):$(PORT)/ (SQLite, default directory preloaded)
	$(BIN)/ess-atlas serve --host $(HOST) --port $(PORT)

test: install ## the whole suite, browser and addok tests included
	$(BIN)/pytest

lint: install ## ruff + mypy --strict
	$(BIN)/ruff check app geocode tests bench data/scripts
	$(BIN)/mypy

bench: install ## benchmarks: print a table and append to bench/results.md
	@for script in bench/bench_*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
