# Two commands on a fresh machine (see README): `make demo` and `make test`.
# Both create .venv from the pinned requirements.txt first; nothing is installed globally
# except Debian's chromium for the browser tests (apt-get, needs root as on these machines).
VENV ?= .venv
PY := $(VENV)/bin/python
NBVAL := -p nbval --nbval --nbval-current-env --nbval-sanitize-with notebooks/sanitize.cfg -p no:python -p no:schemathesis
# (-p nbval: pyproject.toml's addopts leave nbval out of the runs that execute no notebook; schemathesis's
# plugin, 0.6 s of imports in each pytest process, is for tests/test_schemathesis.py only)
# the same, against any target: notebooks/sanitize-live.cfg masks what differs between servers and runs
NBVAL_LIVE := -p nbval --nbval --nbval-current-env --nbval-sanitize-with notebooks/sanitize-live.cfg -p no:python -p no:schemathesis
# pytest-xdist, one worker per core; loadfile keeps each test module, and each notebook, whole on one worker
PARALLEL := -n auto --dist loadfile

.PHONY: demo test check lint test-unit test-notebooks test-browser notebooks bench clean
.PHONY: test-notebooks-live test-notebooks-second-process

# Compiled bytecode is written (to __pycache__/, ignored by git) even where PYTHONDONTWRITEBYTECODE is
# set, as .ci/run does: without it every Python process compiles the package, the tests and pytest's
# rewrite of the plugins' modules again, about 5 s per pytest worker. (A PYTHONPYCACHEPREFIX would
# instead pass over the bytecode pip compiled into .venv and compile every dependency once more.)
unexport PYTHONDONTWRITEBYTECODE

# The Python .venv is made from: PYTHON=/path/to/python, else the first of these that runs and is a
# supported CPython (pyproject.toml's requires-python, README "Supported platforms"). 3.11 comes first:
# the notebooks' stored outputs and Binder are made on it; `command -v` alone is not enough, as a pyenv
# shim of a version that is not selected exists but fails to run.
SUPPORTED_PYTHON := (3, 11) <= sys.version_info[:2] <= (3, 14)
PYTHON_CANDIDATES := python3.11 python3.12 python3.13 python3.14 python3
ifeq ($(origin PYTHON),undefined)
PYTHON := $(firstword $(foreach candidate,$(PYTHON_CANDIDATES),$(shell $(candidate) -c 'import sys, ensurepip; sys.exit(not ($(SUPPORTED_PYTHON)))' >/dev/null 2>&1 && command -v $(candidate))))
endif
# Says which interpreter is used, or why none fits (venv needs ensurepip: Debian's python3-venv).
CHECK_PYTHON = test -n "$(PYTHON)" || { echo "make: no supported Python found: tried $(PYTHON_CANDIDATES); CPython 3.11 to 3.14 with venv is needed (Debian: apt-get install python3-venv), or name one: make PYTHON=/path/to/python3.12" >&2; exit 1; }; \
	$(PYTHON) -c 'import sys; sys.exit(not ($(SUPPORTED_PYTHON)))' 2>/dev/null || { echo "make: $(PYTHON) is Python $$($(PYTHON) -c 'import platform; print(platform.python_version())' 2>/dev/null || echo '(does not run)'); CPython 3.11 to 3.14 is needed" >&2; exit 1; }; \
	$(PYTHON) -c 'import ensurepip' 2>/dev/null || { echo "make: $(PYTHON) has no venv support (ensurepip); Debian: apt-get install python3-venv" >&2; exit 1; }; \
	echo "make: using $(PYTHON), Python $$($(PYTHON) -c 'import platform; print(platform.python_version())')"
.PHONY: which-python
which-python:
	@$(CHECK_PYTHON)

# requirements.txt is the lock (every package, transitive ones too, == and hashes), compiled by
# `make lock` from pyproject.toml; the package itself goes in after it, editable, with no deps.
PIP_VERSION := 26.3
$(VENV)/.installed: requirements.txt pyproject.toml
	@$(CHECK_PYTHON)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q pip==$(PIP_VERSION)
	$(PY) -m pip install -q --require-hashes -r requirements.txt
	$(PY) -m pip install -q --no-deps -e .
	touch $@

# Re-lock after changing a range or a group in pyproject.toml: pins already in the locks are kept
# (uv prefers them), new ones are resolved. `make lock UPGRADE=1` moves every pin to the newest
# allowed (then re-execute the notebooks: their stored outputs follow the versions).
# binder/requirements.txt: the toolkit and the notebook group only, at the same versions.
# One universal lock (uv's universal resolution, from requires-python's floor up): each pin carries the
# environment markers where it applies, forking where a release needs a newer Python (3.11.5 and up get
# the newer soupsieve); tools/lock_platforms.py then records each pinned release's Requires-Python and
# Requires-Dist (requirements-metadata.json), from which tests/test_lock_platforms.py proves offline that
# the lock is complete on every supported Python and platform.
UV_VERSION := 0.13.9
PACKAGING_VERSION := 26.4
LOCK_TOOLS := $(VENV)/uv-$(UV_VERSION)
UV := $(LOCK_TOOLS)/bin/uv
LOCK_TOOLS_INSTALLED := $(LOCK_TOOLS)/.installed
LOCK_FOR := --universal --python-version 3.11
UV_COMPILE = $(UV) pip compile pyproject.toml --quiet --generate-hashes $(LOCK_FOR) --custom-compile-command 'make lock' $(if $(UPGRADE),--upgrade)
.PHONY: lock
lock: $(LOCK_TOOLS_INSTALLED)
	$(UV_COMPILE) --extra notebook --extra test --extra browser --extra docs --extra lint -o requirements.txt
	$(UV_COMPILE) --extra notebook -c requirements.txt -o binder/requirements.txt
	PYTHONPATH=$(LOCK_TOOLS) $(PYTHON) tools/lock_platforms.py record

