# metahook: two commands on a fresh machine with Python 3.11, pip and make.
#   make demo   creates .venv, installs metahook, reproduces every experiment's quick scale
#   make test   creates .venv if missing, installs, runs ruff, mypy and pytest
#
# torch: TORCH_SPEC is installed before metahook. torch==2.13.0 takes the CPU build where a local
# wheel is provided; for another build pass the index, e.g. a CUDA 12.8 build:
#   make demo TORCH_INDEX=https://download.pytorch.org/whl/cu128
# or the CPU build from PyTorch's own index on a machine without the local wheel:
#   make demo TORCH_INDEX=https://download.pytorch.org/whl/cpu

PYTHON ?= python3
VENV ?= .venv
TORCH_SPEC ?= torch==2.13.0
TORCH_INDEX ?=
DEMO_OUT ?= runs/demo

BIN := $(VENV)/bin
STAMP := $(VENV)/.metahook-installed
TORCH_ARGS := $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX),)

.PHONY: demo test install lint typecheck pytest clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH_SPEC)" $(TORCH_ARGS)
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/metahook reproduce --scale quick --out $(DEMO_OUT)

lint: $(STAMP)
	$(BIN)/ruff check src tests

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest

test: lint typecheck pytest

clean:
	rm -rf $(VENV) runs .pytest_cache .mypy_cache .ruff_cache
