# Two commands do everything on a fresh machine (Python 3.11+ and make are all they need):
#   make run    set up, start the local stack (moto + template.yaml + sandbox) and run the demo
#   make test   set up, type-check (mypy) and run the whole test suite (what .ci/run calls)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PYTHONPATH := $(CURDIR):$(CURDIR)/layers/dispatch

.PHONY: run demo test typecheck unit integration bench diagram measure load lint format validate build clean

$(STAMP): pyproject.toml layers/dispatch/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/pip install --quiet --disable-pip-version-check -e ".[dev]"
	touch $(STAMP)

run: $(STAMP)  ## local stack + live demo, then keep serving until Ctrl-C
	$(BIN)/python -m local_stack

demo: $(STAMP)  ## local stack + demo, then exit (status 0 when the workflow completed)
	$(BIN)/python -m local_stack --exit-after-demo

test: typecheck  ## every test: unit, handlers, template/ASL checks, integration through the local stack
	$(BIN)/pytest

typecheck: $(STAMP)  ## mypy (pydantic plugin) over the layer, the functions, admin/, tools/ and the unit tests' fakes
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest tests/unit

integration: $(STAMP)
	$(BIN)/pytest tests/integration

bench: $(STAMP)  ## what one workflow costs: state transitions, DynamoDB reads/writes, Lambda calls
	$(BIN)/python -m benchmarks.workflow_cost

diagram: $(STAMP)  ## redraw docs/state-machine.{dot,svg} from statemachine/workflow.asl.json (no Graphviz needed)
	$(BIN)/python -m tools.render_state_machine

measure:  ## time set-up, `make test` and `make demo` in a fresh clone of HEAD (see tools/time_fresh_clone.sh)
	tools/time_fresh_clone.sh

load: $(STAMP)  ## the local stack under load: 200 workflows, 20 clients (e.g. make load ARGS="--workflows 50 --expiry 5")
	$(BIN)/python -m benchmarks.load $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/cfn-lint template.yaml
	$(BIN)/pytest -q tests/unit/test_template.py  # statelint needs the placeholders substituted

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

validate:  ## needs the AWS SAM CLI; no Docker needed
	sam validate --lint

build:  ## needs the AWS SAM CLI and python3.13 on PATH; no Docker: pip fetches aarch64 wheels for the arm64 layer
	sam build

clean:
	rm -rf $(VENV) .aws-sam .pytest_cache .ruff_cache *.egg-info