$(LOCK_TOOLS_INSTALLED):
	@$(CHECK_PYTHON)
	$(PYTHON) -m pip install -q --root-user-action=ignore --upgrade --target $(LOCK_TOOLS) uv==$(UV_VERSION) packaging==$(PACKAGING_VERSION) pip==$(PIP_VERSION)
	touch $@

# The docs site, offline, from README.md, docs/, the docstrings (the API reference) and the notebooks as
# stored (never executed): site/index.html.
.PHONY: docs
docs: $(VENV)/.installed
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet
	@echo "docs: $(CURDIR)/site/index.html"

# The flow explorer as an app, for people who explore the flow without reading Python: Voila serves
# app/explorer.ipynb on loopback, code cells hidden, each visit its own kernel and embedded sandbox.
PORT ?= 8866
.PHONY: explore
explore: $(VENV)/.installed
	@echo "explore: the flow explorer at http://127.0.0.1:$(PORT)/ (Ctrl-C stops it)"
	$(VENV)/bin/voila app/explorer.ipynb --no-browser --Voila.ip=127.0.0.1 --port=$(PORT) --Voila.port_retries=0

demo: $(VENV)/.installed
	$(PY) -m octopus_nb demo

# Three lines side by side (--output-sync: each one's output whole when it ends): the browser tests
# mostly wait on JupyterLab, Voila and Chromium, the notebooks on their kernels and the sandbox
# process, which leaves the cores to the unit tests.
test: lint
	@$(MAKE) --no-print-directory -j3 --output-sync=target test-browser test-unit test-all-notebooks

.PHONY: test-all-notebooks
test-all-notebooks:
	@$(MAKE) --no-print-directory test-notebooks
	@$(MAKE) --no-print-directory test-notebooks-second-process

# The inner loop: lint, types, and the unit tests less the slow ones (tests/conftest.py SLOW), in seconds.
check: lint
	$(PY) -m pytest -q $(PARALLEL) -m 'not slow and not browser'

# ruff (pyproject.toml [tool.ruff]) on the code and its tests, tools and bench; mypy on the package.
# mypy's cache lives in the venv, beside the packages it describes: a fresh clone with a warm .venv
# checks incrementally (files whose contents are unchanged are not checked again), 0.4 s not 10 s.
LINTED := octopus_nb tests tools bench
lint: $(VENV)/.installed
	$(VENV)/bin/ruff check $(LINTED)
	$(VENV)/bin/ruff format --check $(LINTED)
	$(VENV)/bin/mypy --cache-dir $(VENV)/mypy-cache

test-unit: $(VENV)/.installed
	$(PY) -m pytest -q $(PARALLEL)

test-notebooks: $(VENV)/.installed
	@if ls notebooks/*.ipynb >/dev/null 2>&1; then OCTOPUS_NB_TARGET=embedded $(PY) -m pytest -q $(PARALLEL) $(NBVAL) notebooks/; else echo "no notebooks yet"; fi

# Strict nbval against $OCTOPUS_NB_TARGET: sandbox (Checkout.com's, from CKO_*) or a base URL (with
# CKO_SECRET_KEY); unset means the embedded sandbox. One notebook after another: a server's clock,
# faults and webhook settings are shared by everyone who talks to it. NOTEBOOKS= picks some.
NOTEBOOKS ?= notebooks/
test-notebooks-live: $(VENV)/.installed
	@echo "notebooks against OCTOPUS_NB_TARGET=$${OCTOPUS_NB_TARGET:-embedded}"
	$(PY) -m pytest -q -p no:xdist $(NBVAL_LIVE) $(NOTEBOOKS)

# test-notebooks-live without an account at Checkout.com: every notebook against one
# `python -m octopus_nb.sandbox` process with another seed (8): side by side ($(JOBS) at once, one
# pytest run), each notebook in an account of its own (a key derived from its path, --account, which
# -p account_per_notebook hands its kernel); then all of them one after another in one account they
# share (--together: each notebook shows only what it made); the process always stopped afterwards
# (tools/second_process.py).
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
test-notebooks-second-process: $(VENV)/.installed
	$(PY) tools/second_process.py --jobs $(JOBS) --each notebooks/*.ipynb --together -- \
		$(PY) -m pytest -q -n {workers} --dist loadfile -p account_per_notebook $(NBVAL_LIVE) {paths}

# loadfile: each module whole on one worker, so JupyterLab's and Voila's servers can start side by side
test-browser: $(VENV)/.installed
	@command -v chromium >/dev/null || (export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && apt-get install -y -qq chromium chromium-driver)
	$(PY) -m pytest -q -m browser $(PARALLEL)

# Re-execute every notebook in place against the seeded embedded sandbox (after a deliberate change).
notebooks: $(VENV)/.installed
	$(PY) tools/execute_notebooks.py

bench: $(VENV)/.installed
	@command -v wrk >/dev/null || (export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && apt-get install -y -qq wrk)
	$(PY) -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
