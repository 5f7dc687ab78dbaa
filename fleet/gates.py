"""Gates between the steps of a progressive rollout: a soak time, a manual approval, a metric.

Where it sits: the driver's fan-out (``fleet.driver.control``, phase 6) asks ``decide`` before it
starts step n > 1 of a rollout (``fleet.rollout.Progress`` calls its gate hook); the run's plan
(``fleet.driver.schedule``, phase 5) reads each rollout's gates with ``parse_appset``. A gate that is not open holds
the rollout at that step: the step and the later ones do not start, the run ends (exit 0: nothing
failed), and the status store keeps where the rollout stands (``fleet.results.RolloutPosition``)
so that the next run continues there. ``decide`` is pure but for the metric query it is handed.

Gates, for every step after the first (all that are set must be open):

- abort: ``fleet rollout abort`` stopped the rollout; nothing more starts until what it rolls out
  changes (a new fingerprint starts it over);
- soak: ``fleet.gitops.io/step-soak: 10m`` on the ApplicationSet, or ``--step-soak``: the
  previous step completed at least that long ago (its first completion, kept across runs);
- approval: ``fleet.gitops.io/step-approval: "true"`` or ``--step-approval``: ``fleet rollout
  approve`` approved this step;
- metric: ``fleet.gitops.io/step-metric: <PromQL>`` or ``--step-metric``, evaluated against the
  Prometheus server of ``fleet.gitops.io/prometheus-url`` or ``--prometheus-url`` through its HTTP
  API (``/api/v1/query``): open when the result is not empty and every sample is non-zero (a
  comparison such as ``error_rate < 0.01`` returns nothing when false).

A gate passed once for a fingerprint stays passed (``RolloutPosition.passed``): later runs do not
wait at it again. Automatic rollback (``autoRollback: true`` under ``spec.strategy.rollingSync``,
or ``--auto-rollback``) is read here with the gates (``fleet.rollback`` does it).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum

import requests

from fleet import argo, errors, results, waves
from fleet.store import model as store_model

STEP_SOAK = "fleet.gitops.io/step-soak"
STEP_APPROVAL = "fleet.gitops.io/step-approval"
STEP_METRIC = "fleet.gitops.io/step-metric"
PROMETHEUS_URL = "fleet.gitops.io/prometheus-url"
AUTO_ROLLBACK = "autoRollback"  # under spec.strategy.rollingSync (a fleet extension of Argo CD's)

# How often a run asks Prometheus again while it waits at a metric gate (--gate-wait).
METRIC_INTERVAL = 10.0


class GateKind(StrEnum):
    """What holds a rollout at a step."""

    SYNC_WINDOW = "SyncWindow"  # a sync window blocks an Application of the step now
    ABORTED = "Aborted"  # `fleet rollout abort` stopped the rollout
    SOAK = "Soak"  # the previous step completed less than the soak time ago
    APPROVAL = "Approval"  # the step waits for `fleet rollout approve`
    METRIC = "Metric"  # the PromQL expression is not true (or Prometheus did not answer)


@dataclass(frozen=True)
class GateSpec:
    """The gates of one rollout, and whether it rolls back on failure."""

    soak: float = 0.0  # seconds
    approval: bool = False
    metric: str = ""  # a PromQL expression
    prometheus: str = ""  # the Prometheus server's base URL
    auto_rollback: bool = False

    def merged(self, cli: GateSpec) -> GateSpec:
        """The run's flags win over what the ApplicationSet says (a flag left unset does not)."""
        return GateSpec(
            soak=cli.soak or self.soak,
            approval=cli.approval or self.approval,
            metric=cli.metric or self.metric,
            prometheus=cli.prometheus or self.prometheus,
            auto_rollback=cli.auto_rollback or self.auto_rollback,
        )

    def check(self, *, where: str, file: str | None = None, obj: str | None = None) -> GateSpec:
        if self.metric and not self.prometheus:
            raise errors.InputError(
                f"a metric gate needs a Prometheus server ({PROMETHEUS_URL} or --prometheus-url)",
                file=file,
                obj=obj,
                field=where,
            )
        return self


def parse_appset(appset: argo.ApplicationSet) -> GateSpec:
    """The gates an ApplicationSet's annotations and RollingSync strategy ask for; bad values are
    input errors naming the file, the ApplicationSet and the field."""
    file, obj = appset.source or None, f"ApplicationSet {appset.name}"
    notes = appset.metadata.annotations
    soak = 0.0
    if notes.get(STEP_SOAK):
        try:
            soak = waves.parse_duration(notes[STEP_SOAK], where=STEP_SOAK)
        except errors.InputError:
            raise errors.InputError(
                f"must be a duration like '10m', not {notes[STEP_SOAK]!r}",
                file=file,
                obj=obj,
                field=f"metadata.annotations[{STEP_SOAK}]",
            ) from None
    approval = False
    if STEP_APPROVAL in notes:
        text = notes[STEP_APPROVAL].strip().lower()
        if text not in ("true", "false"):
            raise errors.InputError(
                f"must be 'true' or 'false', not {notes[STEP_APPROVAL]!r}",
                file=file,
                obj=obj,
                field=f"metadata.annotations[{STEP_APPROVAL}]",
            )
        approval = text == "true"
    strategy = appset.spec.strategy
    rolling = (strategy.rolling_sync if strategy else None) or {}
    auto = rolling.get(AUTO_ROLLBACK, False) if isinstance(rolling, Mapping) else False
    if not isinstance(auto, bool):
        raise errors.InputError(
            "must be true or false", file=file, obj=obj, field=f"spec.strategy.rollingSync.{AUTO_ROLLBACK}"
        )
    spec = GateSpec(
        soak=soak,
        approval=approval,
        metric=notes.get(STEP_METRIC, "").strip(),
        prometheus=notes.get(PROMETHEUS_URL, "").strip(),
        auto_rollback=auto,
    )
    return spec.check(where=f"metadata.annotations[{STEP_METRIC}]", file=file, obj=obj)


