# Two commands matter:  `make run` (the local stack)  and  `make test` (everything CI checks).
# Both create the project's virtualenv in .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: help venv run test lint typecheck unit integration e2e bench clean sam sam-tools sam-cfn-lint sam-validate \
	sam-build sam-build-arm64 sam-build-x86_64 bench-mapping bench-consumer bench-cold-start bench-local-stack \
	bench-accept openapi fuzz soak

help:
	@echo "make run    - start the whole stack locally (no Docker, no AWS account)"
	@echo "make test   - lint, type-check and run every test suite"
	@echo "make bench  - run the benchmark commands and print their figures"
	@echo "make soak   - load + fault soak of the local stack (SOAK_REQUESTS=3000 SOAK_CLIENTS=16 ...)"
	@echo "make sam    - cfn-lint + sam validate --lint + sam build (arm64 to deploy, x86_64 to import here)"
	@echo "make openapi - regenerate docs/openapi.json from the API's routes"
	@echo "make fuzz   - the long fuzz run against the local stack (FUZZ_EXAMPLES=N, default 500)"

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

test: lint typecheck sam
	$(BIN)/pytest -q -n 2 --dist loadgroup tests

run: $(STAMP)
	@$(BIN)/ingestctl local up

bench: bench-mapping bench-accept bench-consumer bench-cold-start bench-local-stack

bench-mapping: $(STAMP)
	$(BIN)/python -m benchmarks.bench_mapping

# The handler module sits on the path exactly as in the Lambda runtime (its CodeUri folder).
bench-consumer: $(STAMP)
	PYTHONPATH=functions/ingest_consumer $(BIN)/python -m benchmarks.bench_consumer

# The whole stack over HTTP vs. the raw AWS calls on the same moto server (README, Benchmarks).
bench-local-stack: $(STAMP)
	$(BIN)/python -m benchmarks.bench_local_stack

# Ingest API accept path: AWS calls per request (target <= 2 warm) and handler latency against moto.
bench-accept: $(STAMP)
	PYTHONPATH=functions/ingest_api $(BIN)/python -m benchmarks.bench_accept

# The OpenAPI document is generated from the handler's routes; a test fails when the committed copy is stale.
openapi: $(STAMP)
	PYTHONPATH=functions/ingest_api $(BIN)/python -m ingestctl.openapi

# Schema-driven and payload fuzzing of the local stack, larger than the short run inside `make test`
# (25 examples per test): FUZZ_EXAMPLES per test plus schemathesis' coverage phase. Prints the figures
# docs/RELIABILITY.md quotes (also left in .local-stack/fuzz-figures.json).
FUZZ_EXAMPLES ?= 500
fuzz: $(STAMP)
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) FUZZ_COVERAGE=1 $(BIN)/pytest -q -m fuzz tests/e2e; status=$$?; \
		cat .local-stack/fuzz-figures.json; exit $$status

# Load + fault soak of the local stack (docs/RELIABILITY.md, "Soak"): thousands of requests while faults are
# injected, then the invariants; exits non-zero if one fails. Size and faults: SOAK_* variables or SOAK_ARGS.
soak: $(STAMP)
	$(BIN)/python -m benchmarks.soak $(SOAK_ARGS)

clean:
	rm -rf $(VENV) .aws-sam .tools .pytest_cache .mypy_cache .ruff_cache

