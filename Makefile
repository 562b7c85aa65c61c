# The two commands: `make test` and `make demo`. Both set up .venv themselves.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed

.PHONY: test test-core lint fuzz demo demo-dist demo-lm docs bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest

# lint and format check (ruff, configured in pyproject.toml)
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# the suite without doctests and the docs site (no Sphinx needed)
test-core: $(STAMP)
	$(BIN)/python -m pytest -m "not docs"

# the norm family's property tests with many more examples, drawn at random
fuzz: $(STAMP)
	LUCID_FUZZ=1 $(BIN)/python -m pytest -p no:cacheprovider tests/test_norm_properties.py

# one BLAS thread: the demo's matrices are small, and more threads only fight over the cores
demo: $(STAMP)
	OPENBLAS_NUM_THREADS=$${OPENBLAS_NUM_THREADS:-1} $(BIN)/python -m lucid.demo

# two processes, one thread each: the demo's ConvNet trained data parallel (lucid/demo_dist.py)
demo-dist: $(STAMP)
	OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1 $(BIN)/mpiexec -n 2 $(BIN)/python -m lucid.demo --distributed

# a character-level Transformer on the standard library's sources (lucid/demo_lm.py)
demo-lm: $(STAMP)
	OPENBLAS_NUM_THREADS=$${OPENBLAS_NUM_THREADS:-1} $(BIN)/python -m lucid.demo lm

docs: $(STAMP)
	$(BIN)/python -m sphinx -W -b html docs docs/_build/html

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_autograd.py
	$(BIN)/python benchmarks/bench_norm.py
	$(BIN)/python benchmarks/bench_distributed.py

clean:
	rm -rf $(VENV) docs/_build build *.egg-info .pytest_cache
