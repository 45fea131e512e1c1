# saip-dpal: the two quick-start commands are `make demo` and `make test`.
# Both create or reuse the pinned environment (tools/setup_env.sh, cached under
# ~/.cache/saip-dpal, override with SAIP_DPAL_CACHE / SAIP_DPAL_VENV).
SHELL := /bin/bash
VENV := $(shell bash tools/setup_env.sh --path)
PY := $(VENV)/bin/python
DATA ?= data/synthetic
SEED ?= 0
SCALE ?= 1.0
PYTEST_ARGS ?=

.PHONY: env data demo study test test-fast clean

env:
	@bash tools/setup_env.sh

data: env
	$(PY) tools/dataset_converters/generate_synthetic_humans.py $(DATA) --seed $(SEED) --scale $(SCALE)

demo: env
	$(PY) tools/run_demo.py --data $(DATA) --seed $(SEED) --scale $(SCALE)

study: env
	$(PY) tools/analysis_tools/hvp_study.py

test: env
	$(PY) -m pytest tests $(PYTEST_ARGS)

# everyday subset: the end-to-end runs marked slow left out
test-fast: env
	$(PY) -m pytest tests -m "not slow" $(PYTEST_ARGS)

clean:
	rm -rf work_dirs .pytest_cache
