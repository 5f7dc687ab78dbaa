"""Per-cluster isolation: a cluster that is unreachable, hangs, refuses fleet's credentials or
keeps throttling is reported with its reason while every other cluster syncs."""

from __future__ import annotations

import pytest

from fleet.status import Reason, SyncStatus

CASES = [
    pytest.param({"unreachable": True}, Reason.CLUSTER_UNREACHABLE, "unreachable", id="unreachable"),
    pytest.param({"throttle_rate": 1.0}, Reason.CLUSTER_UNREACHABLE, "429", id="throttling-forever"),
    pytest.param({"error_rate": 1.0}, Reason.CLUSTER_UNREACHABLE, "50", id="always-5xx"),
]


@pytest.mark.parametrize("fault, reason, says", CASES)
def test_a_failing_cluster_is_reported_while_the_others_sync(
    make_fleet, fault: dict, reason: Reason, says: str
) -> None:
    env = make_fleet("basic", clusters=3)
    env.sim.set_fault("c002", **fault)
    run = env.sync()
    assert run.exit_code == 1
    broken = run.cluster("c002")
    assert broken.reason is reason and says in broken.message
    (app,) = broken.apps
    assert (app.sync_status, app.reason) == (SyncStatus.UNKNOWN, reason)
    for name in ("c001", "c003"):
        assert run.cluster(name).ok
        assert env.names(name, "web", "Deployment") == ["web"]


def test_a_cluster_that_refuses_the_credentials_is_permission_denied(make_fleet, tmp_path) -> None:
    env = make_fleet("basic", clusters=2)
    text = env.clusters_file.read_text().replace(env.sim.token_for("c001"), "not-the-token")
    env.clusters_file.write_text(text)
    run = env.sync()
    assert run.exit_code == 1
    assert run.cluster("c001").reason is Reason.PERMISSION_DENIED
    assert run.cluster("c002").ok


# The per-cluster deadline also bounds the healthy clusters' apply and health wait: it must leave
# them room on a loaded CI machine (3 s did not: a healthy cluster ended Progressing).
HANG_TIMEOUT = 10


def test_a_hanging_cluster_times_out_and_the_others_finish(make_fleet) -> None:
    env = make_fleet("basic", clusters=3)
    env.sim.set_fault("c003", hang=True)
    run = env.sync("--cluster-timeout", str(HANG_TIMEOUT))
    assert run.exit_code == 1
    hung = run.cluster("c003")
    assert hung.reason is Reason.TIMEOUT and f"no result within {HANG_TIMEOUT}s" in hung.message
    assert run.cluster("c001").ok and run.cluster("c002").ok


def test_the_summary_and_stderr_name_the_failed_cluster(make_fleet) -> None:
    env = make_fleet("basic", clusters=2)
    env.sim.set_fault("c001", unreachable=True)
    run = env.sync(output="table")
    assert run.exit_code == 1
    assert "2 clusters (1 failed)" in run.stdout
    assert "error: cluster c001: ClusterUnreachable" in run.stderr
