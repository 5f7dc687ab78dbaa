"""Notifications after a run: tell people when the fleet changes state, without spamming them.

Where it sits: the very end of the data flow. ``fleet.driver.run_recorded`` records a ``RunResult``
in the status store, then its caller calls ``after_run`` (``fleet.driver.recording.notify_after``),
which

1. finds the previous recorded run of the same kind (``store.Store.previous_run``);
2. computes the transitions between the two (``transitions``, a pure function): which
   Applications became OutOfSync or Degraded, which are Synced and Healthy again, which clusters
   failed or recovered, which generation errors appeared or were fixed;
3. decides whether to notify (``decide``, pure): ``--notify-on always`` every run, ``change``
   (the default) when the transitions are not empty or the run's ok flag flipped, ``failure``
   when the run is not ok and it differs from the previous run (or that one was ok). A
   ``fleet sync --every 60s`` loop over an unchanged fleet therefore stays quiet;
4. sends the notification to every target: a generic JSON webhook, a Slack-compatible incoming
   webhook, a Markdown file (e.g. ``$GITHUB_STEP_SUMMARY``).

A notification never changes the run's exit code and never aborts anything: a target that fails
(after a bounded retry with backoff on 5xx, 429 and connection errors) is logged as a warning.
Webhook URLs are credentials (Slack's carries its token in the path): they may be secret
references (``ref+vault://kv/data/notify#/url``) resolved only at send time, every URL is
registered with ``fleet.redact``, and logs name only the URL's host. Payloads are built from the
``RunResult`` alone, pass every string through ``fleet.redact.mask``, carry no links, and carry
no diffs unless ``include_diffs`` (``--notify-include-diffs``).

The generic webhook's JSON payload (``schema: fleet.notification/v1``)::

    {
      "schema": "fleet.notification/v1",
      "run_id": "20250101T120000-abc123", "kind": "sync" | "dry-run" | "diff", "ok": false,
      "started_at": "...Z", "finished_at": "...Z", "revision": "<commit>", "selector": "",
      "trigger": {"policy": "change", "reason": "2 changes since run ..."},
      "previous": {"run_id": "...", "ok": true, "finished_at": "...Z"} | null,
      "summary": {RunResult.summary(): clusters, clusters_failed, applications, synced,
                  out_of_sync, unknown, healthy, degraded, progressing, objects, changed, ...},
      "transitions": [{"change": "degraded", "cluster": "c001", "app": "web-c001",
                       "before": {"sync": "Synced", "health": "Healthy", "reason": "Succeeded",
                                  "deletion": null} | null,
                       "after": {...} | null, "reason": "", "message": "..."}],
      "attention": [{"cluster": "c001", "app": "web-c001", "project": "default",
                     "namespace": "web", "sync": "OutOfSync", "health": "Degraded",
                     "reason": "HealthCheckFailed", "message": "...", "rollout": "Failed" | null,
                     "diffs": [{"object": "apps/Deployment:web/web", "action": "configured",
                                "diff": "..."}]   # only with include_diffs
                    }],
      "failed_clusters": [{"cluster": "c003", "reason": "ClusterUnreachable", "message": "..."}],
      "generation_errors": ["..."],
      "rollouts": [{"name": "web", "strategy": "RollingSync", "completed": false,
                    "stopped_at": 2, "message": "...",
                    "steps": [{"step": 1, "state": "Completed", "applications": 3}]}],
      "notes": ["..."],
      "truncated": {"attention": 0, "transitions": 0}
    }

``attention`` and ``transitions`` list at most ``MAX_LISTED`` entries each (worst first);
``truncated`` says how many were left out.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from enum import StrEnum
from pathlib import Path
from typing import Any, ClassVar, NamedTuple, Protocol

from fleet import errors, log, redact, report, results, store
from fleet.health import Health
from fleet.secrets import resolver as secret_resolver
from fleet.status import Reason, SyncStatus

_log = log.get_logger(__name__)

SCHEMA = "fleet.notification/v1"
MAX_LISTED = 200  # entries per list in a webhook payload (a failing fleet of thousands stays postable)
SLACK_LINES = 10  # lines per Slack section (Slack shows at most 3000 characters per section)
SLACK_SECTION_CHARS = 2900
DIFF_CHARS = 20_000  # per diff in a payload, with --notify-include-diffs
MAX_BACKOFF = 8.0
DIFFS_LEFT_OUT = "(diff left out of notifications; --notify-include-diffs shows it)"


class NotifyOn(StrEnum):
    """``--notify-on``: when a run sends notifications."""

    ALWAYS = "always"  # after every run
    CHANGE = "change"  # when something changed since the previous run of the same kind, or ok flipped
    FAILURE = "failure"  # when the run is not ok and it differs from the previous run (or that was ok)


class TargetKind(StrEnum):
    """Where a notification goes."""

    WEBHOOK = "webhook"  # a generic JSON webhook: POST of the documented payload (SCHEMA)
    SLACK = "slack"  # a Slack-compatible incoming webhook: POST of {"text", "blocks"}
    MARKDOWN = "markdown"  # a file: the Markdown report, written aside and renamed into place


class Change(StrEnum):
    """What one transition between two runs is. Declared worst first: lists are sorted this way."""

    GENERATION_ERROR = "generation-error"  # an ApplicationSet / generation error appeared
    CLUSTER_FAILED = "cluster-failed"  # a cluster failed as a whole (unreachable, timeout, worker lost)
    DEGRADED = "degraded"  # an Application's health became Degraded
    OUT_OF_SYNC = "out-of-sync"  # an Application became OutOfSync
    CHANGED = "changed"  # its sync status, health or reason changed otherwise (Progressing, Unknown, ...)
    GONE = "gone"  # in the previous run, not in this one (removed from Git, or not selected this time)
    DELETED = "deleted"  # removed from Git: this run deleted it (or kept or preserved its resources)
    ADDED = "added"  # first seen in this run
    GENERATION_ERROR_FIXED = "generation-error-fixed"  # a generation error of the previous run is gone
    CLUSTER_RECOVERED = "cluster-recovered"  # a cluster that failed as a whole answered again
    RECOVERED = "recovered"  # an Application is Synced and Healthy again

    @property
    def rank(self) -> int:
        return list(Change).index(self)


class AppState(NamedTuple):
    """What is compared between runs for one Application on one cluster (not its message: it
    may hold timings and object counts that differ every run)."""

    sync: SyncStatus
    health: Health
    reason: Reason
    deletion: results.Deletion | None = None

    @property
    def ok(self) -> bool:
        return self.sync is SyncStatus.SYNCED and self.health in (Health.HEALTHY, Health.SUSPENDED)

    def text(self) -> str:
        shown = f"{self.sync.value}/{self.health.value} ({self.reason.value})"
        return f"{shown} [{self.deletion.value}]" if self.deletion else shown

    def to_json(self) -> dict[str, Any]:
        return {
            "sync": self.sync.value,
            "health": self.health.value,
            "reason": self.reason.value,
            "deletion": self.deletion.value if self.deletion else None,
        }


@dataclasses.dataclass(frozen=True)
class Transition:
    """One thing that changed between the previous run and this one."""

    change: Change
    cluster: str = ""
    app: str = ""
    before: AppState | None = None
    after: AppState | None = None
    reason: str = ""  # a cluster's failure reason (cluster-failed)
    message: str = ""  # the Application's or cluster's message in this run, or the generation error

    def describe(self) -> str:
        """One line for people (Slack, Markdown)."""
        if self.change in (Change.GENERATION_ERROR, Change.GENERATION_ERROR_FIXED):
            verb = "new generation error" if self.change is Change.GENERATION_ERROR else "fixed"
            return f"{verb}: {_one_line(self.message, 200)}"
        if self.change is Change.CLUSTER_FAILED:
            return f"cluster {self.cluster} failed: {self.reason}: {_one_line(self.message, 160)}"
        if self.change is Change.CLUSTER_RECOVERED:
            return f"cluster {self.cluster} recovered"
        where = f"{self.cluster}/{self.app}"
        before = self.before.text() if self.before else "(not in the run)"
        after = self.after.text() if self.after else "(not in the run)"
        return f"{where}: {self.change.value}: {before} -> {after}"

    def to_json(self) -> dict[str, Any]:
        return {
            "change": self.change.value,
            "cluster": self.cluster,
            "app": self.app,
            "before": self.before.to_json() if self.before else None,
            "after": self.after.to_json() if self.after else None,
            "reason": self.reason,
            "message": self.message,
        }


@dataclasses.dataclass(frozen=True)
class Decision:
    """Whether a run notifies, and why (the reason goes into the payload and the log)."""

    notify: bool
    why: str


# --- the pure core: states, transitions, the trigger policy -------------------------------------


def app_states(run: results.RunResult) -> dict[tuple[str, str], AppState]:
    """``(cluster, app) -> AppState`` for every Application in the run."""
    return {
        (app.cluster, app.name): AppState(app.sync_status, app.health, app.reason, app.deletion)
        for app in run.apps()
    }


def _cluster_failures(run: results.RunResult) -> dict[str, results.ClusterResult]:
    return {c.cluster: c for c in run.clusters if c.reason is not None}


def _classify(before: AppState | None, after: AppState) -> Change:
    if after.deletion is not None and (before is None or before.deletion is not after.deletion):
        return Change.DELETED
    if after.health is Health.DEGRADED and (before is None or before.health is not Health.DEGRADED):
        return Change.DEGRADED
    if after.sync is SyncStatus.OUT_OF_SYNC and (before is None or before.sync is not SyncStatus.OUT_OF_SYNC):
        return Change.OUT_OF_SYNC
    if before is None:
        return Change.ADDED
    if after.ok and not before.ok:
        return Change.RECOVERED
    return Change.CHANGED


def transitions(previous: results.RunResult | None, current: results.RunResult) -> tuple[Transition, ...]:
    """What changed from ``previous`` to ``current``, worst first (pure).

    Without a previous run, everything in ``current`` is new: each Application is ``added``
    (or ``degraded`` / ``out-of-sync`` when it is), each failed cluster and generation error too.
    """
    found: list[Transition] = []
    before_states = app_states(previous) if previous is not None else {}
    after_states = app_states(current)
    messages = {(a.cluster, a.name): a.message for a in current.apps()}
    for key, after in after_states.items():
        before = before_states.get(key)
        if before == after:
            continue
        found.append(
            Transition(
                _classify(before, after),
                cluster=key[0],
                app=key[1],
                before=before,
                after=after,
                message=messages[key],
            )
        )
    for key, before in before_states.items():
        if key not in after_states:
            found.append(Transition(Change.GONE, cluster=key[0], app=key[1], before=before))
    failed_before = _cluster_failures(previous) if previous is not None else {}
    failed_after = _cluster_failures(current)
    for name, cluster in failed_after.items():
        earlier = failed_before.get(name)
        if earlier is None or earlier.reason is not cluster.reason:
            found.append(
                Transition(
                    Change.CLUSTER_FAILED,
                    cluster=name,
                    reason=cluster.reason.value if cluster.reason else "",
                    message=cluster.message,
                )
            )
    answered = {c.cluster for c in current.clusters if c.reason is None}
    for name in failed_before:
        if name in answered:
            found.append(Transition(Change.CLUSTER_RECOVERED, cluster=name))
    errors_before = set(previous.errors) if previous is not None else set()
    errors_after = set(current.errors)
    found.extend(Transition(Change.GENERATION_ERROR, message=e) for e in sorted(errors_after - errors_before))
    found.extend(
        Transition(Change.GENERATION_ERROR_FIXED, message=e) for e in sorted(errors_before - errors_after)
    )
    return tuple(sorted(found, key=lambda t: (t.change.rank, t.cluster, t.app, t.message)))


def decide(
    on: NotifyOn | str,
    previous: results.RunResult | None,
    current: results.RunResult,
    changes: Sequence[Transition] | None = None,
) -> Decision:
    """The trigger policy (pure). ``changes`` defaults to ``transitions(previous, current)``."""
    on = NotifyOn(on)
    if on is NotifyOn.ALWAYS:
        return Decision(True, "--notify-on always")
    if changes is None:
        changes = transitions(previous, current)
    state = "ok" if current.ok else "not ok"
    if previous is None:
        if on is NotifyOn.FAILURE and current.ok:
            return Decision(False, f"the run is ok (no earlier {current.kind.value} run to compare with)")
        return Decision(True, f"the run is {state}; no earlier {current.kind.value} run to compare with")
    parts = []
    if previous.ok != current.ok:
        parts.append(f"the run is {state} (run {previous.run_id} was {'ok' if previous.ok else 'not ok'})")
    if changes:
        parts.append(f"{len(changes)} change{'s' if len(changes) != 1 else ''} since run {previous.run_id}")
    changed = bool(parts)
    if on is NotifyOn.CHANGE:
        if changed:
            return Decision(True, "; ".join(parts))
        return Decision(False, f"nothing changed since run {previous.run_id}")
    # FAILURE
    if current.ok:
        return Decision(False, "the run is ok")
    if changed:
        return Decision(True, "; ".join(parts))
    return Decision(False, f"still not ok, and nothing changed since run {previous.run_id}")


# --- what a notification says ----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Notification:
    """Everything a target needs: the run, what it is compared with, the transitions and why it
    is sent. Every payload builder leaves the run's diffs out unless ``include_diffs``."""

    run: results.RunResult
    previous: results.RunResult | None
    transitions: tuple[Transition, ...]
    decision: Decision
    policy: NotifyOn = NotifyOn.CHANGE
    include_diffs: bool = False

    @property
    def data(self) -> report.ReportData:
        history = (self.run, self.previous) if self.previous is not None else (self.run,)
        return report.ReportData(run=self.run, history=history)