# ---------------------------------------------------------------------------------------------- SAM
# SAM CLI lives in its own virtualenv under .tools (it pins older boto3/pydantic than the project).
# python3.13 (the Lambda runtime) comes from pyenv here; PYENV_VERSION selects it next to 3.11.
SAM_CLI_VERSION := 1.170.0
SAM_VENV := .tools/sam
SAM := $(SAM_VENV)/bin/sam
SAM_STAMP := $(SAM_VENV)/.installed-$(SAM_CLI_VERSION)
PYENV_VERSION ?= 3.11.7:3.13.0
SAM_ENV := SAM_CLI_TELEMETRY=0 PYENV_VERSION=$(PYENV_VERSION) AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-eu-west-1}
# The SDK the python3.13 Lambda runtime provides and the layer does not bundle: the 1.35 line the
# runtime launched with (Nov 2024), which is also pyproject's floor. Stand-in for /var/runtime when a
# built function is imported or benchmarked here (ingestctl/local/artifact.py).
RUNTIME_SDK := .tools/lambda-runtime
RUNTIME_BOTO3 := boto3==1.35.99
RUNTIME_STAMP := $(RUNTIME_SDK)/.installed-$(RUNTIME_BOTO3)-py313
SAM_BUILD_FLAGS := --cached --parallel
# SAM ships sources only, and Lambda's /var/task and /opt are read-only: without bytecode in the zip,
# every cold start compiles the layer (botocore, pydantic, Powertools) again. Measured with
# `make bench-cold-start`: ~4x the boto3-only baseline without it, ~2x with it. unchecked-hash: the pyc
# is used as is (the deployed files never change), and python3.13's bytecode is the same on arm64.
PRECOMPILE := PYENV_VERSION=$(PYENV_VERSION) python3.13 -m compileall -q -j 0 --invalidation-mode unchecked-hash

$(SAM_STAMP): | $(STAMP)
	@rm -rf $(SAM_VENV)
	@$(BIN)/uv venv -q $(SAM_VENV) --python "$$(command -v $(PYTHON))"
	@$(BIN)/uv pip install -q --python $(SAM_VENV)/bin/python "aws-sam-cli==$(SAM_CLI_VERSION)"
	@touch $@

$(RUNTIME_STAMP): | $(STAMP)
	@rm -rf $(RUNTIME_SDK)
	@$(BIN)/uv pip install -q --target $(RUNTIME_SDK) --python-version 3.13 "$(RUNTIME_BOTO3)"
	@$(PRECOMPILE) $(RUNTIME_SDK)
	@touch $@

sam-tools: $(SAM_STAMP) $(RUNTIME_STAMP)

# cfn-lint and SAM's validator, the two builds: independent, so `make sam` runs them side by side.
sam-cfn-lint: $(STAMP)
	$(BIN)/cfn-lint template.yaml

sam-validate: $(SAM_STAMP)
	$(SAM_ENV) $(SAM) validate --lint

# arm64 is what `sam deploy` ships (.aws-sam/build, SAM's default). x86_64 is the same template built
# for this machine's CPU (the arm64 layer holds aarch64 wheels), so the tests and the benchmark can
# import and run the artifact. It builds from inside .aws-sam/x86_64 because SAM keeps its incremental
# state (build.toml, deps/) under ./.aws-sam and prunes what another build graph left there.
X86_DIR := .aws-sam/x86_64
sam-build-arm64: $(SAM_STAMP)
	$(SAM_ENV) $(SAM) build $(SAM_BUILD_FLAGS) --build-dir .aws-sam/build --cache-dir .aws-sam/cache
	$(PRECOMPILE) .aws-sam/build

sam-build-x86_64: $(SAM_STAMP)
	@mkdir -p $(X86_DIR)
	cd $(X86_DIR) && $(SAM_ENV) $(CURDIR)/$(SAM) build $(SAM_BUILD_FLAGS) --template-file $(CURDIR)/template.yaml \
		--build-dir build --cache-dir cache --parameter-overrides Architecture=x86_64
	$(PRECOMPILE) $(X86_DIR)/build

sam-build: $(SAM_STAMP) $(RUNTIME_STAMP)
	@$(MAKE) --no-print-directory -j2 --output-sync=target sam-build-arm64 sam-build-x86_64

sam: $(SAM_STAMP) $(RUNTIME_STAMP)
	@$(MAKE) --no-print-directory -j4 --output-sync=target sam-cfn-lint sam-validate sam-build-arm64 sam-build-x86_64

bench-cold-start: sam-build
	$(BIN)/python -m benchmarks.bench_cold_start
