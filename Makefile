# make test: set up a virtual environment with everything the suite needs, then the checks (lint,
# types, import contracts) and the whole suite.
# make demo: the same set-up, then the whole loop on simulated clusters.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: test check lint types contracts demo install bench clean

$(STAMP): pyproject.toml setup.py
	@# gpg (SOPS PGP keys) and kubectl (Kustomize, simulator interop) are the system tools fleet uses;
	@# curl is what the CI examples (examples/ci) post their previews with; the repository tests need
	@# docker-registry (the CNCF distribution registry, OCI charts) and sshd (git over SSH); the
	@# PostgreSQL server binaries (initdb, pg_ctl) are for the status store tests, which start their own server;
	@# chromium is the browser the web UI and HTML report tests drive (playwright with the system browser).
	command -v gpg >/dev/null 2>&1 || { apt-get update -q && apt-get install -y -q gnupg; }
	command -v curl >/dev/null 2>&1 || { apt-get update -q && apt-get install -y -q curl; }
	command -v docker-registry >/dev/null 2>&1 || { apt-get update -q && apt-get install -y -q docker-registry; }
	test -x /usr/sbin/sshd || { apt-get update -q && apt-get install -y -q openssh-server; }
	command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { apt-get update -q && apt-get install -y -q postgresql; }
	command -v chromium >/dev/null 2>&1 || { apt-get update -q && apt-get install -y -q chromium; }
	@# Prometheus: the rollout metric gate's tests start their own server (tests/servers/prometheus.py).
	command -v prometheus >/dev/null 2>&1 || { apt-get update -q && apt-get install -y -q prometheus; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	$(PY) -m pip check
	touch $(STAMP)

install: $(STAMP)

# Fast checks first: each takes seconds (mypy about 30 s cold), the suite minutes.
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

types: $(STAMP)
	$(VENV)/bin/mypy

contracts: $(STAMP)
	$(VENV)/bin/lint-imports

check: lint types contracts

# Two test processes (pytest-xdist): the suite mostly waits (simulated rollouts, Ray, subprocesses),
# so two share the two cores well. A file's tests stay together (module-scoped simulators start once).
test: check
	$(PY) -m pytest -n 2 --dist loadfile

demo: $(STAMP)
	$(VENV)/bin/fleet demo

# The benchmark suite (under 20 minutes on 2 cores): writes benchmarks/results/latest.md and .json.
bench: $(STAMP)
	$(PY) benchmarks/run_all.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache .import_linter_cache
