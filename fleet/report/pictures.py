"""Pictures of a fleet, for people who look rather than read: the clusters x Applications matrix
and the history charts (healthy fraction, drift count, run duration).

Where it sits: beside the other report formats (``fleet.report``), computed from ``RunResult``
values only. The static HTML report and the web UI (``fleet.web``) both draw these values with
the same Jinja macros (``templates/pictures.html.j2``), so the page and the report never differ.
Everything here is geometry and data; the markup (HTML cells, inline SVG) is written by the
templates, whose autoescaping covers every name and message from Git and clusters.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from enum import StrEnum

from fleet import redact, results
from fleet.health import Health
from fleet.status import Reason, SyncStatus


class CellState(StrEnum):
    """How one Application on one cluster is coloured in the matrix: its sync status and health
    read together, worst first (the order rows and legends use)."""

    FAILED = "failed"  # the sync failed (render, apply, hook, timeout...) or the whole cluster did
    DEGRADED = "degraded"  # the Application's health is Degraded
    OUT_OF_SYNC = "out-of-sync"  # it differs from Git, whatever its health
    MISSING = "missing"  # Synced, yet an object is Missing
    PROGRESSING = "progressing"  # Synced and still becoming healthy
    UNKNOWN = "unknown"  # the comparison or the health check could not be made
    WAITING = "waiting"  # not looked at on purpose: its rollout step did not start, or no step selects it
    OK = "ok"  # Synced and Healthy (or Suspended on purpose)

    @property
    def rank(self) -> int:
        """Position in the worst-to-best order (0 is worst)."""
        return list(CellState).index(self)

    def failing(self) -> bool:
        """Counts as needing attention (what "failing first" sorts by and the status filter's
        ``failing`` selects)."""
        return self not in (CellState.OK, CellState.WAITING)

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS: dict[CellState, str] = {
    CellState.FAILED: "sync failed",
    CellState.DEGRADED: "Degraded",
    CellState.OUT_OF_SYNC: "OutOfSync",
    CellState.MISSING: "Missing",
    CellState.PROGRESSING: "Progressing",
    CellState.UNKNOWN: "Unknown",
    CellState.WAITING: "not started",
    CellState.OK: "Synced and Healthy",
}


def cell_state(app: results.AppResult) -> CellState:
    """One state from an Application's sync status, health and reason."""
    if app.skipped or not app.observed:
        return CellState.WAITING
    if app.ok:
        return CellState.OK
    # A failed health check is shown as the health it found; any other failure as a failed sync.
    if app.reason.is_failure() and app.reason is not Reason.HEALTH_CHECK_FAILED:
        return CellState.FAILED
    if app.health is Health.DEGRADED:
        return CellState.DEGRADED
    if app.sync_status is SyncStatus.OUT_OF_SYNC:
        return CellState.OUT_OF_SYNC
    if app.health is Health.MISSING:
        return CellState.MISSING
    if app.health is Health.PROGRESSING:
        return CellState.PROGRESSING
    return CellState.UNKNOWN


# A column is one Application across clusters. Generated Applications carry their cluster's name
# ("web-c001", "c001-web"), so the cluster's name, where it stands as a whole word of the
# Application's name, is replaced by this mark: "web-{cluster}" is one column for 500 clusters.
CLUSTER_MARK = "{cluster}"


def column_of(app: results.AppResult) -> str:
    """The matrix column an Application falls in (its name, with its cluster's name as a mark)."""
    pattern = rf"(?<![A-Za-z0-9]){re.escape(app.cluster)}(?![A-Za-z0-9])"
    return re.sub(pattern, CLUSTER_MARK, app.name)


