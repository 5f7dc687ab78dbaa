"""Shared fixtures. Fakes sit at the edges (the simulator, test servers), never over our own code."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest_plugins = [
    "tests.fixtures.sim",
    "tests.fixtures.git",
    "tests.fixtures.appset",
    "tests.fixtures.vault",
    "tests.fixtures.aws",
    "tests.fixtures.sealed",
    "tests.fixtures.kubefake",
    "tests.fixtures.sops",
    "tests.fixtures.sync",
    "tests.fixtures.notify",
    "tests.fixtures.helmrepo",
    "tests.fixtures.plugin",
    "tests.fixtures.oci_registry",
    "tests.fixtures.git_servers",
    "tests.fixtures.postgres",
    "tests.fixtures.web",
    "tests.fixtures.ray_cluster",
]

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("FLEET_SHARED_DIR", REPO_ROOT.parent / "shared"))
VECTORS = SHARED / "vectors"


@pytest.fixture(scope="session", autouse=True)
def _private_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Git mirrors and chart downloads of this test process live in its own temporary directory,
    never in ~/.cache/fleet: parallel test processes (pytest-xdist) and other checkouts on the
    machine must not share them. Tests that need a cache of their own still set FLEET_CACHE_DIR."""
    os.environ.setdefault("FLEET_CACHE_DIR", str(tmp_path_factory.mktemp("fleet-cache")))


@pytest.fixture(autouse=True)
def _isolated_secret_mask():
    """Each test's registrations with fleet.redact end with it.

    The mask is process-wide by design (anything that ever held a secret must mask it). In a test
    session that would let one test's secret ("hello" from a SOPS vector) mask another test's
    ordinary output, so restore the registry after every test. Registrations made by wider-scoped
    fixtures happen before this snapshot and survive.
    """
    from fleet import redact

    saved = redact.snapshot()
    yield
    redact.restore(saved)


@pytest.fixture
def vectors_dir() -> Path:
    """The shared interop vectors; tests that need them skip, saying why, where they are absent."""
    if not VECTORS.is_dir():
        pytest.skip(f"interop vectors not found at {VECTORS} (set FLEET_SHARED_DIR to the shared/ folder)")
    return VECTORS
