# Two entry points: `make run` (the daemon on the embedded default) and `make test` (everything CI runs).
# Both install exactly requirements.lock (hash-checked, from PyPI); `make lock` refreshes it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LOCK := requirements.lock

.PHONY: run test check lint types pytest bench reliability clean lock

$(STAMP): pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/python -m pip check
	touch $(STAMP)

# Re-resolve the lock from pyproject.toml (every platform, Python 3.11+), then reinstall.
# It needs only uv (installed into .venv first), so it works while the lock is behind pyproject.toml.
lock:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet 'uv>=0.5'
	$(BIN)/uv pip compile pyproject.toml --extra dev --universal --python-version 3.11 \
		--generate-hashes --quiet -o $(LOCK)
	rm -f $(STAMP)

run: $(STAMP)
	$(BIN)/feedline run

test: $(STAMP) lint types pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

types: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest -q

bench: $(STAMP)
	$(BIN)/python -m bench

# Every fault of docs/reliability.md at full size (about half an hour); rewrites its table.
reliability: $(STAMP)
	$(BIN)/python bench/reliability_bench.py --write

clean:
	rm -rf $(VENV) build *.egg-info
