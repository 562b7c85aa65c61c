# The two commands: `make test` and `make demo`. Both set up .venv themselves.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed

.PHONY: test fuzz demo docs bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest

# the norm family's property tests with many more examples, drawn at random
fuzz: $(STAMP)
	LUCID_FUZZ=1 $(BIN)/python -m pytest -p no:cacheprovider tests/test_norm_properties.py

# one BLAS thread: the demo's matrices are small, and more threads only fight over the cores
demo: $(STAMP)
	OPENBLAS_NUM_THREADS=$${OPENBLAS_NUM_THREADS:-1} $(BIN)/python -m lucid.demo

docs: $(STAMP)
	$(BIN)/python -m sphinx -W -b html docs docs/_build/html

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_autograd.py
	$(BIN)/python benchmarks/bench_norm.py

clean:
	rm -rf $(VENV) docs/_build build *.egg-info .pytest_cache