@dataclasses.dataclass(frozen=True)
class Filters:
    """What the matrix shows (the UI's query parameters ``label``, ``project``, ``status``).

    Parameters:
        labels: cluster labels that must all match (``{"env": "prod"}``).
        project: only Applications of this AppProject ("" for all).
        status: only cells in this state: a ``CellState`` value, a sync status or health
            (``OutOfSync``, ``Degraded``), or ``failing`` for every cell needing attention.
    """

    labels: Mapping[str, str] = dataclasses.field(default_factory=dict)
    project: str = ""
    status: str = ""

    def active(self) -> bool:
        return bool(self.labels or self.project or self.status)

    def keeps_cluster(self, cluster: results.ClusterResult) -> bool:
        return all(cluster.labels.get(key) == value for key, value in self.labels.items())

    def keeps(self, app: results.AppResult, state: CellState) -> bool:
        if self.project and app.project != self.project:
            return False
        if not self.status:
            return True
        wanted = self.status.casefold()
        if wanted == "failing":
            return state.failing()
        names = {state.value, app.sync_status.value.casefold(), app.health.value.casefold()}
        return wanted in {n.casefold() for n in names}


def parse_label_filters(values: Iterable[str], *, field: str) -> dict[str, str]:
    """``key=value`` pairs (``--label``, ``?label=``), or a ValueError naming ``field``."""
    found: dict[str, str] = {}
    for value in values:
        key, sep, wanted = value.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"{field}: expected KEY=VALUE, got {value!r}")
        found[key.strip()] = wanted.strip()
    return found


@dataclasses.dataclass(frozen=True)
class Cell:
    """One Application on one cluster."""

    cluster: str
    app: str
    column: str
    project: str
    state: CellState
    sync: str
    health: str
    reason: str
    revision: str
    message: str  # the root cause of a failure, masked

    @property
    def title(self) -> str:
        """The tooltip: what the colour means for this cell."""
        text = f"{self.app} on {self.cluster}: {self.sync}, {self.health}"
        if self.state.failing() and self.reason:
            text += f" ({self.reason})"
        return f"{text}: {self.message}" if self.message and self.state.failing() else text


@dataclasses.dataclass(frozen=True)
class Row:
    """One cluster: its cells in column order (None where the Application is not on it)."""

    cluster: str
    cells: tuple[Cell | None, ...]
    failing: int  # cells needing attention
    reason: str = ""  # set when the whole cluster failed
    message: str = ""

    @property
    def worst(self) -> CellState:
        states = [c.state for c in self.cells if c is not None]
        if self.reason:
            states.append(CellState.FAILED)
        return min(states, key=lambda s: s.rank, default=CellState.OK)

    @property
    def ok(self) -> bool:
        return not self.failing and not self.reason


@dataclasses.dataclass(frozen=True)
class Group:
    """The clusters that share one value of the grouping label, failing ones first."""

    value: str  # the label's value ("" when the cluster has no such label, or there is no grouping)
    rows: tuple[Row, ...]

    @property
    def failing_rows(self) -> tuple[Row, ...]:
        return tuple(r for r in self.rows if not r.ok)

    @property
    def ok_rows(self) -> tuple[Row, ...]:
        return tuple(r for r in self.rows if r.ok)

    @property
    def failing(self) -> int:
        return sum(r.failing + (1 if r.reason and not r.failing else 0) for r in self.rows)


@dataclasses.dataclass(frozen=True)
class Matrix:
    """Clusters x Applications: columns, and the clusters grouped by a label, failing first."""

    group_by: str  # the cluster label the groups are made by ("": one group)
    columns: tuple[str, ...]
    groups: tuple[Group, ...]
    counts: Mapping[CellState, int]  # cells per state, for the legend
    clusters: int
    labels: tuple[str, ...]  # every cluster label key seen (what grouping and filters may use)
    projects: tuple[str, ...]

    @property
    def empty(self) -> bool:
        return not self.groups

    def legend(self) -> list[tuple[CellState, int]]:
        return [(state, self.counts.get(state, 0)) for state in CellState]