def without_diffs(run: results.RunResult) -> results.RunResult:
    """The run with every resource diff replaced by a short note (diffs may be long)."""

    def strip(app: results.AppResult) -> results.AppResult:
        if not any(r.diff for r in app.resources):
            return app
        resources = tuple(
            r.model_copy(update={"diff": DIFFS_LEFT_OUT}) if r.diff else r for r in app.resources
        )
        return app.model_copy(update={"resources": resources})

    clusters = tuple(c.model_copy(update={"apps": tuple(strip(a) for a in c.apps)}) for c in run.clusters)
    return run.model_copy(update={"clusters": clusters})


def build(
    run: results.RunResult,
    previous: results.RunResult | None,
    *,
    on: NotifyOn | str = NotifyOn.CHANGE,
    include_diffs: bool = False,
) -> Notification:
    """The notification for ``run`` compared with ``previous`` (whether or not it is to be sent)."""
    changes = transitions(previous, run)
    return Notification(
        run=run,
        previous=previous,
        transitions=changes,
        decision=decide(on, previous, run, changes),
        policy=NotifyOn(on),
        include_diffs=include_diffs,
    )


def masked(value: Any) -> Any:
    """``value`` (JSON-like) with every registered secret masked in every string, keys included."""
    if isinstance(value, str):
        return redact.mask(value)
    if isinstance(value, Mapping):
        return {masked(k): masked(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [masked(v) for v in value]
    return value


def _attention_entry(app: results.AppResult, *, include_diffs: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "cluster": app.cluster,
        "app": app.name,
        "project": app.project,
        "namespace": app.namespace,
        "sync": app.sync_status.value,
        "health": app.health.value,
        "reason": app.reason.value,
        "message": app.message,
        "rollout": app.rollout.state.value if app.rollout else None,
    }
    if include_diffs:
        entry["diffs"] = [
            {"object": r.ref, "action": r.action.value, "diff": _clip(r.diff, DIFF_CHARS)}
            for r in app.resources
            if r.diff
        ]
    return entry


def webhook_payload(note: Notification) -> dict[str, Any]:
    """The generic webhook's JSON document (the module docstring documents it), masked."""
    run = note.run
    data = note.data
    attention = data.attention()
    listed_changes = note.transitions[:MAX_LISTED]
    payload = {
        "schema": SCHEMA,
        "run_id": run.run_id,
        "kind": run.kind.value,
        "ok": run.ok,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "revision": run.revision,
        "selector": run.selector,
        "trigger": {"policy": note.policy.value, "reason": note.decision.why},
        "previous": (
            {"run_id": note.previous.run_id, "ok": note.previous.ok, "finished_at": note.previous.finished_at}
            if note.previous is not None
            else None
        ),
        "summary": run.summary(),
        "transitions": [t.to_json() for t in listed_changes],
        "attention": [_attention_entry(a, include_diffs=note.include_diffs) for a in attention[:MAX_LISTED]],
        "failed_clusters": [
            {"cluster": c.cluster, "reason": c.reason.value if c.reason else "", "message": c.message}
            for c in data.failed_clusters()
        ],
        "generation_errors": list(run.errors),
        "rollouts": [
            {
                "name": r.name,
                "strategy": r.strategy,
                "completed": r.completed,
                "stopped_at": r.stopped_at,
                "message": r.message,
                "steps": [
                    {"step": s.step, "state": s.state.value, "applications": s.applications} for s in r.steps
                ],
                "rollbacks": [b.model_dump(mode="json") for b in r.rollbacks[:MAX_LISTED]],
            }
            for r in run.rollouts
        ],
        "notes": list(run.notes),
        "truncated": {
            "attention": max(0, len(attention) - MAX_LISTED),
            "transitions": max(0, len(note.transitions) - MAX_LISTED),
        },
    }
    return masked(payload)


def _md(text: str) -> str:
    """A Markdown table cell: pipes escaped, one line (as the report's templates do)."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def _slack_escape(text: str) -> str:
    # Slack's mrkdwn treats these three as control characters (links, mentions).
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _one_line(text: str, limit: int) -> str:
    return _clip(" ".join(str(text).split()), limit)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(0, limit - 1)] + "…"


def _slack_list(title: str, lines: Sequence[str]) -> dict[str, Any]:
    shown = [f"• {_slack_escape(line)}" for line in lines[:SLACK_LINES]]
    if len(lines) > SLACK_LINES:
        shown.append(f"…and {len(lines) - SLACK_LINES} more")
    text = _clip(f"*{title}*\n" + "\n".join(shown), SLACK_SECTION_CHARS)
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def headline(note: Notification) -> str:
    """One line: what kind of run, ok or not, the counts that matter."""
    run = note.run
    s = run.summary()
    # Applications removed from Git are not counted as Synced and Healthy once deleted (issue 8).
    present = [a for a in run.apps() if a.deletion is None]
    ok_apps = sum(1 for a in present if a.ok)
    state = "OK" if run.ok else "attention needed"
    parts = [
        f"{ok_apps}/{len(present)} Applications Synced and Healthy",
        f"{s['out_of_sync']} OutOfSync",
        f"{s['degraded']} Degraded",
        f"{s['clusters_failed']}/{s['clusters']} clusters failed",
    ]
    if s["generation_errors"]:
        parts.append(f"{s['generation_errors']} generation errors")
    changes = len(note.transitions)
    tail = f"; {changes} change{'s' if changes != 1 else ''} since the previous run" if note.previous else ""
    return f"fleet {run.kind.value} {state}: " + ", ".join(parts) + tail


def _rollback_line(entry: results.Rollback) -> str:
    """One Application's automatic rollback, e.g. "rolled back c002/web: abc1234 -> 9f8e7d6"."""
    where = f"{entry.cluster}/{entry.app}"
    if not entry.to_revision:
        return f"not rolled back {where}: {_one_line(entry.message, 120)}"
    verdict = "rolled back" if entry.ok else "rollback failed for"
    return f"{verdict} {where}: {entry.from_revision[:12]} -> {entry.to_revision[:12]}"


def slack_payload(note: Notification) -> dict[str, Any]:
    """A Slack incoming-webhook message: ``text`` (the notification line) and compact ``blocks``."""
    run = note.run
    data = note.data
    s = run.summary()
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {
                "type": "plain_text",
                "text": _clip(f"fleet {run.kind.value}: {'OK' if run.ok else 'attention needed'}", 150),
            },
        },
        {
            "type": "section",
            "fields": [
                {
                    "type": "mrkdwn",
                    "text": f"*Applications*\n{s['applications']} "
                    f"({s['synced']} Synced, {s['healthy']} Healthy)",
                },
                {"type": "mrkdwn", "text": f"*OutOfSync / Degraded*\n{s['out_of_sync']} / {s['degraded']}"},
                {"type": "mrkdwn", "text": f"*Clusters failed*\n{s['clusters_failed']} of {s['clusters']}"},
                {"type": "mrkdwn", "text": f"*Revision*\n`{_slack_escape(run.revision[:12] or '-')}`"},
            ],
        },
    ]
    if note.transitions:
        blocks.append(_slack_list("Changes since the previous run", [t.describe() for t in note.transitions]))
    attention = data.attention()
    if attention:
        blocks.append(
            _slack_list(
                "Need attention",
                [
                    f"{a.cluster}/{a.name}: {a.sync_status.value}/{a.health.value} ({a.reason.value})"
                    + (f": {_one_line(a.message, 120)}" if a.message else "")
                    for a in attention
                ],
            )
        )
    failed = data.failed_clusters()
    if failed:
        blocks.append(
            _slack_list(
                "Clusters that failed",
                [
                    f"{c.cluster}: {c.reason.value if c.reason else ''}: {_one_line(c.message, 120)}"
                    for c in failed
                ],
            )
        )
    if run.errors:
        blocks.append(_slack_list("Generation errors", [_one_line(e, 200) for e in run.errors]))
    for found in run.rollouts:
        if found.stopped_at:
            line = f"stopped at step {found.stopped_at}/{len(found.steps)}: {_one_line(found.message, 200)}"
            lines = [line] + [_rollback_line(b) for b in found.rollbacks]
            blocks.append(_slack_list(f"Rollout {found.name}", lines))
    if note.include_diffs:
        diffs = [(a, r) for a in attention for r in a.resources if r.diff][:SLACK_LINES]
        for app, resource in diffs:
            body = _clip(resource.diff.replace("```", "'''"), SLACK_SECTION_CHARS - 200)
            text = (
                f"*{_slack_escape(f'{app.cluster}/{app.name} {resource.ref}')}*\n```{_slack_escape(body)}```"
            )
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text}})
    blocks.append(
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": _slack_escape(_clip(f"run {run.run_id} · {note.decision.why}", 2900)),
                }
            ],
        }
    )
    return masked({"text": headline(note), "blocks": blocks[:50]})


