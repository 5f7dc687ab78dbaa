"""The web UI in a real headless Chromium (Debian's), over a status store filled by real `fleet
sync` runs against the simulator: the pages load without console errors and show the recorded
runs, the matrix puts failing clusters first and filters by query parameters, the drill-down shows
the masked diff and the recent events, and a new run appears without a reload (server-sent events).

With FLEET_UI_SCREENSHOT=1 the run also writes the README's screenshot, docs/ui.png.
"""

from __future__ import annotations

import os
import re
from urllib.parse import urlencode

import pytest
from playwright.sync_api import expect

from fleet import store
from tests.conftest import REPO_ROOT
from tests.fixtures.web import MARKUP_APP, ODD_APP, Watched

pytestmark = pytest.mark.slow


@pytest.fixture
def page(chromium):
    watched = Watched(chromium)
    yield watched
    watched.close()
    assert not watched.problems, watched.problems


def test_the_matrix_page_shows_the_recorded_runs_without_console_errors(ui_fleet, page) -> None:
    page.goto(f"{ui_fleet.url}/")
    expect(page.page.locator("#latest-run")).to_contain_text(ui_fleet.run_ids[-1])
    matrix = page.page.locator("#matrix")
    assert matrix.get_attribute("data-group-by") == "env"
    cells = page.page.locator("#matrix td.cell[data-app]")
    apps = set(cells.evaluate_all("cells => cells.map(c => c.dataset.app)"))
    assert {"web-c002", "web-c004", f"{ODD_APP}c004"} <= apps  # the failing clusters' cells
    assert not any(app.startswith(MARKUP_APP) for app in apps)  # refused at generation, never synced
    folded = " ".join(page.page.locator("#matrix tr.ok-rows .names").all_text_contents())
    assert "c001" in folded and "c003" in folded  # the clusters with nothing failing, by name
    assert page.page.locator("th.col span", has_text=ODD_APP).count() == 1  # one column for all clusters
    expect(page.page.locator("#live")).to_have_text("live")


def test_failing_clusters_come_first_in_the_failing_group_first(ui_fleet, page) -> None:
    page.goto(f"{ui_fleet.url}/")
    groups = page.page.locator("#matrix tbody.group").evaluate_all("gs => gs.map(g => g.dataset.group)")
    assert groups == ["staging", "prod"]  # c004's two Applications failed, c002's one
    failing_rows = page.page.locator("#matrix tr.row").evaluate_all("rs => rs.map(r => r.dataset.cluster)")
    # c004 refused fleet's token; c002 has a ConfigMap changed by hand (OutOfSync): both failing,
    # the others (nothing failing) folded into their group's summary row
    assert set(failing_rows) == {"c002", "c004"}
    expect(page.page.locator('#matrix tr.row[data-cluster="c004"] .why')).to_have_text("PermissionDenied")
    drifted = page.page.locator('#matrix td.cell[data-app="web-c002"]')
    assert "s-out-of-sync" in (drifted.get_attribute("class") or "")
    summaries = page.page.locator("#matrix tr.ok-rows summary").all_text_contents()
    assert sorted(summaries) == ["1 cluster with nothing failing", "1 cluster with nothing failing"]


@pytest.mark.parametrize(
    "query, rows, cells",
    [
        ({"label": "env=staging"}, {"c004"}, {"web-c004", f"{ODD_APP}c004"}),
        ({"status": "OutOfSync"}, {"c002"}, {"web-c002"}),
        ({"label": "env=prod", "group": "none"}, {"c002"}, {"web-c002", f"{ODD_APP}c002"}),
    ],
    ids=["by-label", "by-status", "label-without-grouping"],
)
def test_query_parameters_filter_the_matrix(ui_fleet, page, query, rows, cells) -> None:
    page.goto(f"{ui_fleet.url}/?{urlencode(query)}")
    shown_rows = set(page.page.locator("#matrix tr.row").evaluate_all("rs => rs.map(r => r.dataset.cluster)"))
    assert shown_rows == rows
    shown_cells = page.page.locator("#matrix tr.row td.cell").evaluate_all("cs => cs.map(c => c.dataset.app)")
    assert set(shown_cells) == cells
    expect(page.page.locator("#active-filters")).to_be_visible()


def test_the_runs_page_lists_every_run_with_its_duration_and_draws_the_charts(ui_fleet, page) -> None:
    page.goto(f"{ui_fleet.url}/runs")
    rows = page.page.locator("#runs tr[data-run]")
    assert (
        rows.evaluate_all("rs => rs.map(r => r.dataset.run)")[: len(ui_fleet.run_ids)][::-1][-2:]
        == ui_fleet.run_ids[-2:]
    )
    durations = page.page.locator("#runs tr[data-run] td:nth-child(5)").all_text_contents()
    assert all(re.fullmatch(r"\d+(\.\d)? s", d) for d in durations), durations
    for chart in ("healthy", "drift", "duration"):
        expect(page.page.locator(f"#chart-{chart} svg")).to_be_visible()
    assert page.page.locator("#chart-duration rect.bar").count() == len(ui_fleet.run_ids)


def test_a_new_run_shows_without_a_reload(ui_fleet, page) -> None:
    page.goto(f"{ui_fleet.url}/runs")
    expect(page.page.locator("#live")).to_have_text("live")  # subscribed: no event can be missed now
    page.page.evaluate("window.__sameDocument = true")
    run_id = ui_fleet.new_run()
    expect(page.page.locator(f'#runs tr[data-run="{run_id}"]')).to_be_visible()
    assert page.page.evaluate("window.__sameDocument") is True
    assert int(page.page.evaluate("document.body.dataset.refreshed")) >= 1


def test_the_drill_down_shows_the_masked_diff_revision_and_events(ui_fleet, page) -> None:
    ui_fleet.new_run()  # the Secret changed in Git: its diff is in the latest state
    page.goto(f"{ui_fleet.url}/")
    page.page.locator('#matrix td.cell[data-app="web-c002"] a').click()
    expect(page.page.locator("#app-name")).to_have_text("web-c002")
    expect(page.page.locator("#app-cluster")).to_have_text("c002")
    recorded = store.open(None, state_dir=ui_fleet.env.state_dir).app_state(cluster="c002", app="web-c002")
    assert recorded is not None and recorded.revision
    expect(page.page.locator("#app-revision")).to_have_text(recorded.revision)
    diffs = page.page.locator("#diffs").inner_text()
    assert "password: '*** (changed)'" in diffs  # the Secret: masked
    assert "-  banner: <script>window.__pwned=2</script><img src=x" in diffs  # the hand edit, as text
    html = page.page.content()
    assert not any(value in html for value in ui_fleet.secrets)
    expect(page.page.locator("#objects")).to_contain_text("Secret:web/web-credentials")


def test_screenshot_for_the_readme_when_asked(ui_fleet, chromium) -> None:
    if not os.environ.get("FLEET_UI_SCREENSHOT"):
        pytest.skip("set FLEET_UI_SCREENSHOT=1 to write docs/ui.png")
    watched = Watched(chromium, width=1000, height=640)
    try:
        watched.goto(f"{ui_fleet.url}/?group=env")
        for summary in watched.page.locator("#matrix tr.ok-rows summary").all():
            summary.click()
        target = REPO_ROOT / "docs" / "ui.png"
        target.parent.mkdir(exist_ok=True)
        watched.page.screenshot(path=str(target), full_page=True)
    finally:
        watched.close()
    assert not watched.problems, watched.problems
