"""The table of a run with many Applications lists only those that want a look (changed, drifted,
failed, not Synced and Healthy) and counts the rest below it; a small run lists every one. The
limit is lowered here so that a 3-cluster fleet is "large"."""

from __future__ import annotations

from fleet.report import text


def app_rows(stdout: str) -> list[str]:
    return [line for line in stdout.splitlines() if "web-c00" in line]


def test_a_large_run_lists_what_wants_a_look_and_counts_the_rest(make_fleet, monkeypatch) -> None:
    env = make_fleet("basic", clusters=3)
    first = env.sync(output="table")
    assert first.exit_code == 0, first.stderr
    assert len(app_rows(first.stdout)) == 3  # small: every Application, created

    monkeypatch.setattr(text, "LIST_EVERY_APPLICATION_UP_TO", 2)
    env.sim.edit_object(
        "c002", "v1", "ConfigMap", "web", "web-config", lambda o: o["data"].update(greeting="edited-by-hand")
    )
    second = env.sync(output="table")
    assert second.exit_code == 1, second.stderr  # drifted: OutOfSync
    (row,) = app_rows(second.stdout)
    assert "web-c002" in row and "drifted" in row
    assert "and 2 more Applications Synced and Healthy with nothing changed" in second.stdout

    monkeypatch.setattr(text, "LIST_EVERY_APPLICATION_UP_TO", 100)
    third = env.sync(output="table")
    assert len(app_rows(third.stdout)) == 3 and "more Applications" not in third.stdout
