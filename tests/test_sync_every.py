"""Long-running mode, `fleet sync --every`: runs again and again, each recorded in the status store
(with a metrics file and one log line per run), a commit pushed between runs is applied by the
next one, resolved secrets are cached across runs until `fleet secrets refresh`, the Ray actors
stay up across runs, and SIGTERM / SIGINT stop it cleanly (0 / 130)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import git
import pytest
import yaml

from fleet import driver, loop, results, store

FLEET_BIN = Path(sys.executable).with_name("fleet")


def test_two_runs_are_recorded_with_metrics_and_a_summary_line_each(make_fleet, tmp_path) -> None:
    env = make_fleet("basic", clusters=2)
    metrics = tmp_path / "textfile" / "fleet.prom"
    run = env.run(
        "--log-format",
        "json",
        "sync",
        *env.args("--every", "1s", "--runs", "2", "--metrics-file", str(metrics)),
    )
    assert run.exit_code == 0, run.stderr
    history = store.Store(env.state_dir).runs()
    assert len(history) == 2 and all(r.ok for r in history)
    assert history[0].summary()["changed"] == 0  # the second run found everything in sync
    assert run.stdout.count("sync OK:") == 2
    lines = [json.loads(line) for line in run.stderr.splitlines() if line.startswith("{")]
    finished = [line for line in lines if line.get("msg") == "sync run finished"]
    assert [line["iteration"] for line in finished] == [1, 2]
    assert finished[1]["synced_healthy"] == 2 and finished[1]["ok"] is True
    text = metrics.read_text()
    assert 'fleet_run_ok{kind="sync"' in text and "fleet_app_sync_status" in text
    assert not [p for p in metrics.parent.iterdir() if p.name != "fleet.prom"]  # no temporary left


BAD_FLAGS = [
    pytest.param(("--every", "0s"), "--every", id="zero-interval"),
    pytest.param(("--every", "soon"), "--every", id="not-a-duration"),
    pytest.param(("--runs", "2"), "--runs", id="runs-without-every"),
    pytest.param(("--every", "1s", "--secrets-ttl", "x"), "--secrets-ttl", id="bad-ttl"),
]


@pytest.mark.parametrize("flags, field", BAD_FLAGS)
def test_bad_loop_flags_are_bad_input(make_fleet, flags, field) -> None:
    env = make_fleet("basic", clusters=1)
    run = env.run("sync", *env.args(*flags))
    assert run.exit_code == 2 and field in run.stderr
    assert env.sim.request_counts("c001")["total"] == 0


def git_fleet(env) -> tuple[git.Repo, str]:
    """The basic fleet as a git repository whose ApplicationSet reads its sources from itself."""
    url = f"file://{env.root}"
    doc = yaml.safe_load((env.root / "appset.yaml").read_text())
    doc["spec"]["template"]["spec"]["source"]["repoURL"] = url
    env.write("appset.yaml", doc)
    repo = git.Repo.init(env.root, initial_branch="main")
    with repo.config_writer() as config:
        config.set_value("user", "name", "test").set_value("user", "email", "t@example.com")
        config.set_value("commit", "gpgsign", "false")
    repo.git.add("--all")
    repo.index.commit("first")
    return repo, url


def test_a_commit_pushed_between_runs_is_applied_by_the_next_run(make_fleet, tmp_path) -> None:
    env = make_fleet("basic", clusters=2)
    repo, url = git_fleet(env)
    request = driver.RunRequest(
        fleet=url,
        clusters=tuple(env.sim.clusters()),
        executor="local",
        state_dir=str(env.state_dir),
        git_cache=str(tmp_path / "git-cache"),
    )
    seen: list[results.RunResult] = []

    def push_between(run: results.RunResult, iteration: int) -> None:
        seen.append(run)
        if iteration == 1:
            path = env.root / "apps/web/configmap.yaml"
            path.write_text(path.read_text().replace("colour: blue", "colour: green"))
            repo.git.add("--all")
            repo.index.commit("green")

    outcome = loop.run_loop(request, every=1.0, runs=2, on_run=push_between)
    assert outcome.runs == 2 and outcome.exit_code == 0
    first, second = seen
    assert first.revision != second.revision == repo.head.commit.hexsha
    for cluster in env.cluster_names:
        config = env.sim.get_object(cluster, "v1", "ConfigMap", "web", "web-config")
        assert config["data"]["colour"] == "green"
    assert len(store.Store(env.state_dir).runs()) == 2


def test_secrets_stay_cached_across_runs_until_fleet_secrets_refresh(make_fleet, tmp_path) -> None:
    from fleet.secrets import resolver as resolver_mod

    env = make_fleet("basic", clusters=1)
    creds = tmp_path / "creds" / "creds.yaml"
    creds.parent.mkdir()
    creds.write_text("db:\n  password: first-Kq8v2\n")
    env.write(
        "apps/web/secret.yaml",
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "db"},
            "stringData": {"password": "ref+file://creds.yaml#/db/password"},
        },
    )
    resolver = resolver_mod.Resolver(["file"], ttl=300, base_dir=creds.parent)
    request = driver.RunRequest(
        fleet=str(env.root),
        clusters=tuple(env.sim.clusters()),
        executor="local",
        state_dir=str(env.state_dir),
        repo_map={"https://git.example.com/fleet.git": str(env.root)},
        resolver=resolver,
    )
    fetches: list[int] = []

    def rotate(run: results.RunResult, iteration: int) -> None:
        assert run.ok, [a.message for a in run.apps()]
        fetches.append(resolver.fetch_count)
        if iteration == 1:
            creds.write_text("db:\n  password: second-Zt4m9\n")  # rotated in the backend
        if iteration == 2:
            refreshed = env.run("secrets", "refresh", "--state-dir", str(env.state_dir))
            assert refreshed.exit_code == 0, refreshed.stderr

    outcome = loop.run_loop(request, every=0.5, runs=3, on_run=rotate)
    assert outcome.exit_code == 0
    assert fetches[1] == fetches[0]  # run 2: from the TTL cache (the rotation is not seen yet)
    assert fetches[2] == fetches[1] + 1  # run 3: refreshed, read again
    secret = env.sim.get_object("c001", "v1", "Secret", "web", "db")
    import base64

    assert base64.b64decode(secret["data"]["password"]).decode() == "second-Zt4m9"


def test_the_ray_actors_stay_up_across_runs(make_fleet) -> None:
    env = make_fleet("basic", clusters=2)
    request = driver.RunRequest(
        fleet=str(env.root),
        clusters=tuple(env.sim.clusters()),
        executor="ray",
        state_dir=str(env.state_dir),
        repo_map={"https://git.example.com/fleet.git": str(env.root)},
        concurrency=1,  # one cluster per actor at a time: both actors get work every run
    )
    workers: list[set[str]] = []
    outcome = loop.run_loop(
        request, every=0.5, runs=2, on_run=lambda run, _i: workers.append({c.worker for c in run.clusters})
    )
    assert outcome.exit_code == 0
    first, second = workers
    assert all(w.startswith("ray:") for w in first) and second <= first  # the same worker processes


def start_loop(env, tmp_path: Path) -> subprocess.Popen:
    log = open(tmp_path / "loop.log", "w")  # noqa: SIM115 - closed with the process below
    return subprocess.Popen(
        [str(FLEET_BIN), "sync", *env.args("--every", "1s")],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "FLEET_LOG_FORMAT": "json"},
    )


def wait_for_runs(env, proc: subprocess.Popen, count: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the loop ended by itself"
        db = env.state_dir / "status.db"
        if db.exists() and len(store.Store(env.state_dir).runs()) >= count:
            return
        time.sleep(0.2)
    raise AssertionError(f"fewer than {count} runs within {timeout}s")


@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 0), (signal.SIGINT, 130)], ids=["sigterm", "sigint"])
def test_a_signal_stops_the_loop_cleanly(make_fleet, tmp_path, sig, code) -> None:
    env = make_fleet("basic", clusters=1)
    proc = start_loop(env, tmp_path)
    try:
        wait_for_runs(env, proc, 1)
        proc.send_signal(sig)
        assert proc.wait(timeout=30) == code
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    output = (tmp_path / "loop.log").read_text()
    assert f"stopped by {sig.name}" in output
    assert all(r.finished_at for r in store.Store(env.state_dir).runs())  # every run recorded whole
