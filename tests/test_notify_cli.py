"""End to end on the simulator through the CLI: `fleet sync --notify-webhook URL` notifies on the
first run, stays quiet when a second run changed nothing (`--notify-on change`, the default), and
notifies again when a bad image leaves an Application Degraded (the exit status stays the sync's);
`fleet diff` compares with the previous diff; a dead endpoint is only a warning; --notify-markdown
writes the report."""

from __future__ import annotations

import json

from fleet import store


def break_image(env) -> None:
    text = (env.root / "apps/web/deployment.yaml").read_text()
    text = text.replace("image: nginx:1.27", "image: nginx:bad").replace(
        "replicas: 2", "replicas: 2\n  progressDeadlineSeconds: 1"
    )
    (env.root / "apps/web/deployment.yaml").write_text(text)


def log_lines(stderr: str) -> list[dict]:
    return [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]


def test_sync_notifies_on_change_only_and_names_the_degraded_application(
    make_fleet, webhook_server, tmp_path
) -> None:
    env = make_fleet("basic", clusters=2)
    hook = webhook_server.url("/hook")
    summary = tmp_path / "summary.md"

    first = env.sync("--notify-webhook", hook, "--notify-markdown", str(summary))
    assert first.exit_code == 0, first.stderr
    assert [line["msg"] for line in log_lines(first.stderr) if line.get("event") == "notify"] == [
        "notifying",
        "notification sent to webhook",
        "notification sent to markdown",
    ]
    (body,) = webhook_server.bodies()
    assert (body["run_id"], body["kind"], body["ok"], body["previous"]) == (
        first.run_result.run_id,
        "sync",
        True,
        None,
    )
    assert sorted((t["change"], t["cluster"], t["app"]) for t in body["transitions"]) == [
        ("added", "c001", "web-c001"),
        ("added", "c002", "web-c002"),
    ]
    assert body["summary"]["applications"] == 2 and body["attention"] == []
    assert summary.read_text().startswith("# Fleet sync report: OK")

    second = env.sync("--notify-webhook", hook, "--notify-on", "change", "--notify-markdown", str(summary))
    assert second.exit_code == 0, second.stderr
    assert len(webhook_server.received) == 1  # nothing changed: quiet
    assert not [line for line in log_lines(second.stderr) if line.get("event") == "notify"]

    break_image(env)
    third = env.sync("--notify-webhook", hook, "--health-timeout", "20")
    assert third.exit_code == 1  # the sync's own verdict, whatever the notification did
    assert len(webhook_server.received) == 2
    body = webhook_server.bodies()[1]
    assert body["ok"] is False and body["previous"]["run_id"] == second.run_result.run_id
    assert {(a["cluster"], a["app"], a["health"], a["reason"]) for a in body["attention"]} == {
        ("c001", "web-c001", "Degraded", "HealthCheckFailed"),
        ("c002", "web-c002", "Degraded", "HealthCheckFailed"),
    }
    assert {t["change"] for t in body["transitions"]} == {"degraded"}
    assert all("diffs" not in a for a in body["attention"])
    assert "nginx:bad" not in json.dumps(body)  # no diffs without --notify-include-diffs


def test_diff_compares_with_the_previous_diff(make_fleet, webhook_server) -> None:
    env = make_fleet("basic", clusters=1)
    hook = webhook_server.url()
    assert env.sync().exit_code == 0
    first = env.diff("--notify-webhook", hook)
    assert first.exit_code == 0, first.stderr
    (body,) = webhook_server.bodies()
    assert body["kind"] == "diff" and body["previous"] is None  # the sync before is another kind
    second = env.diff("--notify-webhook", hook)
    assert second.exit_code == 0 and len(webhook_server.received) == 1
    kinds = [r.kind.value for r in store.Store(env.state_dir).runs()]
    assert kinds == ["diff", "diff", "sync"]


def test_a_dead_endpoint_is_a_warning_and_the_exit_status_is_unchanged(make_fleet, dead_url) -> None:
    env = make_fleet("basic", clusters=1)
    run = env.sync("--notify-webhook", dead_url + "/token-in-the-path", "--notify-slack", dead_url)
    assert run.exit_code == 0, run.stderr
    assert run.run_result.ok
    warnings = [line for line in log_lines(run.stderr) if line["level"] == "warning"]
    assert [(w["msg"], w["host"], w["error"]) for w in warnings] == [
        ("notification to webhook failed", "127.0.0.1", "connection refused after 3 attempts"),
        ("notification to slack failed", "127.0.0.1", "connection refused after 3 attempts"),
    ]
    assert "token-in-the-path" not in run.stderr
