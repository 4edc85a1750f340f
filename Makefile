# Newcomer entry points. `make setup` is idempotent and reuses a finished install.
PY := .venv/bin/python

.PHONY: setup test test-all quickstart lint gpu-check wheelhouse
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

# GPU installation check (docs/gpu_check.md); without CUDA it runs the CPU parts, tiny
gpu-check: setup
	bash tools/misc/gpu_check.sh $(ARGS)

# offline bundle (docs/installation.md#offline-installation): WHEELHOUSE=folder ARGS='--torch cu126'
wheelhouse: setup
	$(if $(WHEELHOUSE),,$(error set WHEELHOUSE=<folder outside the checkout>))
	$(PY) tools/misc/make_wheelhouse.py $(WHEELHOUSE) $(ARGS)
