"""The layout promise: four top-level folders, one import root, and no shadowed stdlib."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO_ROOT


def test_import_secrets_from_repository_root_gives_the_standard_library() -> None:
    out = subprocess.run(
        [sys.executable, "-c", "import secrets; print(secrets.__file__); print(secrets.token_hex(4))"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert not out[0].startswith(str(REPO_ROOT)), out[0]
    assert out[0].endswith("secrets.py")
    assert len(out[1]) == 8


def test_top_level_folders_install_under_the_fleet_import_root() -> None:
    code = (
        "import fleet.generators, fleet.clusters, fleet.secrets, fleet.clusters.argocd;"
        "print(fleet.generators.__path__[0]); print(list(fleet.secrets.__path__)[0])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd="/", capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert out[0].endswith("generators")
    assert out[1].endswith("secrets")
