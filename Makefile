# Two commands on a fresh machine: `make demo` (the main job, offline, on SQLite) and `make test`.
# Both create .venv and install the package with its dev extras on first use.

VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

.PHONY: demo test lint benchmark clean test-sdk7 test-sdk6 sdk-venvs

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

# The older SDK generations (zohocrmsdk7_0, zohocrmsdk6_0), each in its own venv: they all install
# the package `zohocrmsdk`, so they cannot share one. `make test-sdk7` runs the SQLite suite there;
# `make test` uses these venvs too (when present) to share one database between generations.
.venv-sdk%/bin/.installed: pyproject.toml
	$(PYTHON) -m venv .venv-sdk$*
	.venv-sdk$*/bin/pip install --quiet --upgrade pip
	.venv-sdk$*/bin/pip install --quiet -e ".[test,sdk$*]"
	touch $@

sdk-venvs: .venv-sdk7/bin/.installed .venv-sdk6/bin/.installed

# In parallel (pytest-xdist), two workers per core: most tests wait on servers, sockets or
# processes, not the CPU (on 2 cores a wait-heavy subset took 80 s with 2 workers, 59 s with 4).
# `loadgroup` keeps a module's tests that share a worker pool together (pytest.mark.xdist_group).
CORES := $(shell getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)
PARALLEL ?= -n $(shell expr 2 \* $(CORES)) --dist loadgroup

# SQLite only (no server markers); ZOHO_TOKENSTORE_EXPECT_SDK makes a test prove which SDK ran.
SQLITE_SUITE := -q -m "not postgresql and not mysql" $(PARALLEL)

test-sdk7: .venv-sdk7/bin/.installed
	ZOHO_TOKENSTORE_EXPECT_SDK=zohocrmsdk7_0 .venv-sdk7/bin/pytest $(SQLITE_SUITE)

test-sdk6: .venv-sdk6/bin/.installed
	ZOHO_TOKENSTORE_EXPECT_SDK=zohocrmsdk6_0 .venv-sdk6/bin/pytest $(SQLITE_SUITE)

demo: $(BIN)/.installed
	$(BIN)/zoho-tokenstore demo

test: $(BIN)/.installed
	$(BIN)/pytest $(PARALLEL)

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

benchmark: $(BIN)/.installed
	$(BIN)/python benchmarks/token_store_benchmark.py

clean:
	rm -rf $(VENV) .venv-sdk7 .venv-sdk6 build dist *.egg-info
