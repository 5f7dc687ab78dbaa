"""`--executor auto`, the CLI's default: Ray for a named Ray cluster, for 100 clusters and more,
and for long-running mode (no fleet size given); local threads for a smaller one-shot run, where
Ray's start costs more than its processes save (issue 15)."""

from __future__ import annotations

import pytest

from fleet import executor

CASES = [
    pytest.param("auto", None, 3, "local", id="a-small-fleet-runs-on-local-threads"),
    pytest.param("auto", None, 99, "local", id="just-under-the-threshold-is-local"),
    pytest.param("auto", None, executor.AUTO_RAY_CLUSTERS, "ray", id="a-large-fleet-runs-on-ray"),
    pytest.param("auto", "10.0.0.1:6379", 3, "ray", id="a-named-ray-cluster-is-always-used"),
    pytest.param("auto", None, None, "ray", id="long-running-mode-pays-ray-start-once"),
    pytest.param("ray", None, 3, "ray", id="ray-when-asked"),
    pytest.param("local", "10.0.0.1:6379", 500, "local", id="local-when-asked"),
]


@pytest.mark.parametrize("asked, address, clusters, expected", CASES)
def test_auto_picks_the_executor_by_address_and_fleet_size(
    asked: str, address: str | None, clusters: int | None, expected: str
) -> None:
    assert executor.executor_kind(asked, address=address, clusters=clusters) == expected


def test_a_small_fleet_synced_with_the_default_executor_runs_on_local_threads(
    make_fleet, monkeypatch
) -> None:
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    env = make_fleet("basic", clusters=2)
    run = env.run(
        "--log-format",
        "json",
        "sync",
        *[a for a in env.args() if a not in ("--executor", "local")],
        "-o",
        "json",
    )
    assert run.exit_code == 0, run.stderr
    assert run.run_result is not None and run.run_result.executor == "local"


def test_the_default_executor_still_stops_at_an_unreachable_ray_address(make_fleet, monkeypatch) -> None:
    import socket

    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    monkeypatch.setenv("FLEET_RAY_CONNECT_TIMEOUT", "2")
    env = make_fleet("basic", clusters=1)
    args = [a for a in env.args() if a not in ("--executor", "local")]
    run = env.run("--log-format", "json", "sync", *args, "--ray-address", f"127.0.0.1:{port}")
    assert run.exit_code == 4, (run.stdout, run.stderr)
