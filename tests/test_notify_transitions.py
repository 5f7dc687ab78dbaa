"""The transitions between two runs (fleet.notify.transitions, a pure function): what became
OutOfSync or Degraded, what is Synced and Healthy again, which clusters failed or recovered, which
generation errors appeared or were fixed; worst first. Messages alone are not a change."""

from __future__ import annotations

import pytest

from fleet import notify, results
from tests import notify_helpers as h

W1, W2, A1 = ("c001", "web"), ("c002", "web"), ("c001", "api")

CASES = [
    pytest.param({W1: "Synced/Healthy"}, {W1: "Synced/Healthy"}, {}, [], id="unchanged-is-nothing"),
    pytest.param(
        {W1: "Synced/Healthy"}, {W1: "OutOfSync/Healthy"}, {}, [("out-of-sync", *W1)], id="became-out-of-sync"
    ),
    pytest.param(
        {W1: "Synced/Healthy"}, {W1: "OutOfSync/Degraded"}, {}, [("degraded", *W1)], id="became-degraded"
    ),
    pytest.param(
        {W1: "OutOfSync/Healthy"},
        {W1: "OutOfSync/Degraded"},
        {},
        [("degraded", *W1)],
        id="out-of-sync-then-degraded-is-degraded",
    ),
    pytest.param(
        {W1: "OutOfSync/Degraded"}, {W1: "Synced/Healthy"}, {}, [("recovered", *W1)], id="healthy-again"
    ),
    pytest.param(
        {W1: "Synced/Progressing"},
        {W1: "Synced/Healthy"},
        {},
        [("recovered", *W1)],
        id="progressing-then-healthy-is-recovered",
    ),
    pytest.param(
        {W1: "Synced/Healthy"}, {W1: "Synced/Progressing"}, {}, [("changed", *W1)], id="became-progressing"
    ),
    pytest.param(
        {W1: "OutOfSync/Degraded/HealthCheckFailed"},
        {W1: "OutOfSync/Degraded/Timeout"},
        {},
        [("changed", *W1)],
        id="a-new-reason-is-a-change",
    ),
    pytest.param(
        {W1: "Synced/Healthy"},
        {W1: "Synced/Healthy", W2: "Synced/Healthy"},
        {},
        [("added", *W2)],
        id="a-new-healthy-app-is-added",
    ),
    pytest.param(
        {W1: "Synced/Healthy"},
        {W1: "Synced/Healthy", W2: "OutOfSync/Degraded"},
        {},
        [("degraded", *W2)],
        id="a-new-degraded-app-is-degraded",
    ),
    pytest.param(
        {W1: "Synced/Healthy", A1: "Synced/Healthy"},
        {W1: "Synced/Healthy"},
        {},
        [("gone", *A1)],
        id="an-app-no-longer-in-the-run-is-gone",
    ),
    pytest.param(
        {W1: "Synced/Healthy", W2: "Synced/Healthy"},
        {W1: "OutOfSync/Healthy", W2: "Unknown/Unknown/ClusterUnreachable"},
        {"current_failed": {"c002": "ClusterUnreachable"}},
        [("cluster-failed", "c002", ""), ("out-of-sync", *W1), ("changed", *W2)],
        id="a-failed-cluster-comes-first-worst-first-order",
    ),
    pytest.param(
        {W2: "Unknown/Unknown/ClusterUnreachable"},
        {W2: "Synced/Healthy"},
        {"previous_failed": {"c002": "ClusterUnreachable"}},
        [("cluster-recovered", "c002", ""), ("recovered", *W2)],
        id="a-cluster-recovers",
    ),
    pytest.param(
        {W2: "Unknown/Unknown/ClusterUnreachable"},
        {W2: "Unknown/Unknown/Timeout"},
        {"previous_failed": {"c002": "ClusterUnreachable"}, "current_failed": {"c002": "Timeout"}},
        [("cluster-failed", "c002", ""), ("changed", *W2)],
        id="a-cluster-failing-for-another-reason",
    ),
    pytest.param(
        {W2: "Unknown/Unknown/ClusterUnreachable"},
        {W2: "Unknown/Unknown/ClusterUnreachable"},
        {"previous_failed": {"c002": "ClusterUnreachable"}, "current_failed": {"c002": "ClusterUnreachable"}},
        [],
        id="a-cluster-still-failing-the-same-way-is-nothing",
    ),
    pytest.param(
        {W1: "Synced/Healthy"},
        {W1: "Synced/Healthy"},
        {"current_errors": ["appset web: list: bad"]},
        [("generation-error", "", "")],
        id="a-generation-error-appears",
    ),
    pytest.param(
        {W1: "Synced/Healthy"},
        {W1: "Synced/Healthy"},
        {"previous_errors": ["appset web: list: bad"]},
        [("generation-error-fixed", "", "")],
        id="a-generation-error-is-fixed",
    ),
]


