"""For a remote Ray cluster, fleet ships itself as a wheel (runtime_env.py_modules): the wheel
holds every fleet module the workers import and no test server, and building it writes nothing
into the checkout."""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

import pytest

from fleet import executor

pytestmark = pytest.mark.slow


def test_the_wheel_carries_the_worker_code_and_leaves_the_checkout_alone(tmp_path: Path) -> None:
    root = executor.project_root()
    assert root is not None
    before = subprocess.run(
        ["git", "-C", str(root), "status", "--porcelain", "--ignored"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    try:
        wheel = executor.build_wheel(tmp_path)
    except Exception as exc:  # noqa: BLE001 - the isolated build needs the package index
        pytest.skip(f"cannot build a wheel here (the build backend comes from the package index): {exc}")
    names = set(zipfile.ZipFile(wheel).namelist())
    for module in (
        "fleet/reconcile/__init__.py",
        "fleet/reconcile/app_sync.py",
        "fleet/executor.py",
        "fleet/clusters/client.py",
        "fleet/secrets/resolver.py",
        "fleet/generators/__init__.py",
        "fleet/report/templates/report.html.j2",
    ):
        assert module in names, module
    assert not any("__pycache__" in n or n.startswith("secrets/") for n in names)
    # Test servers (the Vault API server and the other loopback fakes) stay with the tests.
    assert not [n for n in names if n.startswith(("tests/", "fleet/testing/")) or "vault_server" in n]
    after = subprocess.run(
        ["git", "-C", str(root), "status", "--porcelain", "--ignored"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert [line for line in after.splitlines() if "build" in line and line not in before.splitlines()] == []
