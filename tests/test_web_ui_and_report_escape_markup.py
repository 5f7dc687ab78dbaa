"""Strings from Git and clusters are text, never markup, in the web UI and the HTML report: a
ConfigMap value holding <script> and an <img onerror> (edited by hand on a cluster, so it shows in
the diffs) and Application names holding a <script> element (from an ApplicationSet's template;
refused at generation, as Kubernetes refuses such names, so they show in the generation errors)
render as text, and nothing of them runs in Chromium (``window.__pwned`` stays undefined). No
page, report or JUnit file holds a Secret's value. The store is filled by real `fleet sync` runs
against the simulator (``ui_fleet``)."""

from __future__ import annotations

from urllib.error import HTTPError
from urllib.parse import urlencode
from urllib.request import urlopen

import pytest
from playwright.sync_api import expect

from tests.fixtures.web import EDITED_BANNER, MARKUP_APP, ODD_APP, Watched

pytestmark = pytest.mark.slow

PAGES = {
    "matrix": "/",
    "matrix-without-grouping": "/?group=none",
    "runs": "/runs",
    "odd-app": "/app?" + urlencode({"cluster": "c001", "app": f"{ODD_APP}c001"}),
    "edited-configmap": "/app?" + urlencode({"cluster": "c002", "app": "web-c002"}),
}


def assert_nothing_ran(watched: Watched) -> None:
    page = watched.page
    assert page.evaluate("typeof window.__pwned") == "undefined"
    # The only script is the UI's own file (the report has none); no <img> came from the data.
    sources = page.evaluate("Array.from(document.scripts, s => s.getAttribute('src'))")
    assert all(src is not None and src.endswith("/ui/static/ui.js") for src in sources), sources
    assert page.locator("img").count() == 0
    assert not watched.problems, watched.problems


@pytest.mark.parametrize("path", PAGES.values(), ids=PAGES.keys())
def test_ui_pages_show_markup_as_text_and_run_none_of_it(ui_fleet, chromium, path) -> None:
    watched = Watched(chromium)
    try:
        watched.goto(f"{ui_fleet.url}{path}")
        text = watched.page.locator("main").inner_text()
        if path == PAGES["edited-configmap"]:
            assert "<script>window.__pwned=2</script>" in text
        assert f"{MARKUP_APP}c0" not in text  # the refused names: in no matrix, run or Application
        assert_nothing_ran(watched)
    finally:
        watched.close()


def test_the_drill_down_shows_the_hand_edited_value_as_text(ui_fleet, chromium) -> None:
    watched = Watched(chromium)
    try:
        watched.goto(f"{ui_fleet.url}{PAGES['edited-configmap']}")
        expect(watched.page.locator("#diffs")).to_contain_text(f"-  banner: {EDITED_BANNER}")
        assert_nothing_ran(watched)
    finally:
        watched.close()


def test_the_applications_named_with_markup_were_never_synced(ui_fleet, chromium) -> None:
    watched = Watched(chromium)
    try:
        watched.goto(f"{ui_fleet.url}/")
        expect(watched.page.locator("th.col span", has_text=ODD_APP)).to_have_text(f"{ODD_APP}{{cluster}}")
        assert watched.page.locator("th.col span", has_text="<script>").count() == 0
        assert_nothing_ran(watched)
    finally:
        watched.close()
    with pytest.raises(HTTPError) as missing:
        urlopen(
            f"{ui_fleet.url}/app?" + urlencode({"cluster": "c001", "app": f"{MARKUP_APP}c001"}), timeout=30
        )
    assert missing.value.code == 404


@pytest.mark.parametrize("path", PAGES.values(), ids=PAGES.keys())
def test_ui_pages_are_escaped_and_hold_no_secret_in_their_source(ui_fleet, path) -> None:
    with urlopen(f"{ui_fleet.url}{path}", timeout=30) as response:
        html = response.read().decode()
        policy = response.headers["Content-Security-Policy"]
    assert "<script>window.__pwned" not in html and 'onerror="window' not in html
    assert (
        "script-src 'self'" in policy and "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    )
    assert not any(value in html for value in ui_fleet.secrets)


def test_the_html_report_shows_markup_as_text_and_runs_none_of_it(ui_fleet, chromium, tmp_path) -> None:
    target = tmp_path / "report.html"
    run = ui_fleet.env.run("report", *ui_fleet.env.store_args(), "--format", "html", "--output", str(target))
    assert run.exit_code == 0, run.stderr
    html = target.read_text()
    assert "<script" not in html and "<img" not in html
    assert not any(value in html for value in ui_fleet.secrets)
    watched = Watched(chromium)
    try:
        watched.goto(target.as_uri())
        expect(watched.page.locator("body")).to_contain_text(
            f"ApplicationSet markup: Application {MARKUP_APP}c001: the generated name is not a valid"
            " Kubernetes object name"
        )  # the generation errors
        expect(watched.page.locator("body")).to_contain_text(
            f"-  banner: {EDITED_BANNER}"
        )  # the drift section
        assert watched.page.evaluate("typeof window.__pwned") == "undefined"
        assert watched.page.evaluate("document.scripts.length") == 0
        assert watched.page.locator("img").count() == 0
        assert not watched.problems, watched.problems
    finally:
        watched.close()


def test_the_junit_report_holds_the_markup_as_text_and_no_secret(ui_fleet, tmp_path) -> None:
    import xml.etree.ElementTree as ET

    run = ui_fleet.env.run("report", *ui_fleet.env.store_args(), "--format", "junit")
    assert run.exit_code == 0, run.stderr
    assert not any(value in run.stdout for value in ui_fleet.secrets)
    failures = [f.get("message", "") + (f.text or "") for f in ET.fromstring(run.stdout).iter("failure")]
    assert any(f"Application {MARKUP_APP}c001: the generated name" in failure for failure in failures)