def markdown_text(note: Notification) -> str:
    """The Markdown report of the run, with the transitions under its title (masked)."""
    # The report shows the diffs of drifted objects: left out here unless asked for.
    run = note.run if note.include_diffs else without_diffs(note.run)
    history = (run, note.previous) if note.previous is not None else (run,)
    text = report.render(run, history, fmt=report.Format.MARKDOWN)
    lines = [f"## Changes since the previous {note.run.kind.value} run", ""]
    if note.previous is None:
        lines.append(f"No earlier {note.run.kind.value} run to compare with.")
    elif not note.transitions:
        lines.append(f"Nothing changed since run `{note.previous.run_id}`.")
    else:
        lines.append(f"Compared with run `{note.previous.run_id}`: {note.decision.why}.")
        lines.append("")
        lines.append("| change | cluster | application | before | after | message |")
        lines.append("| --- | --- | --- | --- | --- | --- |")
        for t in note.transitions:
            before = t.before.text() if t.before else "-"
            after = t.after.text() if t.after else (t.reason or "-")
            lines.append(
                f"| {t.change.value} | {_md(t.cluster or '-')} | {_md(t.app or '-')} | {before} | {after} | "
                f"{_md(_one_line(t.message, 300))} |"
            )
    section = "\n".join(lines) + "\n"
    title, sep, rest = text.partition("\n")
    if title.startswith("# ") and sep:
        return redact.mask(f"{title}\n\n{section}{rest}")
    return redact.mask(f"{section}\n{text}")