def choose_group_label(clusters: Sequence[results.ClusterResult]) -> str:
    """The label to group by when none is asked for: the one that splits the clusters into the
    fewest groups of more than one (``env`` over ``region`` over ``name``); "" when no label
    splits them (then all clusters are one group)."""
    values: dict[str, set[str]] = {}
    for cluster in clusters:
        for key, value in cluster.labels.items():
            values.setdefault(key, set()).add(value)
    candidates = [(len(found), key) for key, found in values.items() if 1 < len(found) < len(clusters)]
    return min(candidates)[1] if candidates else ""


def matrix(
    clusters: Sequence[results.ClusterResult], *, group_by: str | None = None, filters: Filters | None = None
) -> Matrix:
    """The matrix of one run's clusters (or of the latest state of each). ``group_by``: a cluster
    label (None: ``choose_group_label``; "": no grouping). Groups, rows and columns are ordered
    failing first, then by name."""
    filters = filters or Filters()
    label = choose_group_label(clusters) if group_by is None else group_by
    all_labels = sorted({key for c in clusters for key in c.labels})
    projects = sorted({a.project for c in clusters for a in c.apps})
    kept: list[tuple[results.ClusterResult, list[Cell]]] = []
    for cluster in clusters:
        if not filters.keeps_cluster(cluster):
            continue
        cells = []
        for app in cluster.apps:
            state = cell_state(app)
            if filters.keeps(app, state):
                cells.append(_cell(app, state))
        cluster_failed = (
            cluster.reason is not None
            and not filters.project
            and (not filters.status or filters.status.casefold() in ("failing", CellState.FAILED.value))
        )
        if cells or cluster_failed:
            kept.append((cluster, cells))
    failing_per_column: Counter[str] = Counter()
    for _, cells in kept:
        failing_per_column.update(c.column for c in cells if c.state.failing())
    columns = tuple(
        sorted(
            {c.column for _, cells in kept for c in cells}, key=lambda col: (-failing_per_column[col], col)
        )
    )
    index = {col: i for i, col in enumerate(columns)}
    grouped: dict[str, list[Row]] = {}
    counts: Counter[CellState] = Counter()
    for cluster, cells in kept:
        slots: list[Cell | None] = [None] * len(columns)
        for cell in cells:
            # Two Applications of one cluster in one column (rare: names that differ only by the
            # cluster mark): the worse one is shown.
            current = slots[index[cell.column]]
            if current is None or cell.state.rank < current.state.rank:
                slots[index[cell.column]] = cell
            counts[cell.state] += 1
        row = Row(
            cluster=cluster.cluster,
            cells=tuple(slots),
            failing=sum(1 for c in cells if c.state.failing()),
            reason=cluster.reason.value if cluster.reason else "",
            message=results.root_cause(redact.mask(cluster.message)) if cluster.reason else "",
        )
        grouped.setdefault(cluster.labels.get(label, "") if label else "", []).append(row)
    groups = [
        Group(
            value=value, rows=tuple(sorted(rows, key=lambda r: (r.ok, r.worst.rank, -r.failing, r.cluster)))
        )
        for value, rows in grouped.items()
    ]
    groups.sort(key=lambda g: (-g.failing, g.value == "", g.value))
    return Matrix(
        group_by=label,
        columns=columns,
        groups=tuple(groups),
        counts=dict(counts),
        clusters=len(kept),
        labels=tuple(all_labels),
        projects=tuple(projects),
    )


def _cell(app: results.AppResult, state: CellState) -> Cell:
    return Cell(
        cluster=app.cluster,
        app=app.name,
        column=column_of(app),
        project=app.project,
        state=state,
        sync=app.sync_status.value,
        health=app.health.value,
        reason=app.reason.value,
        revision=app.revision,
        message=results.root_cause(redact.mask(app.message)) if app.message else "",
    )


# --- history charts -----------------------------------------------------------------------------
#
# Inline SVG written by our templates from the numbers below. Written by hand on purpose: the
# charting libraries either draw with JavaScript in the browser (the report has no scripts and the
# UI loads nothing from a network) or produce whole documents with fonts and styles far larger
# than the three small charts a report needs.

