# Two commands matter:  `make run` (the local stack)  and  `make test` (everything CI checks).
# Both create the project's virtualenv in .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: help venv run test lint typecheck unit integration e2e bench bench-accept clean

help:
	@echo "make run    - start the whole stack locally (no Docker, no AWS account)"
	@echo "make test   - lint, type-check and run every test suite"
	@echo "make bench  - run the benchmark commands and print their figures"

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --disable-pip-version-check uv
	@$(BIN)/uv pip install -q --compile-bytecode --python $(BIN)/python -e ".[dev]"
	@touch $(STAMP)

venv: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest -q tests/unit

integration: $(STAMP)
	$(BIN)/pytest -q tests/integration

e2e: $(STAMP)
	$(BIN)/pytest -q tests/e2e

test: lint typecheck
	$(BIN)/pytest -q -n 2 --dist loadgroup tests

run: $(STAMP)
	$(BIN)/ingestctl local up

bench: bench-accept

# Ingest API accept path: AWS calls per request (target <= 2 warm) and handler latency against moto.
bench-accept: $(STAMP)
	PYTHONPATH=functions/ingest_api $(BIN)/python -m benchmarks.bench_accept

clean:
	rm -rf $(VENV) .aws-sam .tools .pytest_cache .mypy_cache .ruff_cache
