# Two commands on a fresh machine (see README): `make demo` and `make test`.
# Both create .venv from the pinned requirements.txt first; nothing is installed globally
# except Debian's chromium for the browser tests (apt-get, needs root as on these machines).
VENV ?= .venv
PY := $(VENV)/bin/python
NBVAL := --nbval --nbval-current-env --nbval-sanitize-with notebooks/sanitize.cfg -p no:python
# pytest-xdist, one worker per core; loadfile keeps each test module, and each notebook, whole on one worker
PARALLEL := -n auto --dist loadfile

.PHONY: demo test test-unit test-notebooks test-browser notebooks bench clean

$(VENV)/.installed: requirements.txt pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt -e .
	touch $@

demo: $(VENV)/.installed
	$(PY) -m octopus_nb demo

test: test-unit test-notebooks test-browser

test-unit: $(VENV)/.installed
	$(PY) -m pytest -q $(PARALLEL)

test-notebooks: $(VENV)/.installed
	@if ls notebooks/*.ipynb >/dev/null 2>&1; then $(PY) -m pytest -q $(PARALLEL) $(NBVAL) notebooks/; else echo "no notebooks yet"; fi

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