@dataclass(frozen=True)
class Decision:
    """Whether step ``step`` may start, and if not, what holds it and how long that may take."""

    open: bool
    kind: GateKind | None = None
    message: str = ""
    wait: float = 0.0  # seconds until it may open by itself (soak; metric: the polling interval)


OPEN = Decision(True)


def decide(
    spec: GateSpec,
    *,
    step: int,
    fingerprint: str,
    record: store_model.RolloutRecord | None,
    previous_completed_at: float | None,
    now: float,
    metric: Callable[[str, str], Decision] | None = None,
) -> Decision:
    """The gates before ``step`` (1-based; the first step has none but an abort)."""
    same = record is not None and record.position.fingerprint == fingerprint
    if same and record is not None and record.aborted:
        by = f" by {record.aborted_by}" if record.aborted_by else ""
        why = f": {record.abort_message}" if record.abort_message else ""
        return Decision(False, GateKind.ABORTED, f"the rollout was aborted{by} at {record.aborted_at}{why}")
    if step <= 1:
        return OPEN
    if same and record is not None and record.position.passed >= step:
        return OPEN  # passed in an earlier run: not again
    if spec.soak > 0:
        since = previous_completed_at if previous_completed_at is not None else now
        left = since + spec.soak - now
        if left > 0:
            return Decision(
                False,
                GateKind.SOAK,
                f"soaking: step {step - 1} completed {now - since:.0f}s ago, step {step} starts "
                f"{spec.soak:.0f}s after it ({left:.0f}s left)",
                wait=left,
            )
    if spec.approval:
        approved = record.approved if (same and record is not None) else 0
        if approved < step:
            return Decision(
                False,
                GateKind.APPROVAL,
                f"step {step} waits for approval: fleet rollout approve FLEET --rollout ROLLOUT",
            )
    if spec.metric:
        found = (metric or query_prometheus)(spec.prometheus, spec.metric)
        if not found.open:
            return found
    return OPEN


def query_prometheus(url: str, expression: str, *, timeout: float = 10.0) -> Decision:
    """Evaluate ``expression`` at Prometheus's current time (``GET /api/v1/query``)."""
    where = f"metric {expression!r} at {url}"
    try:
        response = requests.get(
            url.rstrip("/") + "/api/v1/query", params={"query": expression}, timeout=timeout
        )
        body = response.json()
    except (requests.RequestException, json.JSONDecodeError) as exc:
        return Decision(
            False,
            GateKind.METRIC,
            f"{where}: Prometheus did not answer: {type(exc).__name__}",
            METRIC_INTERVAL,
        )
    if body.get("status") != "success":
        return Decision(
            False,
            GateKind.METRIC,
            f"{where}: query failed: {body.get('error') or response.status_code}",
            METRIC_INTERVAL,
        )
    data = body.get("data") or {}
    kind, found = data.get("resultType"), data.get("result")
    if kind in ("scalar", "string"):
        values = [found[1]] if isinstance(found, list) and len(found) == 2 else []
    else:
        values = [sample.get("value", [0, "0"])[1] for sample in (found or [])]
    if not values:
        return Decision(False, GateKind.METRIC, f"{where}: not true yet (empty result)", METRIC_INTERVAL)
    if any(float(v) == 0 for v in values):
        return Decision(False, GateKind.METRIC, f"{where}: not true yet (a sample is 0)", METRIC_INTERVAL)
    return OPEN


def position_after(
    previous: results.RolloutPosition | None,
    *,
    fleet: str,
    fingerprint: str,
    steps: int,
    passed: int,
    completed: Mapping[int, float],
    held_at: int,
    gate: str,
) -> results.RolloutPosition:
    """Where a rollout stands after this run: what it passed and completed before (same
    fingerprint) kept, with this run's added (first completion times win)."""
    kept = previous if previous is not None and previous.fingerprint == fingerprint else None
    done = dict(kept.completed) if kept else {}
    for step, when in completed.items():
        done.setdefault(step, when)
    return results.RolloutPosition(
        fleet=fleet,
        fingerprint=fingerprint,
        passed=max(passed, kept.passed if kept else 0),
        completed=done,
        held_at=held_at,
        gate=gate,
        steps=steps,
    )


__all__ = [
    "AUTO_ROLLBACK",
    "PROMETHEUS_URL",
    "STEP_APPROVAL",
    "STEP_METRIC",
    "STEP_SOAK",
    "Decision",
    "GateKind",
    "GateSpec",
    "decide",
    "parse_appset",
    "position_after",
    "query_prometheus",
]
