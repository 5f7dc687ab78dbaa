"""The history charts (fleet.report.pictures.history_charts) of the HTML report and the web UI:
over the finished runs, oldest on the left, the share of Applications Synced and Healthy, the
objects drifted and the run's duration, as inline SVG with a tooltip per run; runs that did not
finish are left out of the charts (they stay in the history table)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from fleet import report, results
from fleet.health import Health
from fleet.report import pictures
from fleet.status import OperationPhase, Reason, SyncStatus

SVG = "{http://www.w3.org/2000/svg}"


def app(name: str, ok: bool, drifted: bool = False) -> results.AppResult:
    resource = results.ResourceResult(
        kind="ConfigMap",
        name=name,
        action=results.Action.DRIFTED if drifted else results.Action.UNCHANGED,
        drift=drifted,
    )
    return results.AppResult(
        name=name,
        cluster="c001",
        sync_status=SyncStatus.SYNCED if ok else SyncStatus.OUT_OF_SYNC,
        health=Health.HEALTHY,
        phase=OperationPhase.SUCCEEDED,
        reason=Reason.SUCCEEDED,
        resources=(resource,),
    )


def run(
    day: int,
    *,
    healthy: int,
    of: int,
    drifted: int,
    seconds: int,
    state: results.RunState = results.RunState.FINISHED,
) -> results.RunResult:
    apps = tuple(app(f"a{i}", i < healthy, drifted=i < drifted) for i in range(of))
    return results.RunResult(
        run_id=f"r{day}",
        kind=results.RunKind.SYNC,
        state=state,
        started_at=f"2026-01-{day:02d}T10:00:00.000000Z",
        finished_at=f"2026-01-{day:02d}T10:{seconds // 60:02d}:{seconds % 60:02d}.000000Z"
        if state.ended()
        else "",
        clusters=(results.ClusterResult(cluster="c001", apps=apps),),
    )


# as the store gives them: newest first; r3 was interrupted
HISTORY = [
    run(4, healthy=4, of=4, drifted=0, seconds=30),
    run(3, healthy=0, of=0, drifted=0, seconds=0, state=results.RunState.INTERRUPTED),
    run(2, healthy=2, of=4, drifted=3, seconds=90),
    run(1, healthy=1, of=4, drifted=1, seconds=60),
]


def test_the_charts_show_finished_runs_oldest_first_with_their_values() -> None:
    healthy, drift, duration = pictures.history_charts(HISTORY)
    assert [p.value for p in healthy.points] == [0.25, 0.5, 1.0]
    assert [p.value for p in drift.points] == [1.0, 3.0, 0.0]
    assert [p.value for p in duration.points] == [60.0, 90.0, 30.0]
    assert [p.title.split(" ")[0] for p in duration.points] == ["r1", "r2", "r4"]
    assert all(a.x < b.x for a, b in zip(healthy.points, healthy.points[1:], strict=False))
    # a higher value is higher on the chart (SVG's y grows downwards)
    assert healthy.points[0].y > healthy.points[1].y > healthy.points[2].y
    assert [t.text for t in healthy.ticks] == ["0%", "50%", "100%"]
    assert [t.text for t in duration.ticks] == ["0 s", "50 s", "100 s"]
    assert (healthy.first, healthy.last) == ("2026-01-01", "2026-01-04")


def test_a_history_without_a_finished_run_draws_empty_charts() -> None:
    charts = pictures.history_charts([HISTORY[1]])
    assert all(c.empty for c in charts)


def test_the_html_report_holds_the_charts_as_inline_svg_with_a_tooltip_per_run() -> None:
    html = report.render(HISTORY[0], HISTORY, fmt="html")
    figures = re.findall(r'<figure class="chart" id="chart-(\w+)">.*?(<svg .*?</svg>)', html, flags=re.S)
    assert [name for name, _ in figures] == ["healthy", "drift", "duration"]
    for name, svg in figures:
        root = ET.fromstring(svg)  # well-formed SVG, in its namespace
        assert root.tag == f"{SVG}svg" and root.get("role") == "img"
        marks = root.findall(f"{SVG}circle") if name == "healthy" else root.findall(f"{SVG}rect")
        assert len(marks) == 3
        assert [m.find(f"{SVG}title").text.split(" ")[0] for m in marks] == ["r1", "r2", "r4"]
    assert "<script" not in html
