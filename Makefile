# azuchi — the two commands: `make run` and `make test`. Both set themselves up.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: run test lint typecheck unit bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# Runtime only: what `azuchi serve` needs.
$(VENV)/.runtime: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	@touch $@

# Everything the test tiers need (pytest, hypothesis, boto3, websockets, playwright...).
$(VENV)/.dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	@touch $@ $(VENV)/.runtime

run: $(VENV)/.runtime
	$(BIN)/azuchi serve --host $(HOST) --port $(PORT)

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.dev
	$(BIN)/mypy core adapters handlers

# The browser tier runs in its own process: Playwright's sync API holds an event loop
# for as long as the browser lives, which async tests must not share.
test: lint typecheck
	$(BIN)/python -m pytest -m "not browser"
	$(BIN)/python -m pytest -m browser tests/browser

unit: $(VENV)/.dev
	$(BIN)/python -m pytest tests/unit tests/handlers contract_tests -q

bench: $(VENV)/.dev
	$(BIN)/python bench/serve_bench.py

clean:
	rm -rf $(VENV) .cache .pytest_cache .mypy_cache .ruff_cache reports