# --- delivery ----------------------------------------------------------------------------------


class DeliveryError(errors.FleetError):
    """A target could not be reached or refused the notification. The message never holds the
    URL (a credential): only what went wrong and how often it was tried."""

    def __init__(self, message: str, *, where: str, attempts: int = 0, retryable: bool = False) -> None:
        super().__init__(message)
        self.where = where
        self.attempts = attempts
        self.retryable = retryable


@dataclasses.dataclass(frozen=True)
class Delivery:
    """How sending to one target went (safe to log: a host or a file path, never a URL)."""

    target: TargetKind
    where: str
    ok: bool
    status: int | None = None
    attempts: int = 0
    error: str = ""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Transport:
    """How HTTP targets send: a timeout per attempt, a bounded retry with exponential backoff."""

    timeout: float = 10.0  # seconds per attempt (connect and answer together)
    retries: int = 2  # further attempts after a 5xx, a 429 or a connection error
    backoff: float = 0.5  # seconds before the first retry; doubled each time, at most MAX_BACKOFF
    sleep: Callable[[float], None] = time.sleep


def _host(url: str) -> str:
    try:
        return urllib.parse.urlsplit(url).hostname or "(no host)"
    except ValueError:
        return "(not a URL)"


def _reason(exc: BaseException) -> str:
    """What went wrong, in words that can never quote the URL (urllib3's messages include its path)."""
    import urllib3

    chain: list[BaseException] = []
    seen: BaseException | None = exc
    while seen is not None and len(chain) < 8:
        chain.append(seen)
        nested = getattr(seen, "reason", None)
        seen = nested if isinstance(nested, BaseException) else (seen.__cause__ or seen.__context__)
    exceptions = urllib3.exceptions
    checks: list[tuple[type[BaseException] | tuple[type[BaseException], ...], str]] = [
        (exceptions.NameResolutionError, "host name not resolved"),
        (ConnectionRefusedError, "connection refused"),
        (ConnectionResetError, "connection reset"),
        (exceptions.NewConnectionError, "could not connect"),  # (a subclass of ConnectTimeoutError)
        ((exceptions.TimeoutError, TimeoutError), "timed out"),
        (exceptions.SSLError, "TLS error"),
        (exceptions.ProtocolError, "connection lost"),
    ]
    for kind, words in checks:
        if any(isinstance(e, kind) for e in chain):
            return words
    return f"connection failed ({type(exc).__name__})"


