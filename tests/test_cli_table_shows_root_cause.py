"""The table's MESSAGE column shows the root cause of a failure (the last, most specific part of
the error) instead of its first 160 characters, and the full message is logged once, masked
(issue 8, item 7). The case from the issue: a kustomization naming a file that does not exist."""

from __future__ import annotations

import json

import pytest

from fleet import results


def test_a_failed_render_shows_its_root_cause_and_logs_the_whole_error_once(make_fleet) -> None:
    env = make_fleet("basic", clusters=1)
    env.write("apps/web/kustomization.yaml", "resources:\n  - deployment.yaml\n  - missing.yaml\n")
    run = env.sync(output="table")
    assert run.exit_code == 1
    table = " ".join(run.stdout.split())
    missing = env.root / "apps" / "web" / "missing.yaml"
    assert f"{missing}: no such file or directory" in table, run.stdout
    logged = [
        line
        for line in map(json.loads, run.stderr.splitlines())
        if line.get("app") == "web-c001" and line.get("reason") == "RenderFailed"
    ]
    assert len(logged) == 1, logged
    assert "kustomize build failed" in logged[0]["error"] and "accumulating resources" in logged[0]["error"]


CAUSE = "lstat /srv/fleet/apps/web/missing.yaml: no such file or directory"

CASES = [
    pytest.param("cannot connect: refused", "cannot connect: refused", id="short-as-it-is"),
    pytest.param("wrapping: " * 20 + CAUSE, f"… {CAUSE}", id="whole-parts-from-the-end"),
    pytest.param("x" * 300, "… " + "x" * (results.ROOT_CAUSE_WIDTH - 2), id="one-long-part-its-end"),
    pytest.param(f'err="{"context: " * 20}{CAUSE}"', f"… {CAUSE}", id="quotes-around-it-dropped"),
]


@pytest.mark.parametrize("message, shown", CASES)
def test_the_root_cause_is_the_end_of_a_long_message(message, shown) -> None:
    assert results.root_cause(message) == shown
