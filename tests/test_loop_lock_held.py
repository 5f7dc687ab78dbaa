"""``fleet sync --every``: a run that finds the run lock held (another sync of the same clusters)
is logged and skipped, exit code 3 for that run, and the loop goes on to its next run; nothing
is read or changed meanwhile."""

from __future__ import annotations

import logging

from fleet import driver, loop, models, store
from fleet.driver import recording
from fleet.store import lease
from tests import store_helpers as h


def test_a_loop_run_that_finds_the_lock_held_is_skipped_with_exit_code_3(tmp_path, caplog) -> None:
    fleet_dir = tmp_path / "fleet"
    fleet_dir.mkdir()
    clusters = (models.Cluster(name="c001", server="https://127.0.0.1:9"),)  # never contacted
    request = driver.RunRequest(
        fleet=str(fleet_dir), clusters=clusters, executor="local", state_dir=str(tmp_path / "state")
    )
    db = store.open(state_dir=request.state_dir)
    holder = h.registration("other-run", ("c001",), fleet=recording.fleet_key(request))
    lease.acquire(db, holder, ttl=3600)

    with caplog.at_level(logging.WARNING, logger="fleet"):
        outcome = loop.run_loop(request, every=0.01, runs=2)
    assert (outcome.runs, outcome.exit_code, outcome.last) == (2, 3, None)
    skipped = [r for r in caplog.records if "failed before reaching any cluster" in r.getMessage()]
    assert len(skipped) == 2 and "run other-run (sync)" in str(skipped[0].__dict__.get("fields"))
    assert [r.run_id for r in db.run_records()] == ["other-run"]  # the loop's runs never registered