def _pool(url: str, timeout: float) -> Any:
    import urllib3

    kw: dict[str, Any] = {"timeout": urllib3.Timeout(total=timeout), "retries": False}
    scheme = urllib.parse.urlsplit(url).scheme
    proxy = urllib.request.getproxies().get(
        scheme
    )  # HTTPS_PROXY / NO_PROXY as other HTTP clients honour them
    if proxy and not urllib.request.proxy_bypass(_host(url)):
        return urllib3.ProxyManager(proxy, **kw)
    return urllib3.PoolManager(**kw)


def post_json(url: str, document: Mapping[str, Any], *, transport: Transport) -> Delivery:
    """POST ``document`` as JSON; a 2xx answer is success. Retries 5xx, 429 and connection
    errors up to ``transport.retries`` times with backoff; raises ``DeliveryError`` at the end.

    The retry loop is ours rather than urllib3's ``Retry``: urllib3 logs each retry with the
    request path at WARNING, and a webhook's path is its credential.
    """
    import urllib3

    where = _host(url)
    body = json.dumps(document).encode()
    headers = {"Content-Type": "application/json", "User-Agent": "fleet-notify"}
    try:
        http = _pool(url, transport.timeout)
    except (ValueError, urllib3.exceptions.HTTPError) as exc:
        raise DeliveryError(f"the proxy settings are unusable ({type(exc).__name__})", where=where) from None
    attempt = 0
    while True:
        attempt += 1
        try:
            response = http.request("POST", url, body=body, headers=headers, redirect=False, retries=False)
        except urllib3.exceptions.LocationValueError:
            raise DeliveryError("not a usable http(s) URL", where=where, attempts=attempt) from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            problem, retryable = _reason(exc), True
        else:
            if 200 <= response.status < 300:
                return Delivery(TargetKind.WEBHOOK, where, True, status=response.status, attempts=attempt)
            problem = f"HTTP {response.status}"
            if 300 <= response.status < 400:
                problem += " (redirects are not followed: give the final URL)"
            retryable = response.status >= 500 or response.status == 429
        if not retryable or attempt > transport.retries:
            raise DeliveryError(
                f"{problem} after {attempt} attempt{'s' if attempt != 1 else ''}",
                where=where,
                attempts=attempt,
                retryable=retryable,
            )
        delay = min(transport.backoff * 2 ** (attempt - 1), MAX_BACKOFF)
        _log.info(
            "notification attempt failed; retrying",
            extra={
                "fields": {
                    "event": "notify",
                    "host": where,
                    "attempt": attempt,
                    "error": problem,
                    "retry_in": round(delay, 2),
                }
            },
        )
        transport.sleep(delay)


