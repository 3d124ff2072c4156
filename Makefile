# Two commands do everything on a fresh machine (Python 3.11+ and make are all they need):
#   make run    set up, start the local stack (moto + template.yaml + sandbox) and run the demo
#   make test   set up, type-check (mypy) and run the whole test suite (what .ci/run calls)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PYTHONPATH := $(CURDIR):$(CURDIR)/layers/dispatch

.PHONY: run demo test typecheck unit integration mutation bench bench-cold capacity diagram measure load lint \
	format validate build clean

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

mutation: $(STAMP)  ## mutation testing of the domain rules (not part of `test`; slow: see docs/development.md)
	$(BIN)/python -m mutation

bench: $(STAMP)  ## what one workflow costs: state transitions, DynamoDB reads/writes, Lambda calls
	$(BIN)/python -m benchmarks.workflow_cost

bench-cold: $(STAMP)  ## cold-start imports of every function vs a bare boto3 client (python3.13; pip uses PyPI; ARGS=--instructions needs valgrind)
	$(BIN)/python -m benchmarks.cold_start $(ARGS)

capacity: $(STAMP)  ## workflows/s each AWS quota allows and cost per million workflows (ARGS=--measure, --callbacks)
	$(BIN)/python -m benchmarks.capacity $(ARGS)

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

build:  ## needs the AWS SAM CLI (pip install aws-sam-cli) and python3.13 (PATH or pyenv); no Docker
	sam build
	$(PYTHON313) tools/check_bytecode.py .aws-sam/build

# -- what `sam build` runs (BuildMethod: makefile, ContextPath: .) --------------------------------
# SAM copies a resource's CodeUri/ContentUri to a scratch directory and runs `make build-<LogicalId>`
# there with ARTIFACTS_DIR set. The recipes ship bytecode: /opt and /var/task are read-only on
# Lambda, so without .pyc files every cold start compiles every module it imports.
# python3.13 on PATH or pyenv's (tools/lambda_python.py); set PYTHON313 to choose another.
ifndef PYTHON313
PYTHON313 := $(or $(shell $(PYTHON) $(dir $(abspath $(lastword $(MAKEFILE_LIST))))tools/lambda_python.py),python3.13)
endif
# arm64 functions; bytecode does not depend on the CPU, the wheels' native code does.
LAMBDA_PLATFORM ?= manylinux2014_aarch64
# Wheels only (no Docker, no compiler): pip fetches the target platform's, whatever this machine is.
# --no-compile: pip would write timestamp .pycs, which compileall below would then leave alone.
LAYER_PIP_INSTALL ?= $(PYTHON313) -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --no-compile \
	--platform $(LAMBDA_PLATFORM) --only-binary=:all: --python-version 3.13 --implementation cp
# unchecked-hash: the import system uses the .pyc without looking at the source. Timestamp .pycs
# (the default) are used only while the source's mtime matches the one recorded, and `sam deploy`
# zips every file dated 1980-01-01, so on Lambda they would all be stale and, /opt and /var/task
# being read-only, compiled again on every cold start. checked-hash would read and hash every
# source file on import. The .pycs are rebuilt with their source on every build, so they cannot
# go stale. -f rewrites any .pyc already there.
COMPILE_BYTECODE = $(PYTHON313) -m compileall -q -f -j0 --invalidation-mode unchecked-hash
# __pycache__ of the working tree (other Pythons, timestamp .pycs) never goes into the artifacts.
COPY_SOURCE = tar --exclude=__pycache__ --exclude='*.pyc' -cf - $(1) | tar -xf - -C $(2)
.PHONY: build-DispatchLayer

build-DispatchLayer:
	$(LAYER_PIP_INSTALL) --target "$(ARTIFACTS_DIR)/python" -r requirements.txt
	mkdir -p "$(ARTIFACTS_DIR)/python"
	$(call COPY_SOURCE,dispatch,"$(ARTIFACTS_DIR)/python")
	$(COMPILE_BYTECODE) "$(ARTIFACTS_DIR)/python"

# Every function (logical ids end in Function): its directory, precompiled; dependencies are the layer's.
build-%Function:
	mkdir -p "$(ARTIFACTS_DIR)"
	$(call COPY_SOURCE,.,"$(ARTIFACTS_DIR)")
	$(COMPILE_BYTECODE) "$(ARTIFACTS_DIR)"

clean:
	rm -rf $(VENV) .aws-sam .pytest_cache .ruff_cache *.egg-info mutants
