# Newcomer entry points. `make setup` is idempotent and reuses a finished install.
PY := .venv/bin/python

.PHONY: setup test test-all quickstart lint
setup:
	@bash tools/setup_env.sh

test: setup
	$(PY) -m pytest -q

test-all: setup
	$(PY) -m pytest -q -m ""

quickstart: setup
	$(PY) tools/quickstart.py

lint: setup
	$(PY) -m ruff check .