def _resolve_url(url: str, resolver: secret_resolver.Resolver | None, *, flag: str) -> str:
    """A URL that holds secret references, resolved now (send time); the value is registered."""
    from fleet.secrets import refs

    if not refs.contains_reference(url):
        return url
    resolved = (resolver or secret_resolver.Resolver()).for_cluster(None).resolve_string(url, where=flag)
    redact.register(resolved)
    return resolved.strip()


class Target(Protocol):
    """One place a notification goes. ``send`` returns how it went or raises ``DeliveryError``;
    ``label`` is safe to log (no URL)."""

    kind: ClassVar[TargetKind]

    @property
    def label(self) -> str: ...

    def send(
        self, note: Notification, *, transport: Transport, resolver: secret_resolver.Resolver | None = None
    ) -> Delivery: ...


@dataclasses.dataclass(frozen=True)
class WebhookTarget:
    """A generic JSON webhook: POST of ``webhook_payload`` (schema ``fleet.notification/v1``)."""

    url: str = dataclasses.field(repr=False)  # a credential: never logged, never in a repr
    kind: ClassVar[TargetKind] = TargetKind.WEBHOOK
    flag: ClassVar[str] = "--notify-webhook"

    @property
    def label(self) -> str:
        return "(secret reference)" if _is_reference(self.url) else _host(self.url)

    def payload(self, note: Notification) -> dict[str, Any]:
        return webhook_payload(note)

    def send(
        self, note: Notification, *, transport: Transport, resolver: secret_resolver.Resolver | None = None
    ) -> Delivery:
        try:
            url = _resolve_url(self.url, resolver, flag=self.flag)
        except errors.FleetError as exc:
            # Resolver errors name the reference, never its value.
            raise DeliveryError(f"the URL did not resolve: {exc}", where=self.label) from None
        try:
            _check_url(url, where=self.flag, resolved=True)
        except errors.InputError as exc:
            raise DeliveryError(exc.message, where=self.label) from None
        delivered = post_json(url, self.payload(note), transport=transport)
        return dataclasses.replace(delivered, target=self.kind)


