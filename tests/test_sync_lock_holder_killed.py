"""A ``fleet sync`` that holds the run lock and is killed with SIGKILL loses the lock when its
lease expires: ``fleet status`` and ``fleet report`` then show its run as interrupted (with its
host and pid), and a sync waiting with ``--lock-wait`` takes the clusters over, on both backends.
The holder's lease is short (``--lock-lease 2s``); the test waits for the store to read it as
expired, an event, not a fixed delay."""

from __future__ import annotations

import json
import os
import signal

import pytest
from typer.testing import CliRunner

from fleet import results, store
from fleet.cli import app
from tests import lock_helpers as lock

pytestmark = pytest.mark.slow


def test_a_killed_holder_loses_the_lock_when_its_lease_expires(make_fleet, store_url) -> None:
    env = make_fleet("gated", clusters=2, labels=lock.LABELS, store=store_url)
    holder = lock.sync(env, "--lock-lease", "2s")
    try:
        held = lock.holding(env, holder)
        os.kill(holder.pid, signal.SIGKILL)
        assert holder.proc.wait(30) == -signal.SIGKILL
    finally:
        holder.kill()

    def interrupted() -> bool:
        (record,) = [r for r in store.open(env.store).run_records() if r.run_id == held.run_id]
        return record.state is results.RunState.INTERRUPTED

    lock.wait_for("the killed holder's lease to expire", interrupted, timeout=60)
    runner = CliRunner()
    status = runner.invoke(app, ["status", *env.store_args(), "-o", "json"])
    assert status.exit_code == 1  # its clusters may hold changes no finished run has seen
    (shown,) = json.loads(status.stdout)["runs"]
    assert (shown["run_id"], shown["state"], shown["pid"]) == (held.run_id, "interrupted", holder.pid)
    assert "lease expired" in shown["message"] and shown["clusters"] == ["c001", "c002"]
    table = runner.invoke(app, ["status", *env.store_args()])
    assert f"run {held.run_id} (sync, started {held.started_at}" in table.stdout
    assert "was interrupted: its lease expired" in table.stdout

    lock.open_gate(env)
    code, stdout, stderr = lock.sync(env, "--lock-wait", "2m").finish()
    assert code == 0, stderr
    taker = results.RunResult.model_validate_json(stdout)
    assert f"run {held.run_id} of this fleet is recorded as interrupted" in stderr

    status = runner.invoke(app, ["status", *env.store_args(), "-o", "json"])
    assert status.exit_code == 0 and json.loads(status.stdout)["runs"] == []  # a finished run since
    report = runner.invoke(app, ["report", *env.store_args(), "--format", "json"])
    doc = json.loads(report.stdout)
    assert doc["run"]["run_id"] == taker.run_id
    states = {h["run_id"]: h["state"] for h in doc["history"]}
    assert states == {taker.run_id: "finished", held.run_id: "interrupted"}
    markdown = runner.invoke(app, ["report", *env.store_args(), "--format", "markdown"]).stdout
    assert f"`{held.run_id}` | sync" in markdown and "| interrupted |" in markdown
