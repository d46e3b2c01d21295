# Two commands on a fresh machine: `make demo` (the main job, offline, on SQLite) and `make test`.
# Both create .venv and install the package with its dev extras on first use.

VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

.PHONY: demo test lint benchmark clean test-sdk7 test-sdk6 test-sdk5 sdk-venvs test-sdk2_1 test-sdk2_0 test-floors

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

# The older SDK generations (zohocrmsdk7_0, 6_0, 5_0), each in its own venv: they all install
# the package `zohocrmsdk`, so they cannot share one. `make test-sdk7` runs the SQLite suite there;
# `make test` uses these venvs too (when present) to share one database between generations.
.venv-sdk%/bin/.installed: pyproject.toml
	$(PYTHON) -m venv .venv-sdk$*
	.venv-sdk$*/bin/pip install --quiet --upgrade pip
	.venv-sdk$*/bin/pip install --quiet -e ".[test,sdk$*]"
	touch $@

sdk-venvs: .venv-sdk7/bin/.installed .venv-sdk6/bin/.installed .venv-sdk5/bin/.installed

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

test-sdk5: .venv-sdk5/bin/.installed
	ZOHO_TOKENSTORE_EXPECT_SDK=zohocrmsdk5_0 .venv-sdk5/bin/pytest $(SQLITE_SUITE)

# Every dependency at the floor pyproject.toml declares (.ci/floors.py pins each `>=` bound), so a
# floor is a tested claim: CI runs the SQLite suite there.
.venv-floors/bin/.installed: pyproject.toml .ci/floors.py
	$(PYTHON) -m venv .venv-floors
	.venv-floors/bin/pip install --quiet --upgrade pip
	$(PYTHON) .ci/floors.py > .venv-floors/floors.txt
	.venv-floors/bin/pip install --quiet -c .venv-floors/floors.txt -e ".[test,sdk8]"
	touch $@

test-floors: .venv-floors/bin/.installed
	.venv-floors/bin/pytest $(SQLITE_SUITE)

# The 2.x generation (package `zcrmsdk`, zoho_tokenstore.zcrmsdk) installs beside zohocrmsdk8_0
# (package `zohocrmsdk`), which the store's core is built on; a static pattern rule, so it wins
# over the one above.
ZCRMSDK_VENVS := .venv-sdk2_1/bin/.installed .venv-sdk2_0/bin/.installed
$(ZCRMSDK_VENVS): .venv-sdk%/bin/.installed: pyproject.toml
	$(PYTHON) -m venv .venv-sdk$*
	.venv-sdk$*/bin/pip install --quiet --upgrade pip
	.venv-sdk$*/bin/pip install --quiet -e ".[test,sdk8,sdk$*]"
	touch $@

# `make test` skips the 2.x tests (no zcrmsdk there); here they must run (a missing zcrmsdk fails),
# on every backend, with the tests that walk or list the 2.x modules. 2_0 shares the code: a smoke run.
ZCRMSDK_TESTS := tests/test_zcrmsdk_store.py tests/test_zcrmsdk_sdk_flows.py \
	tests/test_zcrmsdk_side_by_side.py tests/test_error_base.py tests/test_public_names.py \
	tests/test_sdk_generations.py::test_this_run_has_exactly_one_sdk_generation_installed

test-sdk2_1: .venv-sdk2_1/bin/.installed
	ZOHO_TOKENSTORE_EXPECT_ZCRMSDK=zohocrmsdk2_1 .venv-sdk2_1/bin/pytest -q $(ZCRMSDK_TESTS)

test-sdk2_0: .venv-sdk2_0/bin/.installed
	ZOHO_TOKENSTORE_EXPECT_ZCRMSDK=zohocrmsdk2_0 .venv-sdk2_0/bin/pytest $(SQLITE_SUITE) \
		tests/test_zcrmsdk_sdk_flows.py tests/test_zcrmsdk_side_by_side.py

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
	rm -rf $(VENV) .venv-sdk7 .venv-sdk6 .venv-sdk5 .venv-sdk2_1 .venv-sdk2_0 .venv-floors build dist *.egg-info
