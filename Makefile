# make test: set up a virtual environment with everything the suite needs, then run all of it.
# make demo: the same set-up, then the whole loop on simulated clusters.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: test demo install bench clean

$(STAMP): pyproject.toml setup.py
	@# gpg (SOPS PGP keys) and kubectl (Kustomize, simulator interop) are the only system tools.
	command -v gpg >/dev/null 2>&1 || { apt-get update -q && apt-get install -y -q gnupg; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	$(PY) -m pip check
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(PY) -m pytest

demo: $(STAMP)
	$(VENV)/bin/fleet demo

bench: $(STAMP)
	for b in benchmarks/bench_*.py; do $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
