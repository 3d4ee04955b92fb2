# make demo   install, then run the main job on the built-in demo fleet
# make test   install, then run the whole test suite
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
SOURCES := pyproject.toml setup.py $(shell find placement \( -name '*.pyx' -o -name '*.pxd' \) -not -name '_kernels_*' 2>/dev/null)    # _kernels_*: generated copies

.PHONY: demo test test-debug fuzz-smoke bench install clean

# The package and its kernels (all the demo needs); the test extra on top, without a rebuild.
$(VENV)/.installed: $(SOURCES)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet 'setuptools>=77' wheel 'Cython>=3.0' 'numpy>=2.0'
	$(PY) -m pip install --quiet --no-build-isolation -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed pyproject.toml
	$(PY) -m pip install --quiet $$($(PY) -c "import tomllib; \
	    print(' '.join(r.replace(' ', '') for r in tomllib.load(open('pyproject.toml', 'rb'))['project']['optional-dependencies']['test']))" \
	    2>/dev/null) || $(PY) -m pip install --quiet --no-build-isolation -e '.[test]'    # Python 3.10: no tomllib
	touch $@

install: $(VENV)/.installed-test

demo: $(VENV)/.installed
	$(VENV)/bin/placement demo

test: $(VENV)/.installed-test
	$(PY) -m pytest

# The kernels rebuilt with Cython's checks on (-O0 -g), the suite run against them (all but the
# tests marked slow: long reference comparisons, the bench harness and Dask clusters, whose kernel
# paths the rest reach too), and the optimised build put back (RESTORE=0: left as it is, for CI's
# throwaway clone).
RESTORE ?= 1
test-debug: $(VENV)/.installed-test
	PLACEMENT_DEBUG_BUILD=1 $(PY) -m pip install --quiet --no-build-isolation --no-deps --force-reinstall -e .
	$(PY) -c "from placement.engine._kernels import DEBUG_BUILD; assert DEBUG_BUILD, 'not the debug build'"
	$(PY) -m pytest -x -m "not slow" && $(MAKE) fuzz-smoke; status=$$?; \
	if [ "$(RESTORE)" = 1 ]; then $(PY) -m pip install --quiet --no-build-isolation --no-deps --force-reinstall -e .; fi; \
	exit $$status

# Every fuzz target for 15 s (seeded, so a run repeats), on whatever build is installed: CI runs
# it inside test-debug, against the kernels built with Cython's checks on.
FUZZ_TARGETS := compile ecs_json arrow differential
fuzz-smoke: $(VENV)/.installed-test
	for target in $(FUZZ_TARGETS); do \
	    $(PY) tests/fuzz/run.py $$target -seed=1 -max_total_time=15 -timeout=10 -print_final_stats=1 2>&1 \
	        | grep -E 'stat::number_of_executed_units|ERROR|Error|crash-' ; \
	    test $${PIPESTATUS[0]} -eq 0 || exit 1; \
	done

# The bench extra (the peers and matplotlib, without a rebuild), the pytest-benchmark suites timed,
# then the whole harness: .benchmarks/bench/report.md, results.json and the plots.
bench: install
	$(PY) -m pip install --quiet $$($(PY) -c "import tomllib; \
	    print(' '.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['optional-dependencies']['bench']))" \
	    2>/dev/null) || $(PY) -m pip install --quiet --no-build-isolation -e '.[bench]'    # Python 3.10: no tomllib
	$(PY) -m pytest benchmarks --benchmark-enable
	$(VENV)/bin/placement bench --out .benchmarks/bench

clean:
	rm -rf $(VENV) build *.egg-info placement/**/*.so placement/**/*.c
