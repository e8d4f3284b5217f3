# make run        set up .venv (Python 3.12) with what a run needs and run the default simulation (python -m sim)
# make test       set up .venv with the test tools too and run the test suite but the long tier (what CI runs)
# make test-long  the long tier: the many-world checks beyond CI's 20-minute budget (docs/testing.md, Tiers)
# make test-fast  the local loop: every test not marked slow or long, in parallel
# make lock       refresh the locks (locks/run.txt, locks/test.txt) from pyproject.toml with uv
# make mutation MODULE=stages   mutation testing of one module group (tests/mutation.py; MODULE=all: every
#                 group, one after the other; JOBS=2 for two mutmut workers; SAMPLE=3 for the mutants numbered ...3,
#                 a tenth of each function's); docs/testing.md has the scores
#
# Set-up: .venv is created with Python 3.12 (python3.12 on PATH, else pyenv's 3.12.x, else
# PYTHON=/path/to/python3.12). `make run` installs the exact, hash-checked versions of
# locks/run.txt (with uv, which locks/build.txt brings) and then the project itself without
# dependencies (uv pip install --no-deps -e .);
# `make test` installs locks/test.txt (the run's packages at the same versions, plus the test,
# cluster, browser and calibration tools). Each is redone only when its lock or pyproject.toml
# changes (stamp files .venv/.installed-run and .venv/.installed-test). Both end by compiling the
# numerical kernels into numba's cache (sim.core.kernels).
# Extra arguments: make run ARGS="scale=0.01 years=5"   make test PYTEST_ARGS="-x tests/test_cli.py"
# make test also needs Debian's Chromium for the browser test of the interactive view
# (tests/test_app.py): when /usr/bin/chromium is missing it is installed with apt-get (as root, or
# through passwordless sudo); otherwise that test fails saying how to install it.

SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
RUN_STAMP := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test
ARGS ?=
PYTEST_ARGS ?=
# pytest-xdist workers (one per core); PYTEST_WORKERS=0 runs the tests in this process
PYTEST_WORKERS ?= auto
PIP := $(PY) -m pip install --disable-pip-version-check

CHROMIUM := /usr/bin/chromium

.PHONY: run test test-long test-fast setup lock docs clean-venv chromium mutation

# pytest on the tests of a marker expression, on every core; exit code 5 (no tests collected) fails too
define pytest_tier
@rc=0; $(PY) -m pytest -q -n $(PYTEST_WORKERS) -m "$(1)" $(PYTEST_ARGS) || rc=$$?; \
if [ $$rc -eq 5 ]; then echo "make $@: pytest collected no tests; counting that as a failure." >&2; fi; \
exit $$rc
endef

run: $(RUN_STAMP)
	$(PY) -m sim $(ARGS)

test: $(TEST_STAMP) chromium
	$(call pytest_tier,not long)

test-long: $(TEST_STAMP)
	$(call pytest_tier,long)

test-fast: $(TEST_STAMP)
	$(call pytest_tier,not slow and not long)

setup: $(TEST_STAMP)

MODULE ?=
JOBS ?= 1
SAMPLE ?=
mutation: $(TEST_STAMP)
	@if [ -z "$(MODULE)" ]; then echo "make mutation: say MODULE=<group> (stages rounds exits lending books policies) or MODULE=all" >&2; exit 2; fi
	$(PY) tests/mutation.py $(if $(filter all,$(MODULE)),--all,$(MODULE)) --jobs $(JOBS) $(if $(SAMPLE),--sample $(SAMPLE))

# Debian's Chromium for tests/test_app.py (Playwright drives it; no browser is downloaded).
chromium:
	@if [ ! -x $(CHROMIUM) ]; then \
	  if [ "$$(id -u)" = 0 ]; then sudo=""; elif sudo -n true 2>/dev/null; then sudo="sudo -n"; \
	  else echo "make test: $(CHROMIUM) is missing and apt-get needs root: install it with 'sudo apt-get install chromium' (tests/test_app.py needs it)." >&2; exit 0; fi; \
	  echo "Installing Debian's chromium for the browser test (apt-get)"; \
	  $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq chromium \
	    || echo "make test: could not install chromium with apt-get; tests/test_app.py will fail." >&2; \
	fi

# Regenerate every generated file (docs/*.md, the default preset, conf/policy/*.yaml) from the code.
docs: $(RUN_STAMP)
	$(PY) -m sim.devtools.gendocs

