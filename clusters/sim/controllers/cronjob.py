"""CronJob controller: creates a Job for each scheduled time, as the real controller (v2) does.

Each reconcile, in order:
1. **Look at its Jobs** (owned through ownerReferences): a Job that finished leaves
   ``status.active`` (event SawCompletedJob) and a Complete one sets ``lastSuccessfulTime``.
2. **Trim the history**: finished Jobs beyond ``successfulJobsHistoryLimit`` /
   ``failedJobsHistoryLimit`` are deleted, oldest first (SuccessfulDelete).
3. **Schedule**, unless ``suspend``: the most recent scheduled time since ``lastScheduleTime``
   (or creation), on the simulated clock and in ``spec.timeZone``. One already run, or one older
   than ``startingDeadlineSeconds``, starts nothing. ``concurrencyPolicy`` Forbid skips it while a
   Job is active (JobAlreadyActive), Replace deletes the active Jobs first, Allow runs alongside.
   The Job is named ``<cronjob>-<scheduled time in minutes>`` and annotated with its scheduled
   time (SuccessfulCreate).
4. **Wait** for the next scheduled time (``SimServer.advance_clock`` makes it come at once).

Schedules are parsed by croniter (standard five fields and the ``@hourly``-style macros).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Mapping
from typing import Any

from croniter import croniter

from fleet.clusters.sim import clock, events
from fleet.clusters.sim import controllers as ctl

MANAGER = "cronjob-controller"
SCHEDULED_ANNOTATION = "batch.kubernetes.io/cronjob-scheduled-timestamp"
TOO_MANY_MISSED = 100  # the real controller gives up counting missed times here


def zone(name: str | None) -> dt.tzinfo:
    """``spec.timeZone`` (an IANA name) or UTC; ValueError for an unknown zone."""
    if not name:
        return dt.UTC
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name}") from None


def valid_schedule(schedule: str) -> bool:
    return isinstance(schedule, str) and croniter.is_valid(schedule)


def _condition_of(job: Mapping[str, Any]) -> str:
    for cond in (job.get("status") or {}).get("conditions") or []:
        if cond.get("type") in ("Complete", "Failed") and cond.get("status") == "True":
            return str(cond["type"])
    return ""


def _ref(job: Mapping[str, Any]) -> dict[str, Any]:
    meta = job["metadata"]
    return {
        "kind": "Job",
        "namespace": meta["namespace"],
        "name": meta["name"],
        "uid": meta["uid"],
        "apiVersion": "batch/v1",
        "resourceVersion": meta["resourceVersion"],
    }


class CronJobController:
    name = MANAGER
    kinds = (("batch", "CronJob"),)

    def reconcile(self, ctx: ctl.Context, ref: ctl.Ref) -> float | None:
        entry = ctx.entry("batch", "CronJob", ref[2], ref[3])
        if entry is None or ctl.is_terminating(entry.obj):
            return None
        cron = entry.obj
        spec = cron.get("spec") or {}
        old_status = cron.get("status") or {}
        status: dict[str, Any] = {k: v for k, v in old_status.items() if k != "active"}
        now = ctx.time()

        # 1. Its Jobs: the active ones stay listed; finished ones are reported once.
        jobs = [e.obj for e in ctx.owned(cron, "batch", "Job") if not ctl.is_terminating(e.obj)]
        was_active = {a.get("uid") for a in old_status.get("active") or []}
        active = []
        for job in jobs:
            finished = _condition_of(job)
            if not finished:
                active.append(job)
                continue
            if job["metadata"]["uid"] in was_active:
                ctx.event(
                    cron,
                    events.EventType.NORMAL,
                    "SawCompletedJob",
                    f"Saw completed job: {job['metadata']['name']}, condition: {finished}",
                    component=MANAGER,
                )
            if finished == "Complete":
                done = (job.get("status") or {}).get("completionTime")
                if done and done > str(status.get("lastSuccessfulTime") or ""):
                    status["lastSuccessfulTime"] = done

        # 2. History limits.
        for condition, limit_field, default in (
            ("Complete", "successfulJobsHistoryLimit", 3),
            ("Failed", "failedJobsHistoryLimit", 1),
        ):
            limit = spec.get(limit_field, default)
            if limit is None:
                continue
            finished_jobs = sorted(
                (j for j in jobs if _condition_of(j) == condition),
                key=lambda j: ((j.get("status") or {}).get("startTime") or "", j["metadata"]["name"]),
            )
            for job in finished_jobs[: max(len(finished_jobs) - int(limit), 0)]:
                self._delete_job(ctx, cron, job)

        # 3. Schedule.
        requeue: float | None = None
        if not spec.get("suspend"):
            requeue, active = self._schedule(ctx, cron, spec, status, active, now)
        if active:
            status["active"] = [_ref(j) for j in sorted(active, key=lambda j: j["metadata"]["name"])]
        if status != old_status:
            new = entry.copy()
            new["status"] = status
            ctx.update_status(new, manager=MANAGER)
        if requeue is not None:
            # A schedule never ends, so waiting for the next time does not keep the cluster busy.
            ctx.enqueue(self.name, ref, after=requeue, background=True)
        return None

    def _schedule(
        self,
        ctx: ctl.Context,
        cron: Mapping[str, Any],
        spec: Mapping[str, Any],
        status: dict[str, Any],
        active: list[dict[str, Any]],
        now: float,
    ) -> tuple[float | None, list[dict[str, Any]]]:
        schedule = str(spec.get("schedule") or "")
        try:
            tz = zone(spec.get("timeZone"))
        except ValueError as exc:
            ctx.event(cron, events.EventType.WARNING, "UnknownTimeZone", str(exc), component=MANAGER)
            return None, active
        if not valid_schedule(schedule):
            ctx.event(
                cron,
                events.EventType.WARNING,
                "InvalidSchedule",
                f"invalid schedule: {schedule}",
                component=MANAGER,
            )
            return None, active
        now_at = dt.datetime.fromtimestamp(now, tz)
        since_text = status.get("lastScheduleTime") or cron["metadata"].get("creationTimestamp")
        earliest = dt.datetime.fromtimestamp(clock.parse(str(since_text)) if since_text else now, tz)
        deadline = spec.get("startingDeadlineSeconds")
        if deadline is not None:
            earliest = max(earliest, now_at - dt.timedelta(seconds=int(deadline)))
        # The most recent scheduled time in (earliest, now], and how many were missed.
        times = croniter(schedule, earliest)
        scheduled: dt.datetime | None = None
        missed = 0
        while True:
            upcoming = times.get_next(dt.datetime)
            if upcoming > now_at:
                break
            scheduled = upcoming
            missed += 1
            if missed > TOO_MANY_MISSED:
                scheduled = croniter(schedule, now_at + dt.timedelta(milliseconds=1)).get_prev(dt.datetime)
                ctx.event(
                    cron,
                    events.EventType.WARNING,
                    "TooManyMissedTimes",
                    "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check "
                    "clock skew",
                    component=MANAGER,
                )
                break
        next_at = croniter(schedule, now_at).get_next(dt.datetime)
        wait = max((next_at - now_at).total_seconds(), 0.001)
        if scheduled is None:
            return wait, active
        name = f"{cron['metadata']['name']}-{int(scheduled.timestamp()) // 60}"
        if ctx.entry("batch", "Job", cron["metadata"]["namespace"], name) is not None:
            return wait, active  # this time already ran
        policy = spec.get("concurrencyPolicy") or "Allow"
        if policy == "Forbid" and active:
            ctx.event(
                cron,
                events.EventType.NORMAL,
                "JobAlreadyActive",
                "Not starting job because prior execution is running and concurrency policy is Forbid",
                component=MANAGER,
            )
            return wait, active
        if policy == "Replace":
            for job in active:
                self._delete_job(ctx, cron, job)
            active = []
        job = self._new_job(cron, spec, name, scheduled)
        created = ctx.create(job, manager=MANAGER)
        ctx.event(cron, events.EventType.NORMAL, "SuccessfulCreate", f"Created job {name}", component=MANAGER)
        status["lastScheduleTime"] = clock.text(scheduled.timestamp())
        return wait, [*active, created]

    @staticmethod
    def _new_job(
        cron: Mapping[str, Any], spec: Mapping[str, Any], name: str, scheduled: dt.datetime
    ) -> dict[str, Any]:
        template = spec.get("jobTemplate") or {}
        template_meta = template.get("metadata") or {}
        annotations = dict(template_meta.get("annotations") or {})
        # RFC 3339 in the CronJob's zone, as Go prints it ("Z" for a zero offset).
        annotations[SCHEDULED_ANNOTATION] = scheduled.isoformat().replace("+00:00", "Z")
        meta: dict[str, Any] = {
            "name": name,
            "namespace": cron["metadata"]["namespace"],
            "annotations": annotations,
            "ownerReferences": [ctl.owner_ref(cron)],
        }
        if template_meta.get("labels"):
            meta["labels"] = dict(template_meta["labels"])
        return {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": meta,
            "spec": ctl.copy_of(template.get("spec") or {}),
        }

    @staticmethod
    def _delete_job(ctx: ctl.Context, cron: Mapping[str, Any], job: Mapping[str, Any]) -> None:
        ctx.delete(
            "batch", "Job", job["metadata"]["namespace"], job["metadata"]["name"], propagation="Background"
        )
        ctx.event(
            cron,
            events.EventType.NORMAL,
            "SuccessfulDelete",
            f"Deleted job {job['metadata']['name']}",
            component=MANAGER,
        )


ctl.register(CronJobController())
