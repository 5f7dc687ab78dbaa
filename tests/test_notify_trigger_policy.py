"""The trigger policy (fleet.notify.decide, pure): `always` notifies every run; `change` (the
default) when the Applications' (sync, health, reason), the failed clusters or the generation
errors differ from the previous run of the same kind, or the run's ok flag flipped; `failure` only
when the run is not ok AND it differs from the previous run (or that one was ok)."""

from __future__ import annotations

import pytest

from fleet import notify
from tests import notify_helpers as h

W1 = ("c001", "web")
OK = {W1: "Synced/Healthy"}
BAD = {W1: "OutOfSync/Degraded"}
WORSE = {W1: "OutOfSync/Degraded/Timeout"}
PROGRESSING = {W1: "Synced/Progressing"}
NONE = None  # no previous run of this kind

CASES = [
    # policy, previous, current, notifies
    pytest.param("always", OK, OK, True, id="always-even-when-nothing-changed"),
    pytest.param("always", NONE, OK, True, id="always-first-run"),
    pytest.param("change", NONE, OK, True, id="change-first-run-notifies"),
    pytest.param("change", OK, OK, False, id="change-unchanged-ok-is-quiet"),
    pytest.param("change", BAD, BAD, False, id="change-unchanged-failing-is-quiet"),
    pytest.param("change", OK, BAD, True, id="change-ok-to-failing"),
    pytest.param("change", BAD, OK, True, id="change-failing-to-ok"),
    pytest.param("change", BAD, WORSE, True, id="change-failing-differently"),
    pytest.param("change", PROGRESSING, {W1: "Synced/Suspended"}, True, id="change-not-ok-to-ok-by-health"),
    pytest.param("failure", NONE, OK, False, id="failure-first-run-ok-is-quiet"),
    pytest.param("failure", NONE, BAD, True, id="failure-first-run-failing-notifies"),
    pytest.param("failure", OK, BAD, True, id="failure-previous-ok-now-failing"),
    pytest.param("failure", BAD, BAD, False, id="failure-still-failing-the-same-way-is-quiet"),
    pytest.param("failure", BAD, WORSE, True, id="failure-failing-differently"),
    pytest.param("failure", BAD, OK, False, id="failure-recovery-is-quiet"),
    pytest.param("failure", OK, OK, False, id="failure-ok-is-quiet"),
]


@pytest.mark.parametrize("policy, before, after, notifies", CASES)
def test_the_policy_decides_whether_a_run_notifies(policy, before, after, notifies) -> None:
    previous = h.run(before, run_id="r1") if before is not None else None
    current = h.run(after, run_id="r2")
    decision = notify.decide(policy, previous, current)
    assert decision.notify is notifies, decision.why
    assert decision.why


def test_an_ok_flag_flip_alone_notifies_on_change() -> None:
    # Same Applications, but a generation error makes the run not ok (and is itself a transition);
    # with the transitions left out, the flip alone still notifies.
    previous = h.run(OK, run_id="r1")
    current = h.run(OK, run_id="r2", errors=["appset web: bad generator"])
    decision = notify.decide("change", previous, current, changes=())
    assert decision.notify and "not ok (run r1 was ok)" in decision.why


def test_a_cluster_failing_notifies_on_change_and_on_failure() -> None:
    previous = h.run(OK, run_id="r1")
    current = h.run(OK, run_id="r2", failed={"c002": "ClusterUnreachable"})
    for policy in ("change", "failure"):
        assert notify.decide(policy, previous, current).notify


def test_the_reason_names_the_previous_run_and_the_changes() -> None:
    decision = notify.decide("change", h.run(OK, run_id="r1"), h.run(BAD, run_id="r2"))
    assert decision.why == "the run is not ok (run r1 was ok); 1 change since run r1"
    quiet = notify.decide("change", h.run(OK, run_id="r1"), h.run(OK, run_id="r2"))
    assert quiet.why == "nothing changed since run r1"


def test_an_unknown_policy_is_refused() -> None:
    with pytest.raises(ValueError):
        notify.decide("sometimes", None, h.run(OK))
