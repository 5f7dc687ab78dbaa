"""The clusters x Applications matrix (fleet.report.pictures), as the HTML report and the web UI
draw it: one column per Application across clusters, clusters grouped by a label, failing groups,
clusters and columns first, the clusters with nothing failing folded, and filters by cluster
label, project and status. Readable at 500 clusters: one row per failing cluster only."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from fleet import report, results
from fleet.health import Health
from fleet.report import pictures
from fleet.report.pictures import CellState
from fleet.status import OperationPhase, Reason, SyncStatus

OK = (SyncStatus.SYNCED, Health.HEALTHY, Reason.SUCCEEDED)
DRIFTED = (SyncStatus.OUT_OF_SYNC, Health.HEALTHY, Reason.SUCCEEDED)
DEGRADED = (SyncStatus.SYNCED, Health.DEGRADED, Reason.HEALTH_CHECK_FAILED)
RENDER_FAILED = (SyncStatus.UNKNOWN, Health.UNKNOWN, Reason.RENDER_FAILED)


def app(name: str, cluster: str, state=OK, project: str = "default") -> results.AppResult:
    sync, health, reason = state
    return results.AppResult(
        name=name,
        cluster=cluster,
        project=project,
        sync_status=sync,
        health=health,
        phase=OperationPhase.SUCCEEDED,
        reason=reason,
        message=f"{name} says {reason.value}",
    )


def cluster(
    name: str, env: str, *apps: results.AppResult, reason: Reason | None = None
) -> results.ClusterResult:
    return results.ClusterResult(
        cluster=name,
        labels={"env": env, "name": name},
        apps=apps,
        reason=reason,
        message="connection refused" if reason else "",
    )


FLEET = (
    cluster("c001", "prod", app("web-c001", "c001"), app("api-c001", "c001")),
    cluster("c002", "prod", app("web-c002", "c002", DRIFTED), app("api-c002", "c002")),
    cluster("c003", "staging", app("web-c003", "c003"), app("api-c003", "c003", DEGRADED, project="team-a")),
    cluster(
        "c004", "staging", app("web-c004", "c004", RENDER_FAILED), app("api-c004", "c004", RENDER_FAILED)
    ),
    cluster("c005", "dev", reason=Reason.CLUSTER_UNREACHABLE),
    cluster("c006", "dev", app("web-c006", "c006"), app("api-c006", "c006")),
)


@pytest.mark.parametrize(
    "name, cluster_name, column",
    [
        ("web-c001", "c001", "web-{cluster}"),
        ("c001-web", "c001", "{cluster}-web"),
        ("web", "c001", "web"),
        ("web-c0011", "c001", "web-c0011"),  # not a whole word of the name: kept
        ("prod-web-prod", "prod", "{cluster}-web-{cluster}"),
    ],
    ids=["suffix", "prefix", "no-cluster-name", "longer-word", "twice"],
)
def test_a_column_is_the_application_name_with_its_cluster_as_a_mark(name, cluster_name, column) -> None:
    assert pictures.column_of(app(name, cluster_name)) == column


def test_groups_clusters_and_columns_are_ordered_failing_first() -> None:
    grid = pictures.matrix(FLEET, group_by="env")
    assert grid.columns == ("api-{cluster}", "web-{cluster}")  # 2 failing cells each: by name
    assert [g.value for g in grid.groups] == ["staging", "dev", "prod"]  # 3, 1 and 1 failing
    staging = grid.groups[0]
    assert [r.cluster for r in staging.failing_rows] == ["c004", "c003"]  # sync failed is worse than Degraded
    assert [r.cluster for r in grid.groups[2].ok_rows] == ["c001"]
    dev = grid.groups[1]
    assert [(r.cluster, r.reason) for r in dev.failing_rows] == [("c005", "ClusterUnreachable")]
    assert pictures.matrix(FLEET[:2], group_by="").columns == ("web-{cluster}", "api-{cluster}")
    c004 = staging.failing_rows[0]
    assert [c.state for c in c004.cells if c] == [CellState.FAILED, CellState.FAILED]
    assert grid.counts[CellState.OK] == 6 and grid.counts[CellState.OUT_OF_SYNC] == 1


@pytest.mark.parametrize(
    "group_by, values",
    [(None, ["staging", "dev", "prod"]), ("", [""]), ("zone", [""])],
    ids=["chosen-label", "no-grouping", "label-no-cluster-has"],
)
def test_grouping_label(group_by, values) -> None:
    grid = pictures.matrix(FLEET, group_by=group_by)
    assert [g.value for g in grid.groups] == values


def test_the_label_chosen_splits_the_clusters_into_the_fewest_groups() -> None:
    assert pictures.choose_group_label(FLEET) == "env"  # 3 values; "name" has one per cluster
    assert pictures.choose_group_label(FLEET[:1]) == ""


@pytest.mark.parametrize(
    "filters, rows",
    [
        (pictures.Filters(labels={"env": "prod"}), {"c001": 2, "c002": 2}),
        (pictures.Filters(project="team-a"), {"c003": 1}),
        (pictures.Filters(status="OutOfSync"), {"c002": 1}),
        (pictures.Filters(status="degraded"), {"c003": 1}),
        (pictures.Filters(status="failing"), {"c002": 1, "c003": 1, "c004": 2, "c005": 0}),
        (pictures.Filters(status="failed", labels={"env": "staging"}), {"c004": 2}),
    ],
    ids=["label", "project", "sync-status", "health-any-case", "failing", "state-and-label"],
)
def test_filters_keep_matching_cells_and_the_clusters_that_have_some(filters, rows) -> None:
    grid = pictures.matrix(FLEET, group_by="", filters=filters)
    shown = {r.cluster: sum(1 for c in r.cells if c) for g in grid.groups for r in g.rows}
    assert shown == rows


def test_bad_label_filters_name_the_field() -> None:
    with pytest.raises(ValueError, match="label: expected KEY=VALUE, got 'prod'"):
        pictures.parse_label_filters(["prod"], field="label")


class MatrixRows(HTMLParser):
    """The matrix table of an HTML page: (group, cluster, [cell classes]) per failing row."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.rows: list[tuple[str, str, list[str]]] = []
        self.folded: list[str] = []
        self._group = ""
        self._row: tuple[str, str, list[str]] | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "tbody" and "group" in (found.get("class") or ""):
            self._group = found.get("data-group") or ""
        elif tag == "tr" and found.get("data-cluster"):
            self._row = (self._group, found["data-cluster"] or "", [])
            self.rows.append(self._row)
        elif tag == "td" and self._row is not None:
            self._row[2].append(found.get("class") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "tr":
            self._row = None


def test_the_html_report_draws_the_matrix_at_500_clusters_failing_first() -> None:
    clusters = []
    for i in range(1, 501):
        name = f"c{i:03d}"
        web = DEGRADED if i % 100 == 0 else OK
        clusters.append(
            cluster(name, ("prod", "staging")[i % 2], app(f"web-{name}", name, web), app(f"api-{name}", name))
        )
    run = results.RunResult(
        run_id="r1",
        kind=results.RunKind.SYNC,
        started_at=results.now(),
        finished_at=results.now(),
        clusters=tuple(clusters),
    )
    html = report.render(run, [run], fmt="html")
    page = MatrixRows(html)
    # five failing clusters get a row each; the 495 others are folded into one line per group
    assert [(g, c) for g, c, _ in page.rows] == [("prod", f"c{i:03d}") for i in (100, 200, 300, 400, 500)]
    assert all(cells[0] == "cell s-degraded" and cells[1] == "cell s-ok" for _, _, cells in page.rows)
    assert "245 clusters with nothing failing" in html and "250 clusters with nothing failing" in html
    assert 'data-group-by="env"' in html


# (flags, the label grouped by, the groups): one recorded sync serves every case
GROUP_BY_CASES = {
    "chosen": ([], "env", {"prod", "staging"}),
    "asked-for": (["--group-by", "region"], "region", {"eu", "us"}),
    "none": (["--group-by", ""], "", {""}),
}


def test_fleet_report_groups_the_matrix_by_the_label_asked_for(make_fleet, tmp_path) -> None:
    labels = {
        "c001": {"env": "prod", "region": "eu"},
        "c002": {"env": "prod", "region": "us"},
        "c003": {"env": "staging", "region": "eu"},
    }
    env = make_fleet("basic", clusters=sorted(labels), labels=labels)
    assert env.sync().exit_code == 0
    for case, (flags, group_by, groups) in GROUP_BY_CASES.items():
        target = tmp_path / f"report-{case}.html"
        run = env.run("report", *env.store_args(), "--format", "html", "--output", str(target), *flags)
        assert run.exit_code == 0, (case, run.stderr)
        html = target.read_text()
        assert f'data-group-by="{group_by}"' in html, case
        assert set(re.findall(r'<tbody class="group" data-group="([^"]*)"', html)) == groups, case
