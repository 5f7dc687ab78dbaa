"""The generic webhook payload (schema fleet.notification/v1) is built from the RunResult alone:
run id, kind, ok, summary counts, the Applications needing attention, failed clusters, rollout
state, the transitions since the previous run and why it was sent; every string is masked, there
are no links, and no diffs unless --notify-include-diffs asks for them."""

from __future__ import annotations

import json

import pytest

from fleet import notify, redact, results
from fleet.status import SyncStatus
from tests import notify_helpers as h

SECRET = "pa55-Wq9z-notify"
DIFF = "-  colour: blue\n+  colour: green\n"


def broken_run(run_id: str = "r2") -> results.RunResult:
    deployment = results.ResourceResult(
        group="apps",
        version="v1",
        kind="Deployment",
        namespace="web",
        name="web",
        action=results.Action.CONFIGURED,
        status=SyncStatus.OUT_OF_SYNC,
        diff=DIFF + f"+  token: {SECRET}\n",
    )
    degraded = h.app(
        "c001", "web", "OutOfSync/Degraded", message=f"login with {SECRET} refused", resources=[deployment]
    )
    degraded = degraded.model_copy(
        update={
            "rollout": results.AppRollout(rollout="web", step=1, steps=2, state=results.RolloutState.FAILED),
        }
    )
    base = h.run([degraded, h.app("c002", "web")], run_id=run_id, failed={"c003": "ClusterUnreachable"})
    rollout = results.RolloutResult(
        name="web",
        strategy="RollingSync",
        stopped_at=1,
        message="step 1 failed",
        steps=(
            results.RolloutStep(step=1, selector="env=dev", applications=2, state=results.StepState.FAILED),
            results.RolloutStep(
                step=2, selector="env=prod", applications=1, state=results.StepState.NOT_STARTED
            ),
        ),
    )
    return base.model_copy(update={"rollouts": (rollout,), "notes": (f"note with {SECRET}",)})


@pytest.fixture
def payload() -> dict:
    redact.register(SECRET)
    previous = h.run(
        {("c001", "web"): "Synced/Healthy", ("c002", "web"): "Synced/Healthy"},
        run_id="r1",
        started_at="2025-01-01T00:00:00.000000Z",
    )
    note = notify.build(broken_run(), previous, on="change")
    return notify.webhook_payload(note)


def test_the_payload_names_the_run_and_its_counts(payload) -> None:
    assert payload["schema"] == "fleet.notification/v1"
    assert (payload["run_id"], payload["kind"], payload["ok"]) == ("r2", "sync", False)
    assert payload["revision"] == "0123456789abcdef0123"
    assert payload["previous"] == {"run_id": "r1", "ok": True, "finished_at": "2025-01-01T00:00:00.000000Z"}
    assert payload["trigger"]["policy"] == "change" and "since run r1" in payload["trigger"]["reason"]
    summary = payload["summary"]
    assert (summary["applications"], summary["degraded"], summary["clusters_failed"]) == (2, 1, 1)


def test_the_payload_lists_what_needs_attention_with_messages_masked(payload) -> None:
    (entry,) = payload["attention"]
    assert {k: entry[k] for k in ("cluster", "app", "sync", "health", "reason", "rollout")} == {
        "cluster": "c001",
        "app": "web",
        "sync": "OutOfSync",
        "health": "Degraded",
        "reason": "HealthCheckFailed",
        "rollout": "Failed",
    }
    assert entry["message"] == "login with *** refused"
    assert payload["failed_clusters"] == [
        {"cluster": "c003", "reason": "ClusterUnreachable", "message": "cluster c003: connection refused"}
    ]
    (rollout,) = payload["rollouts"]
    assert (rollout["name"], rollout["completed"], rollout["stopped_at"]) == ("web", False, 1)
    assert [s["state"] for s in rollout["steps"]] == ["Failed", "NotStarted"]
    assert payload["notes"] == ["note with ***"]


def test_the_payload_carries_the_transitions(payload) -> None:
    assert [(t["change"], t["cluster"], t["app"]) for t in payload["transitions"]] == [
        ("cluster-failed", "c003", ""),
        ("degraded", "c001", "web"),
    ]
    assert payload["transitions"][1]["before"]["health"] == "Healthy"


def test_the_payload_has_no_secret_no_diff_and_no_link(payload) -> None:
    text = json.dumps(payload)
    assert SECRET not in text
    assert "colour: green" not in text and "diffs" not in payload["attention"][0]
    assert "git.example.com" not in text and "http" not in text


def test_diffs_are_included_masked_only_when_asked() -> None:
    redact.register(SECRET)
    note = notify.build(broken_run(), None, on="always", include_diffs=True)
    payload = notify.webhook_payload(note)
    (diff,) = payload["attention"][0]["diffs"]
    assert diff["object"] == "apps/Deployment:web/web" and diff["action"] == "configured"
    assert "+  colour: green" in diff["diff"] and "token: ***" in diff["diff"]
    assert SECRET not in json.dumps(payload)


def test_long_lists_are_cut_and_say_how_much_was_left_out(monkeypatch) -> None:
    monkeypatch.setattr(notify, "MAX_LISTED", 2)
    current = h.run({("c001", f"app{i}"): "OutOfSync/Degraded" for i in range(5)}, run_id="r2")
    payload = notify.webhook_payload(notify.build(current, None))
    assert len(payload["attention"]) == 2 and len(payload["transitions"]) == 2
    assert payload["truncated"] == {"attention": 3, "transitions": 3}
