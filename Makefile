# Two commands on a fresh machine: `make demo` (the main job, offline, on SQLite) and `make test`.
# Both create .venv and install the package with its dev extras on first use.

VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

.PHONY: demo test lint benchmark clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

demo: $(BIN)/.installed
	$(BIN)/zoho-tokenstore demo

test: $(BIN)/.installed
	$(BIN)/pytest

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

benchmark: $(BIN)/.installed
	$(BIN)/python benchmarks/token_store_benchmark.py

clean:
	rm -rf $(VENV) build dist *.egg-info
