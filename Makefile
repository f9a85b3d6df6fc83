# Two commands on a fresh machine (see README): `make demo` and `make test`.
# Both create .venv from the pinned requirements.txt first; nothing is installed globally
# except Debian's chromium for the browser tests (apt-get, needs root as on these machines).
VENV ?= .venv
PY := $(VENV)/bin/python
NBVAL := --nbval --nbval-current-env --nbval-sanitize-with notebooks/sanitize.cfg -p no:python
# the same, against any target: notebooks/sanitize-live.cfg masks what differs between servers and runs
NBVAL_LIVE := --nbval --nbval-current-env --nbval-sanitize-with notebooks/sanitize-live.cfg -p no:python
# pytest-xdist, one worker per core; loadfile keeps each test module, and each notebook, whole on one worker
PARALLEL := -n auto --dist loadfile

.PHONY: demo test test-unit test-notebooks test-browser notebooks bench clean
.PHONY: test-notebooks-live test-notebooks-second-process

# requirements.txt is the lock (every package, transitive ones too, == and hashes), compiled by
# `make lock` from pyproject.toml; the package itself goes in after it, editable, with no deps.
PIP_VERSION := 26.3
$(VENV)/.installed: requirements.txt pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q pip==$(PIP_VERSION)
	$(PY) -m pip install -q --require-hashes -r requirements.txt
	$(PY) -m pip install -q --no-deps -e .
	touch $@

# Re-lock after changing a range or a group in pyproject.toml: pins already in the locks are kept
# (uv prefers them), new ones are resolved. `make lock UPGRADE=1` moves every pin to the newest
# allowed (then re-execute the notebooks: their stored outputs follow the versions).
# binder/requirements.txt: the toolkit and the notebook group only, at the same versions.
UV_VERSION := 0.13.9
UV := $(VENV)/uv-$(UV_VERSION)/bin/uv
LOCK_FOR := --python-version 3.11.7 --python-platform x86_64-unknown-linux-gnu
UV_COMPILE = $(UV) pip compile pyproject.toml --quiet --generate-hashes $(LOCK_FOR) --custom-compile-command 'make lock' $(if $(UPGRADE),--upgrade)
.PHONY: lock
lock: $(UV)
	$(UV_COMPILE) --extra notebook --extra test --extra browser --extra docs -o requirements.txt
	$(UV_COMPILE) --extra notebook -c requirements.txt -o binder/requirements.txt

$(UV):
	python3 -m pip install -q --root-user-action=ignore --target $(VENV)/uv-$(UV_VERSION) uv==$(UV_VERSION)

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

test: test-unit test-notebooks test-notebooks-second-process test-browser

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

# test-notebooks-live without an account: each notebook against its own `python -m octopus_nb.sandbox`
# process with another seed (8) and a random key, always stopped afterwards (tools/second_process.py).
test-notebooks-second-process: $(VENV)/.installed
	$(PY) tools/second_process.py --each notebooks/*.ipynb -- $(MAKE) --no-print-directory test-notebooks-live NOTEBOOKS={path}

test-browser: $(VENV)/.installed
	@command -v chromium >/dev/null || (export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && apt-get install -y -qq chromium chromium-driver)
	$(PY) -m pytest -q -m browser

# Re-execute every notebook in place against the seeded embedded sandbox (after a deliberate change).
notebooks: $(VENV)/.installed
	$(PY) tools/execute_notebooks.py

bench: $(VENV)/.installed
	@command -v wrk >/dev/null || (export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && apt-get install -y -qq wrk)
	$(PY) -m bench

clean:
	rm -rf $(VENV) .pytest_cache
