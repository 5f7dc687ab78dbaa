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
]

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("FLEET_SHARED_DIR", REPO_ROOT.parent / "shared"))
VECTORS = SHARED / "vectors"


@pytest.fixture
def vectors_dir() -> Path:
    """The shared interop vectors; tests that need them skip, saying why, where they are absent."""
    if not VECTORS.is_dir():
        pytest.skip(f"interop vectors not found at {VECTORS} (set FLEET_SHARED_DIR to the shared/ folder)")
    return VECTORS
