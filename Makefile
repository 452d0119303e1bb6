# metahook: two commands on a fresh machine with Python 3.11, pip and make.
#   make demo   creates .venv, installs metahook (runtime only), reproduces every quick scale
#   make test   creates .venv if missing, installs metahook and the development tools ('.[dev]'),
#               runs ruff, mypy and pytest (in 2 pytest-xdist workers; see pyproject.toml)
#
# The quick scales need only metahook's runtime dependencies (`pip install -e .`); the optional
# extras (evotorch, fla) and ray are used only when asked for (--set methods=snes, backend=ray,
# `metahook bench deltanet`) and come with '.[dev]' or their own extra.
#
# torch: a torch >= 2.2 already in the venv is kept (whatever its build: CPU or CUDA). Otherwise
# TORCH_SPEC is installed before metahook. torch==2.13.0 takes the CPU build where a local wheel
# is provided; for another build pass the index, e.g. a CUDA 12.8 build:
#   make demo TORCH_INDEX=https://download.pytorch.org/whl/cu128
# or the CPU build from PyTorch's own index on a machine without the local wheel:
#   make demo TORCH_INDEX=https://download.pytorch.org/whl/cpu
# To change the build of a torch already installed: `make clean` (or `.venv/bin/pip uninstall
# torch`), then make again with TORCH_INDEX.

PYTHON ?= python3
VENV ?= .venv
TORCH_SPEC ?= torch==2.13.0
TORCH_INDEX ?=
DEMO_OUT ?= runs/demo

BIN := $(VENV)/bin
STAMP := $(VENV)/.metahook-installed
DEV_STAMP := $(VENV)/.metahook-dev-installed
TORCH_ARGS := $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX),)
# exit 0 when the venv's torch imports and is at least 2.2
TORCH_OK := import sys, torch; v = torch.__version__.split('+')[0].split('.'); \
	sys.exit(0 if (int(v[0]), int(v[1])) >= (2, 2) else 1)

.PHONY: demo test install install-dev lint typecheck pytest clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@if $(BIN)/python -c "$(TORCH_OK)" 2>/dev/null; then \
		echo "torch $$($(BIN)/python -c 'import torch; print(torch.__version__)') is in $(VENV): kept"; \
	else \
		echo "$(BIN)/python -m pip install --quiet \"$(TORCH_SPEC)\" $(TORCH_ARGS)"; \
		$(BIN)/python -m pip install --quiet "$(TORCH_SPEC)" $(TORCH_ARGS); \
	fi
	$(BIN)/python -m pip install --quiet -e .
	touch $(STAMP)

$(DEV_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(DEV_STAMP)

install: $(STAMP)

install-dev: $(DEV_STAMP)

demo: $(STAMP)
	$(BIN)/metahook reproduce --scale quick --out $(DEMO_OUT)

lint: $(DEV_STAMP)
	$(BIN)/ruff check src tests

typecheck: $(DEV_STAMP)
	$(BIN)/mypy

pytest: $(DEV_STAMP)
	$(BIN)/pytest --durations=25

test: lint typecheck pytest

clean:
	rm -rf $(VENV) runs .pytest_cache .mypy_cache .ruff_cache