# The locks pin every package, with hashes, for Python 3.12 on every platform (uv's --universal).
# locks/test.txt is resolved first (pyproject.toml with the test and calibrate extras); locks/run.txt
# and locks/build.txt (the build back-ends of locks/build.in) are resolved under it as a
# constraint, so a package in two locks has the same version in both.
# `make lock` keeps every pin it can and changes only what pyproject.toml asks for;
# `make lock UPGRADE=1` moves every package to its newest compatible release.
# uv comes from PyPI into a throwaway directory when it is not on PATH.
LOCK_FLAGS := --universal --python-version 3.12 --generate-hashes --custom-compile-command "make lock" --quiet \
              $(if $(filter 1,$(UPGRADE)),--upgrade)
lock: | $(PY)
	@set -e; uv="$$(command -v uv || true)"; tmp=""; \
	if [ -z "$$uv" ]; then tmp="$$(mktemp -d)"; echo "Getting uv from PyPI into $$tmp"; \
	  $(PIP) -q --target "$$tmp" uv; uv="$$tmp/bin/uv"; fi; \
	"$$uv" pip compile $(LOCK_FLAGS) --extra test --extra calibrate pyproject.toml -o locks/test.txt; \
	"$$uv" pip compile $(LOCK_FLAGS) -c locks/test.txt pyproject.toml -o locks/run.txt; \
	"$$uv" pip compile $(LOCK_FLAGS) -c locks/test.txt locks/build.in -o locks/build.txt; \
	if [ -n "$$tmp" ]; then rm -rf "$$tmp"; fi; \
	echo "Wrote locks/test.txt, locks/run.txt and locks/build.txt: check them with make test, then commit them with pyproject.toml."

# Install a lock ($(1)): first, with pip, the locked build back-ends and uv (locks/build.txt);
# then, with uv (seconds where pip takes minutes: it downloads and installs in parallel), the lock
# with hashes checked and no isolated build environment (source archives are built with the
# locked back-ends), then the project itself, editable and without dependencies.
# Every module is compiled to bytecode once, at install (uv's --compile-bytecode for the packages,
# compileall for the project): uv leaves that to the first import, and where PYTHONDONTWRITEBYTECODE
# is set every Python process (each test worker, each python -m sim) would compile pandas, matplotlib
# and the rest from source again, about seven seconds a process. (Bytecode only caches: a changed
# source file is compiled again when it is imported.)
# Then the numerical kernels are compiled into numba's cache (sim.core.kernels; about ten seconds),
# so the first run does not have to.
UV := $(VENV)/bin/uv pip install --python $(PY) --compile-bytecode
define install_lock
	$(PIP) --require-hashes -r locks/build.txt
	$(UV) --require-hashes --no-build-isolation -r $(1)
	$(UV) --no-deps --no-build-isolation -e .
	$(PY) -m compileall -q sim agents experiments
	$(PY) -c "import sim.model; from sim.core import kernels; kernels.warm_up()"
endef

$(RUN_STAMP): locks/run.txt locks/build.txt pyproject.toml | $(PY)
	$(call install_lock,locks/run.txt)
	@touch $@

# pytest rewrites the asserts of the test modules and of its plugins (hypothesis, hydra) when it
# imports them and caches the result as bytecode; one collection here fills that cache, which every
# test worker then reads (where PYTHONDONTWRITEBYTECODE is set, pytest would otherwise rewrite
# them again in every worker: about five seconds each).
$(TEST_STAMP): locks/test.txt locks/build.txt pyproject.toml | $(PY)
	$(call install_lock,locks/test.txt)
	PYTHONDONTWRITEBYTECODE= $(PY) -m pytest --collect-only -q -p no:cacheprovider > /dev/null
	@touch $@ $(RUN_STAMP)

$(PY):
	@set -e; py="$${PYTHON:-}"; \
	if [ -z "$$py" ]; then \
	  for c in python3.12 $$(pyenv root 2>/dev/null)/versions/3.12*/bin/python3.12 \
	           $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.12*/bin/python3.12; do \
	    if "$$c" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' >/dev/null 2>&1; then py="$$c"; break; fi; \
	  done; \
	fi; \
	if [ -n "$${PYTHON:-}" ] && ! "$$py" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' >/dev/null 2>&1; then \
	  echo "error: PYTHON=$$py is not a Python 3.12 interpreter." >&2; exit 1; \
	fi; \
	if [ -z "$$py" ]; then \
	  echo "error: Python 3.12 not found (tried python3.12 on PATH, \$$(pyenv root)/versions/3.12* and ~/.pyenv/versions/3.12*)." >&2; \
	  echo "Install it, e.g. 'pyenv install 3.12' (https://github.com/pyenv/pyenv) or your system's python3.12 package," >&2; \
	  echo "or point to it: make PYTHON=/path/to/python3.12 run" >&2; \
	  exit 1; \
	fi; \
	echo "Creating $(VENV) with $$py ($$("$$py" -c 'import sys; print(sys.version.split()[0])'))"; \
	"$$py" -m venv $(VENV)

clean-venv:
	rm -rf $(VENV)
