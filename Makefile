# make run   set up .venv (Python 3.12) and run the default simulation (python -m sim)
# make test  set up .venv and run the test suite
#
# Set-up: .venv is created with Python 3.12 (python3.12 on PATH, else pyenv's 3.12.x, else
# PYTHON=/path/to/python3.12), then `pip install -e '.[test,calibrate]'`; it is re-installed only when
# pyproject.toml changes (stamp file .venv/.installed).
# Extra arguments: make run ARGS="scale=0.01 years=5"   make test PYTEST_ARGS="-x tests/test_cli.py"
# make test also needs Debian's Chromium for the browser test of the interactive view
# (tests/test_app.py): when /usr/bin/chromium is missing it is installed with apt-get (as root, or
# through passwordless sudo); otherwise that test fails saying how to install it.

SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
ARGS ?=
PYTEST_ARGS ?=

CHROMIUM := /usr/bin/chromium

.PHONY: run test setup docs clean-venv chromium

run: $(STAMP)
	$(PY) -m sim $(ARGS)

test: $(STAMP) chromium
	@rc=0; $(PY) -m pytest -q $(PYTEST_ARGS) || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests; counting that as a failure." >&2; fi; \
	exit $$rc

setup: $(STAMP)

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
docs: $(STAMP)
	$(PY) -m sim.devtools.gendocs

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -e '.[test,calibrate]'
	@touch $@

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