@dataclasses.dataclass(frozen=True)
class SlackTarget(WebhookTarget):
    """A Slack-compatible incoming webhook (Slack, Mattermost, Rocket.Chat): ``text`` + ``blocks``."""

    kind: ClassVar[TargetKind] = TargetKind.SLACK
    flag: ClassVar[str] = "--notify-slack"

    def payload(self, note: Notification) -> dict[str, Any]:
        return slack_payload(note)


@dataclasses.dataclass(frozen=True)
class MarkdownTarget:
    """A Markdown file (e.g. ``$GITHUB_STEP_SUMMARY``): written aside, then renamed into place,
    so a reader never sees half a report."""

    path: str
    kind: ClassVar[TargetKind] = TargetKind.MARKDOWN

    @property
    def label(self) -> str:
        return self.path

    def send(
        self, note: Notification, *, transport: Transport, resolver: secret_resolver.Resolver | None = None
    ) -> Delivery:
        try:
            write_atomic(self.path, markdown_text(note))
        except OSError as exc:
            raise DeliveryError(
                f"could not write the file ({exc.strerror or type(exc).__name__})", where=self.path
            ) from None
        return Delivery(self.kind, self.path, True, attempts=1)


def write_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to a temporary file beside ``path`` and rename it into place."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)  # CI runners and other readers may be another user
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


# --- settings (the CLI flags) and the entry point ----------------------------------------------


def _is_reference(text: str) -> bool:
    from fleet.secrets import refs

    return refs.contains_reference(text)


def _check_url(url: str, *, where: str, resolved: bool = False) -> None:
    """An http(s) URL with a host; the error never quotes it (it is a credential)."""
    what = "resolves to something that is not" if resolved else "must be"
    try:
        parts = urllib.parse.urlsplit(url)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname)
        _ = parts.port  # a port that is not a number raises here
    except ValueError:
        ok = False
    if not ok:
        raise errors.InputError(
            f"{what} an http(s) URL with a host (or a secret reference such as ref+vault://PATH#/url); "
            "the value is not shown, a webhook URL is a credential",
            field=where,
        )


def _check_reference(text: str, *, where: str) -> None:
    """Each reference parses and names a scheme some provider handles (references are not
    secrets: errors may show them)."""
    from fleet.secrets import providers, refs

    try:
        found = [refs.parse(match.group(0)) for match in refs.iter_matches(text)]
    except errors.FleetError as exc:
        raise errors.InputError(f"a malformed secret reference: {exc}", field=where) from None
    known = providers.schemes()
    for ref in found:
        if ref.scheme not in known:
            raise errors.InputError(
                f"{ref.display()}: no provider for scheme {ref.scheme!r} (known: {', '.join(known)})",
                field=where,
            )


