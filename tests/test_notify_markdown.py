"""The Markdown file target (e.g. $GITHUB_STEP_SUMMARY): the run's Markdown report with what changed
since the previous run under its title, written aside and renamed into place (no temporary file
left, an existing file replaced whole), masked, without diffs unless asked; a file that cannot be
written is a warning, not an error."""

from __future__ import annotations

from fleet import notify, redact, results, store
from fleet.status import SyncStatus
from tests import notify_helpers as h

SECRET = "md-Secret-77aa"


def drifted_run(run_id: str) -> results.RunResult:
    drift = results.ResourceResult(
        kind="ConfigMap",
        namespace="web",
        name="cfg",
        action=results.Action.DRIFTED,
        status=SyncStatus.OUT_OF_SYNC,
        drift=True,
        diff="-  colour: blue\n+  colour: red\n",
    )
    apps = [h.app("c001", "web", "OutOfSync/Healthy", message=f"uses {SECRET} | twice", resources=[drift])]
    return h.run(apps, run_id=run_id)


def test_the_markdown_file_holds_the_report_and_the_changes(tmp_path) -> None:
    redact.register(SECRET)
    db = store.Store(tmp_path / "state")
    db.record(
        h.run({("c001", "web"): "Synced/Healthy"}, run_id="r1", started_at="2025-01-01T00:00:00.000000Z")
    )
    current = drifted_run("r2")
    db.record(current)
    summary = tmp_path / "ci" / "step-summary.md"
    summary.parent.mkdir()
    summary.write_text("an older summary that must be replaced whole\n")
    outcome = notify.after_run(
        current, notify.NotifySettings(markdown=str(summary)), state_dir=tmp_path / "state"
    )
    (delivery,) = outcome.deliveries
    assert delivery.ok and delivery.where == str(summary)
    text = summary.read_text()
    lines = text.splitlines()
    assert lines[0] == "# Fleet sync report: ATTENTION NEEDED"
    assert lines[2] == "## Changes since the previous sync run"
    assert (
        "| out-of-sync | c001 | web | Synced/Healthy (Succeeded) | OutOfSync/Healthy (Progressing) |" in text
    )
    assert "Compared with run `r1`" in text and "## Applications needing attention" in text
    assert "older summary" not in text
    assert SECRET not in text and "uses *** \\| twice" in text
    assert "colour: red" not in text and notify.DIFFS_LEFT_OUT in text  # the report's drift section
    assert [p.name for p in summary.parent.iterdir()] == ["step-summary.md"]  # nothing left aside


def test_diffs_reach_the_markdown_only_when_asked(tmp_path) -> None:
    target = tmp_path / "summary.md"
    notify.after_run(
        drifted_run("r1"),
        notify.NotifySettings(markdown=str(target), include_diffs=True),
        state_dir=tmp_path / "state",
    )
    text = target.read_text()
    assert "+  colour: red" in text and "No earlier sync run to compare with." in text


def test_a_file_that_cannot_be_written_is_only_a_warning(tmp_path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    outcome = notify.after_run(
        drifted_run("r1"),
        notify.NotifySettings(markdown=str(blocker / "summary.md")),
        state_dir=tmp_path / "state",
    )
    (delivery,) = outcome.deliveries
    assert not delivery.ok and delivery.error.startswith("could not write the file")
