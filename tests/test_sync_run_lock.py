"""Two ``fleet sync`` processes on one fleet, with the run lock in the status store, on both
backends: a second sync of the same clusters exits 3 naming the holder, or with ``--lock-wait``
waits and runs once the holder is recorded; ``fleet diff`` takes no lock; syncs on disjoint
clusters run side by side. The holder is held on a closed gate (``tests/lock_helpers.py``)."""

from __future__ import annotations

import json
import socket

import pytest

from fleet import results, store
from tests import lock_helpers as lock

pytestmark = pytest.mark.slow


@pytest.fixture
def gated(make_fleet, store_url):
    return make_fleet("gated", clusters=2, labels=lock.LABELS, store=store_url)


def test_a_second_sync_of_the_same_clusters_exits_3_naming_the_holder_or_waits_for_it(gated) -> None:
    env = gated
    first = lock.sync(env)
    try:
        holder = lock.holding(env, first)

        code, stdout, stderr = lock.sync(env).finish()
        assert code == 3, stderr
        assert stdout == ""
        error = next(line for line in stderr.splitlines() if line.startswith("error: the run lock of fleet"))
        for needle in (
            f"run {holder.run_id} (sync)",
            f"host {socket.gethostname()}",
            f"pid {first.pid}",
            f"running since {holder.started_at}",
            "c001, c002",
            "--lock-wait",
        ):
            assert needle in error, (needle, stderr)

        diff_code, _, diff_err = lock.FleetProcess("diff", *env.args()).finish()
        assert diff_code in (0, 1), diff_err  # compares, whatever the sync is doing; never locked out

        waiting = lock.sync(env, "--lock-wait", "5m")
        waiting.wait_for_line(f"waiting up to 300s for the run lock held by run {holder.run_id}")
        assert waiting.running()
        lock.open_gate(env)
        assert first.finish()[0] == 0, first.stderr
        code, stdout, stderr = waiting.finish()
        assert code == 0, stderr
        second = results.RunResult.model_validate_json(stdout)
    finally:
        first.kill()

    runs = {r.run_id: r for r in store.open(env.store).run_records()}
    assert runs[holder.run_id].state is results.RunState.FINISHED
    assert runs[second.run_id].state is results.RunState.FINISHED
    assert runs[second.run_id].started_at >= runs[holder.run_id].finished_at  # one after the other
    assert sum(1 for r in runs.values() if r.kind is results.RunKind.SYNC) == 2  # the refused one left none


def test_syncs_on_disjoint_clusters_run_side_by_side(gated) -> None:
    env = gated
    first = lock.sync(env, "--selector", "name=c001")
    try:
        lock.holding(env, first)
        code, stdout, stderr = lock.sync(env, "--selector", "name=c002").finish()
        assert code == 0, stderr
        assert {a.cluster for a in results.RunResult.model_validate_json(stdout).apps()} == {"c002"}
        assert first.running()  # still holding c001 all along
        lock.open_gate(env)
        assert first.finish()[0] == 0, first.stderr
    finally:
        first.kill()
    status = lock.FleetProcess("status", *env.store_args(), "-o", "json")
    code, stdout, _ = status.finish()
    assert code == 0
    assert {a["cluster"] for a in json.loads(stdout)["applications"]} == {"c001", "c002"}