@pytest.mark.parametrize("before, after, extra, expected", CASES)
def test_transitions_say_what_changed_between_two_runs(before, after, extra, expected) -> None:
    previous = h.run(
        before, run_id="r1", failed=extra.get("previous_failed"), errors=extra.get("previous_errors", ())
    )
    current = h.run(
        after, run_id="r2", failed=extra.get("current_failed"), errors=extra.get("current_errors", ())
    )
    found = notify.transitions(previous, current)
    assert [(t.change.value, t.cluster, t.app) for t in found] == expected


def test_without_a_previous_run_everything_is_new() -> None:
    current = h.run(
        {W1: "Synced/Healthy", W2: "OutOfSync/Degraded", A1: "OutOfSync/Healthy"},
        failed={"c003": "ClusterUnreachable"},
        errors=["appset api: bad"],
    )
    found = notify.transitions(None, current)
    assert [(t.change.value, t.cluster, t.app) for t in found] == [
        ("generation-error", "", ""),
        ("cluster-failed", "c003", ""),
        ("degraded", *W2),
        ("out-of-sync", *A1),
        ("added", *W1),
    ]
    assert found[1].reason == "ClusterUnreachable" and "connection refused" in found[1].message


def test_a_changed_message_alone_is_not_a_transition() -> None:
    previous = h.run([h.app("c001", "web", "OutOfSync/Degraded", message="waited 20.1s")], run_id="r1")
    current = h.run([h.app("c001", "web", "OutOfSync/Degraded", message="waited 20.4s")], run_id="r2")
    assert notify.transitions(previous, current) == ()


def test_an_application_deleted_because_it_left_git_is_deleted_then_gone() -> None:
    first = h.run({W1: "Synced/Healthy"}, run_id="r1")
    deleting = h.run([h.app("c001", "web", "Synced/Healthy", deletion=results.Deletion.DELETED)], run_id="r2")
    (deleted,) = notify.transitions(first, deleting)
    assert deleted.change is notify.Change.DELETED and deleted.after.deletion is results.Deletion.DELETED
    (gone,) = notify.transitions(deleting, h.run({}, run_id="r3"))
    assert (gone.change, gone.before, gone.after) == (
        notify.Change.GONE,
        notify.app_states(deleting)[W1],
        None,
    )


def test_a_transition_reads_as_one_line_and_as_json() -> None:
    previous = h.run({W1: "Synced/Healthy"}, run_id="r1")
    current = h.run(
        [h.app("c001", "web", "OutOfSync/Degraded", message="Deployment web/web: progress deadline")],
        run_id="r2",
    )
    (found,) = notify.transitions(previous, current)
    assert found.describe() == (
        "c001/web: degraded: Synced/Healthy (Succeeded) -> OutOfSync/Degraded (HealthCheckFailed)"
    )
    assert found.to_json() == {
        "change": "degraded",
        "cluster": "c001",
        "app": "web",
        "before": {"sync": "Synced", "health": "Healthy", "reason": "Succeeded", "deletion": None},
        "after": {"sync": "OutOfSync", "health": "Degraded", "reason": "HealthCheckFailed", "deletion": None},
        "reason": "",
        "message": "Deployment web/web: progress deadline",
    }
