"""The HTML report's summary cards add up and are coloured only when they should be, and a failed
cluster stands out (issue 8, item 13): before, OutOfSync and Degraded were red at 0, there was no
Unknown card (239 Synced of 243 with 4 unexplained) and a failed cluster's row looked like any other."""

from __future__ import annotations

from html.parser import HTMLParser

from fleet import report, results
from fleet.health import Health
from fleet.status import OperationPhase, Reason, SyncStatus


def app(
    name: str, cluster: str, sync: SyncStatus, health: Health, reason: Reason = Reason.SUCCEEDED
) -> results.AppResult:
    return results.AppResult(
        name=name,
        cluster=cluster,
        sync_status=sync,
        health=health,
        phase=OperationPhase.SUCCEEDED,
        reason=reason,
    )


def run(*clusters: results.ClusterResult) -> results.RunResult:
    return results.RunResult(
        run_id="r1",
        kind=results.RunKind.SYNC,
        started_at=results.now(),
        finished_at=results.now(),
        revision="0123456789abcdef",
        clusters=clusters,
    )


HEALTHY_CLUSTER = results.ClusterResult(
    cluster="c001",
    apps=(
        app("web-c001", "c001", SyncStatus.SYNCED, Health.HEALTHY),
        app("api-c001", "c001", SyncStatus.SYNCED, Health.HEALTHY),
    ),
)
TROUBLED_CLUSTER = results.ClusterResult(
    cluster="c002",
    apps=(
        app("web-c002", "c002", SyncStatus.OUT_OF_SYNC, Health.DEGRADED, Reason.HEALTH_CHECK_FAILED),
        app("api-c002", "c002", SyncStatus.SYNCED, Health.PROGRESSING, Reason.HEALTH_CHECK_FAILED),
    ),
)
UNREACHABLE_CLUSTER = results.ClusterResult(
    cluster="c003",
    reachable=False,
    reason=Reason.CLUSTER_UNREACHABLE,
    message="connection reset",
    apps=(
        app("web-c003", "c003", SyncStatus.UNKNOWN, Health.UNKNOWN, Reason.CLUSTER_UNREACHABLE),
        app("api-c003", "c003", SyncStatus.UNKNOWN, Health.UNKNOWN, Reason.CLUSTER_UNREACHABLE),
    ),
)


class Page(HTMLParser):
    """The cards of the sync and health groups (``{group: {label: (classes, number)}}``) and the
    cluster table's rows (``{cluster: classes}``)."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.groups: dict[str, dict[str, tuple[set[str], int]]] = {}
        self.rows: dict[str, set[str]] = {}
        self._group = ""
        self._card: set[str] | None = None
        self._text: list[str] = []
        self._row: set[str] | None = None
        self._cell = 0
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = set((dict(attrs).get("class") or "").split())
        if tag == "div" and "cards" in classes:
            self._group = (dict(attrs).get("id") or "").removesuffix("-cards")
        elif tag == "div" and "card" in classes:
            self._card, self._text = classes, []
        elif tag == "tr":
            self._row, self._cell = classes, 0
        elif tag == "td" and self._row is not None:
            self._cell += 1

    def handle_data(self, data: str) -> None:
        if self._card is not None:
            self._text.append(data)
        elif self._row is not None and self._cell == 1 and data.strip():
            self.rows[data.strip()] = self._row

    def handle_endtag(self, tag: str) -> None:
        if tag == "div" and self._card is not None:
            number, label = self._text[0], "".join(self._text[1:]).strip()  # <b>N</b>label
            if self._group:
                self.groups.setdefault(self._group, {})[label] = (self._card, int(number))
            self._card = None
        elif tag == "tr":
            self._row = None


def page(*clusters: results.ClusterResult) -> Page:
    return Page(report.render(run(*clusters), fmt="html"))


def test_out_of_sync_and_degraded_cards_are_red_only_when_not_zero() -> None:
    quiet = page(HEALTHY_CLUSTER)
    for group, label in (("sync", "OutOfSync"), ("sync", "Unknown"), ("health", "Degraded")):
        classes, value = quiet.groups[group][label]
        assert value == 0 and "bad" not in classes and "warn" not in classes, label
    troubled = page(HEALTHY_CLUSTER, TROUBLED_CLUSTER)
    assert troubled.groups["sync"]["OutOfSync"] == ({"card", "bad"}, 1)
    assert troubled.groups["health"]["Degraded"] == ({"card", "bad"}, 1)


def test_sync_cards_and_health_cards_each_add_up_to_the_applications() -> None:
    shown = page(HEALTHY_CLUSTER, TROUBLED_CLUSTER, UNREACHABLE_CLUSTER)
    sync, health = shown.groups["sync"], shown.groups["health"]
    assert set(sync) == {"Synced", "OutOfSync", "Unknown"}
    assert sync["Unknown"] == ({"card", "warn"}, 2)
    assert sum(value for _, value in sync.values()) == 6
    assert {label: value for label, (_, value) in health.items()} == {
        "Healthy": 2,
        "Degraded": 1,
        "Progressing": 1,
        "Unknown": 2,
    }


def test_a_failed_cluster_row_is_highlighted_and_the_others_are_not() -> None:
    shown = page(HEALTHY_CLUSTER, TROUBLED_CLUSTER, UNREACHABLE_CLUSTER)
    assert "bad" in shown.rows["c003"]
    assert "bad" not in shown.rows["c001"] and "bad" not in shown.rows["c002"]
    assert "warn" in shown.rows["c002"]  # reachable, but its Applications need attention
