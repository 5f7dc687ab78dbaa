"""`--ray-runtime-env wheel` (the default with --ray-address) ships this checkout's fleet to a real
two-node Ray cluster once per version of the code: the first run builds it (a wheel, unpacked,
kept under a digest of the sources) and every node unpacks it once; a second run of the same code
builds nothing and no node unpacks or installs anything again. The workers run the shipped code."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fleet import results

# A real multi-node Ray cluster: its start (once per session) and each driver are processes of
# their own; on a loaded machine that takes longer than the suite's default 300 s.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def shipped_packages(ray_cluster) -> dict[str, tuple[int, int]]:
    """Every package Ray unpacked for py_modules on any node: its path -> (inode, mtime in ns)."""
    found = {}
    for node in ray_cluster.nodes.values():
        for package in node.temp_dir.glob("session_latest/runtime_resources/py_modules_files/_ray_pkg_*"):
            if package.is_dir():
                stat = package.stat()
                found[str(package)] = (stat.st_ino, stat.st_mtime_ns)
    return found


def test_a_second_run_of_the_same_code_ships_nothing_new(
    make_fleet, ray_cluster, ray_fleet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLEET_CACHE_DIR", str(tmp_path / "cache"))  # nothing built yet
    env = make_fleet("basic", clusters=2)
    before = shipped_packages(ray_cluster)

    def sync():
        run = ray_fleet("sync", *env.args(executor="ray"), "--ray-address", ray_cluster.address, "-o", "json")
        code, stdout, stderr = run.finish(timeout=600)
        assert code == 0, stderr[-3000:]
        result = results.RunResult.model_validate_json(stdout)
        assert all(c.ok for c in result.clusters)
        return result, stderr

    first, stderr = sync()
    assert "shipping fleet to the Ray cluster (built now)" in stderr
    (built,) = (tmp_path / "cache" / "ray-modules").iterdir()
    assert (built / "fleet" / "reconcile" / "__init__.py").is_file() and not list(built.glob("*.dist-info"))
    unpacked = {path: ident for path, ident in shipped_packages(ray_cluster).items() if path not in before}
    assert {c.ray_node for c in first.clusters} <= {n.node_id for n in ray_cluster.nodes.values()}
    assert len(unpacked) == len(ray_cluster.nodes) == 2, unpacked  # one copy on each node (each has a worker)
    # The workers imported fleet from that copy (Ray puts py_modules first on their path).
    for path in unpacked:
        assert Path(path, "fleet", "executor_runtime_env.py").is_file()

    _, stderr = sync()
    assert "shipping fleet to the Ray cluster (cached: nothing rebuilt)" in stderr
    assert list((tmp_path / "cache" / "ray-modules").iterdir()) == [built]
    after = {path: ident for path, ident in shipped_packages(ray_cluster).items() if path not in before}
    assert after == unpacked  # the same copies, not unpacked again
    assert os.path.getmtime(built) <= min(ident[1] for ident in unpacked.values()) / 1e9