CHART_WIDTH = 360
CHART_HEIGHT = 120
_PAD_LEFT = 44  # room for the y axis labels
_PAD_RIGHT = 8
_PAD_TOP = 10
_PAD_BOTTOM = 22  # room for the first and last run's date


class ChartKind(StrEnum):
    """How a history chart draws its points."""

    LINE = "line"  # a line through the points (a fraction that moves between runs)
    BARS = "bars"  # one bar per run (counts and durations)


@dataclasses.dataclass(frozen=True)
class Point:
    x: float
    y: float
    value: float
    title: str  # the tooltip: which run, and its value


@dataclasses.dataclass(frozen=True)
class Tick:
    y: float
    text: str


@dataclasses.dataclass(frozen=True)
class Chart:
    """One history chart: its points in SVG coordinates, oldest run on the left."""

    id: str
    title: str
    kind: ChartKind
    points: tuple[Point, ...]
    ticks: tuple[Tick, ...]
    first: str  # the first and last run's start, under the x axis
    last: str
    width: int = CHART_WIDTH
    height: int = CHART_HEIGHT

    @property
    def baseline(self) -> float:
        return self.height - _PAD_BOTTOM

    @property
    def left(self) -> int:
        return _PAD_LEFT

    @property
    def right(self) -> int:
        return self.width - _PAD_RIGHT

    @property
    def bar_width(self) -> float:
        slots = max(len(self.points), 1)
        return max(1.0, round((self.right - self.left) / slots * 0.7, 1))

    @property
    def polyline(self) -> str:
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points)

    @property
    def empty(self) -> bool:
        return not self.points


@dataclasses.dataclass(frozen=True)
class RunPoint:
    """What the history charts and tables need of one run (small: a page keeps many)."""

    run_id: str
    kind: results.RunKind
    state: results.RunState
    started_at: str
    finished_at: str
    revision: str
    ok: bool
    seconds: float | None  # None: not finished
    healthy: float | None  # share of the Applications looked at that are Synced and Healthy
    drifted: int
    applications: int
    out_of_sync: int
    degraded: int
    clusters_failed: int
    note: str  # why a run that did not finish ended ("" for finished runs)

    @classmethod
    def of(cls, run: results.RunResult) -> RunPoint:
        summary = run.summary()
        finished = run.state is results.RunState.FINISHED
        return cls(
            run_id=run.run_id,
            kind=run.kind,
            state=run.state,
            started_at=run.started_at,
            finished_at=run.finished_at,
            revision=run.revision,
            ok=run.ok,
            seconds=run_seconds(run),
            healthy=healthy_fraction(run) if finished else None,
            drifted=int(summary["drifted"]),
            applications=int(summary["applications"]),
            out_of_sync=int(summary["out_of_sync"]),
            degraded=int(summary["degraded"]),
            clusters_failed=int(summary["clusters_failed"]),
            note="" if finished else redact.mask("; ".join(run.notes)),
        )

    @property
    def finished(self) -> bool:
        return self.state is results.RunState.FINISHED

    @property
    def outcome(self) -> str:
        """The outcome in a word: ok, attention, or how an unfinished run stands (running, aborted, interrupted)."""
        if not self.finished:
            return self.state.value
        return "ok" if self.ok else "attention"

    @property
    def duration(self) -> str:
        return _duration(self.seconds) if self.seconds is not None else "-"


def run_seconds(run: results.RunResult) -> float | None:
    """How long a finished run took (None when it did not finish or has no end time)."""
    if run.state is not results.RunState.FINISHED or not run.finished_at:
        return None
    started, finished = _timestamp(run.started_at), _timestamp(run.finished_at)
    if started is None or finished is None:
        return None
    return max(0.0, (finished - started).total_seconds())


def _timestamp(text: str) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def healthy_fraction(run: results.RunResult) -> float | None:
    """The share of the Applications the run looked at that are Synced and Healthy (None when
    it looked at none)."""
    observed = [a for a in run.apps() if a.observed and not a.skipped]
    if not observed:
        return None
    return sum(1 for a in observed if a.ok) / len(observed)


