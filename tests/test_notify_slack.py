"""The Slack-compatible payload: a `text` line for the notification itself and compact `blocks`
(a header, the counts, what changed, what needs attention, failed clusters, a context line), within
Slack's limits, with Slack's control characters escaped, secrets masked, and no diffs unless asked."""

from __future__ import annotations

import json

from fleet import notify, redact, results
from fleet.status import SyncStatus
from tests import notify_helpers as h

SECRET = "xoxb-Slack-9f8e7d"


def current_run() -> results.RunResult:
    diff = results.ResourceResult(
        kind="ConfigMap",
        namespace="web",
        name="cfg",
        action=results.Action.CONFIGURED,
        status=SyncStatus.OUT_OF_SYNC,
        diff="-  a: 1\n+  a: <2>\n",
    )
    apps = [
        h.app(
            "c001", "web", "OutOfSync/Degraded", message=f"<!channel> & {SECRET} refused", resources=[diff]
        ),
        h.app("c002", "web"),
    ]
    return h.run(apps, run_id="r2", failed={"c003": "ClusterUnreachable"})


def previous_run() -> results.RunResult:
    return h.run({("c001", "web"): "Synced/Healthy", ("c002", "web"): "Synced/Healthy"}, run_id="r1")


def test_the_slack_payload_is_text_plus_compact_blocks() -> None:
    redact.register(SECRET)
    payload = notify.slack_payload(notify.build(current_run(), previous_run()))
    assert set(payload) == {"text", "blocks"}
    assert payload["text"] == (
        "fleet sync attention needed: 1/2 Applications Synced and Healthy, 1 OutOfSync, 1 Degraded, "
        "1/3 clusters failed; 2 changes since the previous run"
    )
    types = [b["type"] for b in payload["blocks"]]
    assert types == ["header", "section", "section", "section", "section", "context"]
    header, counts, changes, attention, failed, context = payload["blocks"]
    assert header["text"] == {"type": "plain_text", "text": "fleet sync: attention needed"}
    assert [f["text"].split("\n")[0] for f in counts["fields"]] == [
        "*Applications*",
        "*OutOfSync / Degraded*",
        "*Clusters failed*",
        "*Revision*",
    ]
    assert changes["text"]["text"].startswith("*Changes since the previous run*\n• cluster c003 failed")
    assert (
        "• c001/web: degraded: Synced/Healthy (Succeeded) -&gt; OutOfSync/Degraded" in changes["text"]["text"]
    )
    assert attention["text"]["text"].startswith("*Need attention*\n• c001/web: OutOfSync/Degraded")
    assert "&lt;!channel&gt; &amp; *** refused" in attention["text"]["text"]
    assert failed["text"]["text"].startswith("*Clusters that failed*\n• c003: ClusterUnreachable")
    assert context["elements"][0]["text"].startswith("run r2 · ")


def test_the_slack_payload_has_no_secret_and_no_diff_unless_asked() -> None:
    redact.register(SECRET)
    plain = json.dumps(notify.slack_payload(notify.build(current_run(), previous_run())))
    assert SECRET not in plain and "a: &lt;2&gt;" not in plain and "<!channel>" not in plain
    with_diffs = notify.slack_payload(notify.build(current_run(), previous_run(), include_diffs=True))
    diff_blocks = [b for b in with_diffs["blocks"] if "```" in b.get("text", {}).get("text", "")]
    (block,) = diff_blocks
    assert "ConfigMap:web/cfg" in block["text"]["text"] and "+  a: &lt;2&gt;" in block["text"]["text"]


def test_long_lists_stay_within_slack_limits() -> None:
    many = h.run({("c001", f"app-{i:03d}"): "OutOfSync/Degraded" for i in range(300)}, run_id="r2")
    payload = notify.slack_payload(notify.build(many, None))
    assert len(payload["blocks"]) <= 50
    for block in payload["blocks"]:
        if block["type"] == "section" and "text" in block:
            assert len(block["text"]["text"]) <= 3000
    attention = next(
        b for b in payload["blocks"] if b.get("text", {}).get("text", "").startswith("*Need attention*")
    )
    assert attention["text"]["text"].endswith(f"…and {300 - notify.SLACK_LINES} more")


def test_a_slack_target_posts_the_slack_payload(webhook_server, tmp_path) -> None:
    settings = notify.NotifySettings(
        slack=(webhook_server.url("/services/T1/B2/x"),), on=notify.NotifyOn.ALWAYS
    )
    outcome = notify.after_run(current_run(), settings, state_dir=tmp_path)
    (delivery,) = outcome.deliveries
    assert delivery.ok and delivery.target is notify.TargetKind.SLACK
    (body,) = webhook_server.bodies()
    assert set(body) == {"text", "blocks"} and body["text"].startswith("fleet sync attention needed")


def test_a_stopped_rollout_gets_its_own_line() -> None:
    rollout = results.RolloutResult(
        name="web",
        strategy="RollingSync",
        stopped_at=1,
        message="c001/web is Degraded",
        steps=(
            results.RolloutStep(step=1, selector="env=dev", state=results.StepState.FAILED),
            results.RolloutStep(step=2, selector="env=prod", state=results.StepState.NOT_STARTED),
        ),
    )
    stopped = current_run().model_copy(update={"rollouts": (rollout,)})
    blocks = notify.slack_payload(notify.build(stopped, None))["blocks"]
    texts = [b["text"]["text"] for b in blocks if b["type"] == "section" and "text" in b]
    assert "*Rollout web*\n• stopped at step 1/2: c001/web is Degraded" in texts
