# Two commands on a fresh machine (python3, make, git): `make run` and `make test`.
# Both create .venv and install what they need on first use; nothing is installed by hand.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DEPS   := $(VENV)/.deps-installed

.PHONY: install run test lint typecheck unit integration bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(DEPS): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	@touch $@

install: $(DEPS)

## run the whole thing on the embedded broker (see README)
run: $(DEPS)
	$(BIN)/agent-connector --log-format text demo

## the whole test suite: style, types, unit, integration and browser tests
test: $(DEPS) lint typecheck
	sh scripts/ensure-chromium.sh
	$(BIN)/python -m pytest

lint: $(DEPS)
	$(BIN)/ruff check connector tests

typecheck: $(DEPS)
	$(BIN)/mypy connector

unit: $(DEPS)
	$(BIN)/python -m pytest tests/unit

integration: $(DEPS)
	sh scripts/ensure-chromium.sh
	$(BIN)/python -m pytest -m integration

bench: $(DEPS)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