def history_charts(history: Sequence[results.RunResult | RunPoint]) -> tuple[Chart, ...]:
    """Healthy fraction, drift count and duration of the finished runs in ``history`` (as the
    store gives it: newest first), drawn oldest first."""
    points = [h if isinstance(h, RunPoint) else RunPoint.of(h) for h in history]
    finished = [p for p in reversed(points) if p.finished]
    return (
        _chart(
            "healthy",
            "Synced and Healthy (share of Applications)",
            ChartKind.LINE,
            [(p, p.healthy) for p in finished if p.healthy is not None],
            top=1.0,
            fmt=_percent,
        ),
        _chart(
            "drift",
            "Objects drifted (changed by hand)",
            ChartKind.BARS,
            [(p, float(p.drifted)) for p in finished],
            top=None,
            fmt=_count,
        ),
        _chart(
            "duration",
            "Run duration",
            ChartKind.BARS,
            [(p, p.seconds) for p in finished if p.seconds is not None],
            top=None,
            fmt=_duration,
        ),
    )


def _percent(value: float) -> str:
    return f"{value * 100:.0f}%"


def _count(value: float) -> str:
    return f"{value:.0f}"


def _duration(value: float) -> str:
    if value == 0:
        return "0 s"
    if value >= 120:
        return f"{value / 60:.1f} min"
    return f"{value:.1f} s" if value < 10 else f"{value:.0f} s"


def _nice_top(value: float) -> float:
    """A round number at or above ``value`` for the top of the y axis (1, 2, 5 x 10^n)."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * magnitude:
            return float(step * magnitude)
    return float(10 * magnitude)  # not reached: 10 x magnitude is always enough


def _chart(
    chart_id: str,
    title: str,
    kind: ChartKind,
    values: Sequence[tuple[RunPoint, float]],
    *,
    top: float | None,
    fmt: Callable[[float], str],
) -> Chart:
    height, width = CHART_HEIGHT, CHART_WIDTH
    plot_top, plot_bottom = _PAD_TOP, height - _PAD_BOTTOM
    left, right = _PAD_LEFT, width - _PAD_RIGHT
    top = top if top is not None else _nice_top(max((v for _, v in values), default=0.0))
    count = len(values)
    points = []
    for i, (run, value) in enumerate(values):
        if kind is ChartKind.BARS or count == 1:
            x = left + (right - left) * (i + 0.5) / max(count, 1)  # bars sit in the middle of their slot
        else:
            x = left + (right - left) * i / (count - 1)
        y = plot_bottom - (plot_bottom - plot_top) * (min(value, top) / top)
        points.append(
            Point(
                x=round(x, 1),
                y=round(y, 1),
                value=value,
                title=f"{run.run_id} ({run.started_at[:19]}): {fmt(value)}",
            )
        )
    # A middle tick only where it is a value the chart can hold (no "0.5 objects drifted").
    fractions = (0.0, 0.5, 1.0) if fmt is not _count or top >= 2 else (0.0, 1.0)
    ticks = tuple(
        Tick(y=round(plot_bottom - (plot_bottom - plot_top) * f, 1), text=fmt(top * f)) for f in fractions
    )
    return Chart(
        id=chart_id,
        title=title,
        kind=kind,
        points=tuple(points),
        ticks=ticks,
        first=values[0][0].started_at[:10] if values else "",
        last=values[-1][0].started_at[:10] if values else "",
    )


__all__ = [
    "CLUSTER_MARK",
    "Cell",
    "CellState",
    "Chart",
    "ChartKind",
    "Filters",
    "Group",
    "Matrix",
    "Row",
    "RunPoint",
    "choose_group_label",
    "column_of",
    "healthy_fraction",
    "history_charts",
    "matrix",
    "parse_label_filters",
    "run_seconds",
]
