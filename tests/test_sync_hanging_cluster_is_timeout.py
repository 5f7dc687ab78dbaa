"""A cluster that takes requests and never answers is reported as Timeout, whichever comes first:
the per-request timeout (--request-timeout) or the cluster's own (--cluster-timeout). One that
cannot be reached at all stays ClusterUnreachable (issue 8, item 10: with --cluster-timeout
longer than a request's timeout, a hanging cluster was reported ClusterUnreachable)."""

from __future__ import annotations

import pytest

from fleet.status import Reason, SyncStatus

# Both timeouts also bound the healthy cluster (c001), which must finish on a loaded CI machine: a
# cluster timeout of 3 s once left a healthy cluster Progressing there.
CASES = [
    pytest.param(
        {"hang": True},
        ("--cluster-timeout", "60", "--request-timeout", "3"),
        Reason.TIMEOUT,
        "did not answer",
        id="hang-past-the-request-timeout",
    ),
    pytest.param(
        {"hang": True},
        ("--cluster-timeout", "10", "--request-timeout", "30"),
        Reason.TIMEOUT,
        "no result within 10s",
        id="hang-past-the-cluster-timeout",
    ),
    pytest.param(
        {"unreachable": True},
        ("--cluster-timeout", "60", "--request-timeout", "3"),
        Reason.CLUSTER_UNREACHABLE,
        "unreachable",
        id="unreachable",
    ),
]


@pytest.mark.parametrize("fault, flags, reason, says", CASES)
def test_a_cluster_that_does_not_answer_is_timeout_and_one_out_of_reach_unreachable(
    make_fleet, fault, flags, reason, says
) -> None:
    env = make_fleet("basic", clusters=2)
    env.sim.set_fault("c002", **fault)
    run = env.sync(*flags)
    assert run.exit_code == 1
    broken = run.cluster("c002")
    assert broken.reason is reason and says in broken.message, broken.message
    (app,) = broken.apps
    assert (app.sync_status, app.reason) == (SyncStatus.UNKNOWN, reason)
    assert run.cluster("c001").ok
