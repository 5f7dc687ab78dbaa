"""A run on Ray starts Ray (ray.init, its worker processes) in the background as soon as it knows it
needs Ray, while the driver generates and renders, instead of after (issue 15, item 1); and a run
that ends before its fan-out, on bad input (exit 2) or an interrupt (exit 130), stops the Ray it
started.

The render is held at the edge: the Helm chart repository (tests/fixtures/helmrepo.py) holds the
index request until the test releases it. Checks of Ray's processes read /proc: the children of
the process that ran the sync named like Ray's servers. A run in this process leaves nothing of
its start behind: no Ray, no start thread, and SIGTERM's handler as it found it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from fleet import driver, executor

pytestmark = pytest.mark.slow

FLEET = Path(sys.executable).parent / "fleet"
RAY_SERVERS = ("gcs_server", "raylet")
WAIT = 180.0  # seconds: Ray's start on a loaded 2-core machine takes up to tens of seconds


def wait_until(condition: Callable[[], bool], timeout: float = WAIT) -> bool:
    """Whether ``condition`` became true within ``timeout`` seconds (checked every 50 ms)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def ray_servers_of(parent: int) -> set[int]:
    """PIDs of Ray's server processes (GCS, raylet) whose parent is ``parent``."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        if ppid == parent and name in RAY_SERVERS:
            found.add(int(entry.name))
    return found


def start_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name == "fleet-executor-start"]


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture
def chart_fleet(make_fleet, helm_repo):
    fleet = make_fleet("helmrepo", clusters=2)
    appset = fleet.root / "appset.yaml"
    appset.write_text(appset.read_text().replace("HELM_REPO_URL", helm_repo.url))
    return fleet


def test_ray_comes_up_while_the_driver_is_still_rendering(chart_fleet, helm_repo) -> None:
    import ray

    helm_repo.hang(WAIT)
    seen: dict[str, bool] = {}
    sigterm = signal.getsignal(signal.SIGTERM)

    def hold_the_render_until_ray_is_up() -> None:
        seen["render reached the chart repository"] = helm_repo.wait_for_request(WAIT)
        seen["ray up while the render was held"] = wait_until(ray.is_initialized)
        helm_repo.release()

    holder = threading.Thread(target=hold_the_render_until_ray_is_up)
    holder.start()
    try:
        run = chart_fleet.sync(executor="ray")
    finally:
        helm_repo.release()
        holder.join()
    assert seen == {"render reached the chart repository": True, "ray up while the render was held": True}
    assert run.exit_code == 0, run.stderr
    assert run.run_result.executor == "ray"
    assert all(c.worker.startswith("ray:") for c in run.run_result.clusters)
    assert not ray.is_initialized()  # the run stopped the Ray it started
    assert ray_servers_of(os.getpid()) == set()
    assert start_threads() == []
    assert signal.getsignal(signal.SIGTERM) is sigterm


def test_a_run_refused_as_bad_input_stops_the_ray_it_started(make_fleet) -> None:
    import ray

    env = make_fleet("basic", clusters=1)
    for path in env.root.rglob("*.yaml"):
        path.unlink()  # a fleet that generates nothing: refused in phase 2 (generate), exit 2
    sigterm = signal.getsignal(signal.SIGTERM)
    run = env.run("--log-format", "json", "-v", "sync", *env.args(executor="ray"))
    assert run.exit_code == 2, run.stderr
    assert "holds no ApplicationSet and no Application" in run.stderr
    assert "starting the executor in the background" in run.stderr  # Ray was started, speculatively
    assert not ray.is_initialized()
    assert ray_servers_of(os.getpid()) == set()
    assert start_threads() == []
    assert signal.getsignal(signal.SIGTERM) is sigterm


def test_an_interrupt_while_rendering_exits_130_and_stops_ray(chart_fleet, helm_repo) -> None:
    helm_repo.hang(WAIT)
    environment = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    process = subprocess.Popen(
        [str(FLEET), "--log-format", "json", "sync", *chart_fleet.args(executor="ray")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
    )
    try:
        assert helm_repo.wait_for_request(WAIT), "the run never reached its render"
        assert wait_until(lambda: len(ray_servers_of(process.pid)) == len(RAY_SERVERS)), (
            "Ray was not started while the render was held"
        )
        servers = ray_servers_of(process.pid)
        # Ray came up while every request of the render was still held: no render had finished
        # (a run that started Ray only after rendering, as before issue 15, gets there only once
        # the chart repository answers).
        assert helm_repo.answered() == 0
        process.send_signal(signal.SIGINT)
        helm_repo.release()  # the render's threads end at once, and the process with them
        _out, err = process.communicate(timeout=WAIT)
    finally:
        helm_repo.release()
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 130, err[-2000:]
    assert wait_until(lambda: not any(alive(pid) for pid in servers)), "Ray outlived the interrupted run"
    assert chart_fleet.objects("c001", "charts") == []  # nothing was written


def test_ray_started_in_the_background_outlives_the_start_and_replaces_a_dead_worker() -> None:
    import ray

    # Ray's servers die with the thread that started them (Linux's parent-death signal): after the
    # start, a new worker process (what replacing a dead one takes) still needs the GCS.
    behave = "tests.executor_work:behave"
    start = executor.Starting(lambda: executor.RayExecutor(actors=1, slots=1, num_cpus=1), warm=behave)
    try:
        ex = start.get()
        servers = ray_servers_of(os.getpid())
        assert len(servers) == len(RAY_SERVERS)
        died = list(
            ex.run(behave, [executor.WorkUnit("doomed", {"name": "doomed", "action": "die"})], timeout=60)
        )
        assert [o.state for o in died] == [executor.UnitState.WORKER_DIED]
        after = list(ex.run(behave, [executor.WorkUnit("next", {"name": "next"})], timeout=60))
        assert [o.state for o in after] == [executor.UnitState.DONE], after
        assert all(alive(pid) for pid in servers)
    finally:
        start.close()
    # The executor was taken, and still ``close`` stopped it before its thread ended: a start
    # thread that ended with Ray initialized would kill the GCS under this process's Ray, which
    # then ends this whole process about a minute later.
    assert not ray.is_initialized()
    assert start_threads() == []
    assert wait_until(lambda: not any(alive(pid) for pid in servers))


CASES = [
    pytest.param("ray", None, None, True, id="ray-asked-starts-before-the-fleet-size-is-known"),
    pytest.param("auto", "10.0.0.1:6379", None, True, id="a-named-ray-cluster-starts-at-once"),
    pytest.param("auto", None, None, False, id="auto-waits-for-the-fleet-size"),
    pytest.param("auto", None, executor.AUTO_RAY_CLUSTERS - 1, False, id="a-small-fleet-never-starts-ray"),
    pytest.param("auto", None, executor.AUTO_RAY_CLUSTERS, True, id="a-large-fleet-starts-ray"),
    pytest.param("local", None, 1000, False, id="local-asked-never-starts-ray"),
]


@pytest.mark.parametrize("asked, address, clusters, expected", CASES)
def test_the_run_knows_it_needs_ray_from_its_flags_or_its_size(
    asked: str, address: str | None, clusters: int | None, expected: bool, monkeypatch
) -> None:
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    monkeypatch.setattr(executor, "usable_cpus", lambda: executor.AUTO_RAY_CPUS)  # a large machine
    request = driver.RunRequest(fleet=".", executor=asked, ray_address=address)
    assert driver.needs_ray(request, clusters) is expected
