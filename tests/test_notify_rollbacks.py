"""Notifications say what automatic rollback did after a failed rollout step: the webhook payload
lists each rollback (cluster, Application, step, from and to revision, whether it worked), and the
Slack message adds one line per Application under the rollout that stopped, masked like the rest.
(The Markdown notification and the reports are checked end to end in test_sync_rollout_rollback.py.)"""

from __future__ import annotations

from fleet import notify, redact, results
from tests import notify_helpers as h

SECRET = "hunter2-rollback-7c1"
GOOD = "1111111111111111111111111111111111111111"
BAD = "2222222222222222222222222222222222222222"


def stopped_run() -> results.RunResult:
    base = h.run({("c001", "web"): "Synced/Healthy", ("c002", "web"): "OutOfSync/Degraded"})
    rollout = results.RolloutResult(
        name="web",
        strategy="RollingSync",
        steps=(
            results.RolloutStep(step=1, selector="env=dev", state=results.StepState.COMPLETED),
            results.RolloutStep(step=2, selector="env=staging", state=results.StepState.FAILED),
        ),
        stopped_at=2,
        message="step 2 failed; rolled back 1 of 2 Application(s)",
        rollbacks=(
            results.Rollback(cluster="c002", app="web", step=2, from_revision=BAD, to_revision=GOOD, ok=True),
            results.Rollback(
                cluster="c003", app="web", step=2, from_revision=BAD, message=f"no good revision ({SECRET})"
            ),
        ),
    )
    return base.model_copy(update={"rollouts": (rollout,)})


def test_the_webhook_payload_lists_each_rollback() -> None:
    payload = notify.webhook_payload(notify.build(stopped_run(), None))
    (rollout,) = payload["rollouts"]
    assert [(b["cluster"], b["from_revision"], b["to_revision"], b["ok"]) for b in rollout["rollbacks"]] == [
        ("c002", BAD, GOOD, True),
        ("c003", BAD, "", False),
    ]


def test_the_slack_message_names_what_was_rolled_back_and_masks_secrets() -> None:
    redact.register(SECRET)
    payload = notify.slack_payload(notify.build(stopped_run(), None))
    (section,) = [
        b for b in payload["blocks"] if b.get("text", {}).get("text", "").startswith("*Rollout web*")
    ]
    lines = section["text"]["text"].split("\n")
    assert lines[1].startswith("• stopped at step 2/2: step 2 failed; rolled back 1 of 2")
    assert lines[2] == f"• rolled back c002/web: {BAD[:12]} -&gt; {GOOD[:12]}"
    assert lines[3] == "• not rolled back c003/web: no good revision (***)"
    assert SECRET not in str(payload)
