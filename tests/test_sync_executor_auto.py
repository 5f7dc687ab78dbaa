"""`--executor auto`, the CLI's default: Ray for a named Ray cluster, for long-running mode (no
fleet size given), and for 100 clusters and more on a machine of 4 CPUs or more; local threads for
a smaller one-shot run or a smaller machine, where Ray's start and services cost more than its
processes save (issue 15)."""

from __future__ import annotations

import pytest

from fleet import executor

CASES = [
    pytest.param("auto", None, 3, 8, "local", id="a-small-fleet-runs-on-local-threads"),
    pytest.param("auto", None, 99, 8, "local", id="just-under-the-threshold-is-local"),
    pytest.param("auto", None, executor.AUTO_RAY_CLUSTERS, 8, "ray", id="a-large-fleet-runs-on-ray"),
    pytest.param("auto", None, 1000, 2, "local", id="a-large-fleet-on-2-cpus-runs-on-local-threads"),
    pytest.param(
        "auto", None, 1000, executor.AUTO_RAY_CPUS, "ray", id="a-large-fleet-on-enough-cpus-runs-on-ray"
    ),
    pytest.param("auto", "10.0.0.1:6379", 3, 2, "ray", id="a-named-ray-cluster-is-always-used"),
    pytest.param("auto", None, None, 2, "ray", id="long-running-mode-pays-ray-start-once"),
    pytest.param("ray", None, 3, 2, "ray", id="ray-when-asked"),
    pytest.param("local", "10.0.0.1:6379", 500, 8, "local", id="local-when-asked"),
]


@pytest.mark.parametrize("asked, address, clusters, cpus, expected", CASES)
def test_auto_picks_the_executor_by_address_fleet_size_and_cpus(
    asked: str, address: str | None, clusters: int | None, cpus: int, expected: str, monkeypatch
) -> None:
    monkeypatch.setattr(executor, "usable_cpus", lambda: cpus)
    assert executor.executor_kind(asked, address=address, clusters=clusters) == expected


def test_the_cpus_counted_are_those_this_process_may_run_on() -> None:
    import os

    assert executor.usable_cpus() == len(os.sched_getaffinity(0)) >= 1


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