@dataclasses.dataclass(frozen=True, kw_only=True)
class NotifySettings:
    """Where and when to notify (the ``--notify-*`` flags). URLs never appear in a repr."""

    webhooks: tuple[str, ...] = dataclasses.field(default=(), repr=False)
    slack: tuple[str, ...] = dataclasses.field(default=(), repr=False)
    markdown: str | None = None
    on: NotifyOn = NotifyOn.CHANGE
    include_diffs: bool = False
    transport: Transport = dataclasses.field(default_factory=Transport)

    @classmethod
    def from_options(
        cls,
        *,
        webhooks: Iterable[str] | None = None,
        slack: Iterable[str] | None = None,
        markdown: str | None = None,
        on: str | None = None,
        include_diffs: bool = False,
        transport: Transport | None = None,
    ) -> NotifySettings | None:
        """NotifySettings from the CLI flags, validated (InputError naming the flag, never a URL);
        None when no target is given."""
        hooks = tuple(w.strip() for w in webhooks or ())
        slacks = tuple(s.strip() for s in slack or ())
        for flag, urls in (("--notify-webhook", hooks), ("--notify-slack", slacks)):
            for url in urls:
                if _is_reference(url):
                    _check_reference(url, where=flag)  # its value is registered when it is resolved
                else:
                    redact.register(url)  # a webhook URL is a credential
                    _check_url(url, where=flag)
        if markdown is not None and not markdown.strip():
            raise errors.InputError("must name a file", field="--notify-markdown")
        try:
            policy = NotifyOn(on or NotifyOn.CHANGE)
        except ValueError:
            choices = ", ".join(p.value for p in NotifyOn)
            raise errors.InputError(f"must be one of {choices} (got {on!r})", field="--notify-on") from None
        if not hooks and not slacks and not markdown:
            if on is not None or include_diffs:
                flag = "--notify-on" if on is not None else "--notify-include-diffs"
                raise errors.InputError(
                    "needs a target: --notify-webhook, --notify-slack or --notify-markdown", field=flag
                )
            return None
        return cls(
            webhooks=hooks,
            slack=slacks,
            markdown=markdown,
            on=policy,
            include_diffs=include_diffs,
            transport=transport or Transport(),
        )

    def targets(self) -> list[Target]:
        found: list[Target] = [WebhookTarget(url) for url in self.webhooks]
        found.extend(SlackTarget(url) for url in self.slack)
        if self.markdown:
            found.append(MarkdownTarget(self.markdown))
        return found


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What ``after_run`` did: the notification it built and how each target went."""

    notification: Notification | None
    deliveries: tuple[Delivery, ...] = ()

    @property
    def sent(self) -> bool:
        return self.notification is not None and self.notification.decision.notify


def after_run(
    run: results.RunResult,
    settings: NotifySettings,
    *,
    state_dir: str | os.PathLike[str] | None = None,
    db: store.Store | None = None,
    resolver: secret_resolver.Resolver | None = None,
) -> Outcome:
    """Notify about ``run`` (already recorded) if the policy says so. Never raises: a failure is
    a warning in the log, and the run's result and exit code stay what they are.

    Parameters:
        db: the status store to find the previous run of the same kind in (default: the SQLite
            file in ``state_dir``, or what ``FLEET_STORE`` names).
        resolver: resolves URLs that are secret references (default: a new ``Resolver()``).
    """
    fields: dict[str, Any] = {"event": "notify", "run": run.run_id}
    try:
        previous = (db or store.Store(state_dir)).previous_run(run)
        note = build(run, previous, on=settings.on, include_diffs=settings.include_diffs)
    except Exception as exc:  # noqa: BLE001 - a notification must never break the run (a second
        # stop signal, errors.RunAbandoned, is a BaseException and passes through)
        _log.warning(
            "notification not sent: the previous run could not be read",
            extra={"fields": {**fields, "error": redact.mask(f"{type(exc).__name__}: {exc}")}},
        )
        return Outcome(None)
    if not note.decision.notify:
        _log.debug("no notification", extra={"fields": {**fields, "why": note.decision.why}})
        return Outcome(note)
    _log.info(
        "notifying",
        extra={"fields": {**fields, "why": note.decision.why, "transitions": len(note.transitions)}},
    )
    deliveries = []
    for target in settings.targets():
        deliveries.append(_deliver(target, note, settings=settings, resolver=resolver, fields=fields))
    return Outcome(note, tuple(deliveries))


def _deliver(
    target: Target,
    note: Notification,
    *,
    settings: NotifySettings,
    resolver: secret_resolver.Resolver | None,
    fields: dict[str, Any],
) -> Delivery:
    where = {**fields, "target": target.kind.value}
    try:
        delivered = target.send(note, transport=settings.transport, resolver=resolver)
    except DeliveryError as exc:
        _log.warning(
            f"notification to {target.kind.value} failed",
            extra={
                "fields": {
                    **where,
                    "host" if target.kind is not TargetKind.MARKDOWN else "file": exc.where,
                    "attempts": exc.attempts,
                    "error": exc.message,
                }
            },
        )
        return Delivery(target.kind, exc.where, False, attempts=exc.attempts, error=exc.message)
    except Exception as exc:  # noqa: BLE001 - a notification must never break the run (a second
        # stop signal, errors.RunAbandoned, is a BaseException and passes through)
        _log.warning(
            f"notification to {target.kind.value} failed",
            extra={"fields": {**where, "host": target.label, "error": f"{type(exc).__name__}"}},
        )
        return Delivery(target.kind, target.label, False, error=type(exc).__name__)
    _log.info(
        f"notification sent to {target.kind.value}",
        extra={
            "fields": {
                **where,
                "host" if target.kind is not TargetKind.MARKDOWN else "file": delivered.where,
                "status": delivered.status,
                "attempts": delivered.attempts,
            }
        },
    )
    return delivered


__all__ = [
    "SCHEMA",
    "AppState",
    "Change",
    "Decision",
    "Delivery",
    "DeliveryError",
    "MarkdownTarget",
    "Notification",
    "NotifyOn",
    "NotifySettings",
    "Outcome",
    "SlackTarget",
    "Target",
    "TargetKind",
    "Transition",
    "Transport",
    "WebhookTarget",
    "after_run",
    "app_states",
    "build",
    "decide",
    "markdown_text",
    "post_json",
    "slack_payload",
    "transitions",
    "webhook_payload",
    "without_diffs",
]
