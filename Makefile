# make demo: set up .venv and run the main job on the bundled example
# make test: set up .venv and run the tests (core tests + conformance suite per backend)
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.xpcs-installed
export QT_QPA_PLATFORM ?= offscreen
export PIP_DISABLE_PIP_VERSION_CHECK = 1

.PHONY: demo test install clean bench

install: $(STAMP)

$(STAMP): pyproject.toml plugins/xpcs_numpy/pyproject.toml plugins/xpcs_jax/pyproject.toml plugins/xpcs_cupy/pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "installing xpcs-core and the numpy, jax and cupy plugins into $(VENV) (log: $(VENV)/install.log)"
	@( $(PY) -m pip install --upgrade "pip>=24" && \
	   $(PY) -m pip install -e ".[test,gui-test,dask]" -e plugins/xpcs_numpy -e plugins/xpcs_jax -e "plugins/xpcs_cupy[cuda12]" \
	 ) > $(VENV)/install.log 2>&1 || { tail -n 40 $(VENV)/install.log; exit 1; }
	touch $@

demo: $(STAMP)
	$(VENV)/bin/xpcs backends
	$(VENV)/bin/xpcs demo --out demo-output
	$(VENV)/bin/xpcs info demo-output/result.h5

test: $(STAMP)
	$(PY) -m pytest -q tests
	$(PY) -m pytest -q -p no:cacheprovider --pyargs xpcs_core.testing --xpcs-backend numpy
	$(PY) -m pytest -q -p no:cacheprovider --pyargs xpcs_core.testing --xpcs-backend jax

bench: $(STAMP)
	$(PY) -m pip install -q -e ".[bench]"
	for b in benchmarks/bench_*.py; do $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) build *.egg-info plugins/*/*.egg-info
