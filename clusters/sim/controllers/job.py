"""Job controller: runs ``parallelism`` pods until ``completions`` succeed (Complete) or more than
``backoffLimit`` fail, or ``activeDeadlineSeconds`` passes (Failed). Whether a pod succeeds is up
to the pod simulator (``pod.outcome``)."""

from __future__ import annotations

from typing import Any

from fleet.clusters.sim import cluster, events
from fleet.clusters.sim import controllers as ctl
from fleet.clusters.sim.controllers import _pods

MANAGER = "kube-controller-manager"


def finished(job: dict[str, Any]) -> bool:
    conditions = (job.get("status") or {}).get("conditions") or []
    return any(c.get("type") in ("Complete", "Failed") and c.get("status") == "True" for c in conditions)


class JobController:
    name = "job-controller"
    kinds = (("batch", "Job"),)

    def reconcile(self, ctx: ctl.Context, ref: ctl.Ref) -> float | None:
        entry = ctx.entry("batch", "Job", ref[2], ref[3])
        if entry is None or ctl.is_terminating(entry.obj) or finished(entry.obj):
            return None
        job = entry.obj
        meta, spec = job["metadata"], job.get("spec") or {}
        completions = int(spec.get("completions", 1))
        parallelism = int(spec.get("parallelism", 1))
        backoff = int(spec.get("backoffLimit", 6))
        pods = [p for p in ctx.owned(job, "", "Pod") if not ctl.is_terminating(p.obj)]
        succeeded = sum(1 for p in pods if ctl.pod_phase(p.obj) == "Succeeded")
        failed = sum(1 for p in pods if ctl.pod_phase(p.obj) == "Failed")
        active = [p for p in pods if ctl.pod_phase(p.obj) not in ("Succeeded", "Failed")]
        now = ctx.time()
        stamp = cluster.now_text(now)
        old_status = job.get("status") or {}
        status: dict[str, Any] = {"startTime": old_status.get("startTime", stamp)}
        conditions: list[dict[str, Any]] = [dict(c) for c in old_status.get("conditions") or []]
        requeue: float | None = None
        state = ctx.state(self.name)
        started = state.setdefault(meta["uid"], now)
        deadline = spec.get("activeDeadlineSeconds")
        if spec.get("suspend"):
            was = ctl.condition(conditions, "Suspended")
            ctl.set_condition(conditions, "Suspended", "True", "JobSuspended", "Job suspended", now=stamp)
            if was is None or was.get("status") != "True":
                ctx.event(job, events.EventType.NORMAL, "Suspended", "Job suspended", component=self.name)
        elif succeeded >= completions:
            ctl.set_condition(
                conditions,
                "SuccessCriteriaMet",
                "True",
                "CompletionsReached",
                "Reached expected number of succeeded pods",
                now=stamp,
            )
            ctl.set_condition(
                conditions,
                "Complete",
                "True",
                "CompletionsReached",
                "Reached expected number of succeeded pods",
                now=stamp,
            )
            status["completionTime"] = stamp
            active = []
            ctx.event(job, events.EventType.NORMAL, "Completed", "Job completed", component=self.name)
        elif failed > backoff:
            for type_ in ("FailureTarget", "Failed"):
                ctl.set_condition(
                    conditions,
                    type_,
                    "True",
                    "BackoffLimitExceeded",
                    "Job has reached the specified backoff limit",
                    now=stamp,
                )
            active = []
            ctx.event(
                job,
                events.EventType.WARNING,
                "BackoffLimitExceeded",
                "Job has reached the specified backoff limit",
                component=self.name,
            )
        elif deadline is not None and now - started >= float(deadline):
            for type_ in ("FailureTarget", "Failed"):
                ctl.set_condition(
                    conditions,
                    type_,
                    "True",
                    "DeadlineExceeded",
                    "Job was active longer than specified deadline",
                    now=stamp,
                )
            for pod in active:
                ctx.delete("", "Pod", pod.namespace, pod.name)
                ctx.event(
                    job,
                    events.EventType.NORMAL,
                    "SuccessfulDelete",
                    f"Deleted pod: {pod.name}",
                    component=self.name,
                )
            active = []
            ctx.event(
                job,
                events.EventType.WARNING,
                "DeadlineExceeded",
                "Job was active longer than specified deadline",
                component=self.name,
            )
        else:
            want = min(parallelism, completions - succeeded) - len(active)
            nodes = _pods.node_names(ctx) or [""]
            for i in range(max(want, 0)):
                new_pod = _pods.new_pod(
                    job,
                    spec.get("template") or {},
                    name=_pods.random_name(meta["name"]),
                    node=nodes[i % len(nodes)],
                )
                created = ctx.create(new_pod, manager=MANAGER)
                ctx.event(
                    job,
                    events.EventType.NORMAL,
                    "SuccessfulCreate",
                    f"Created pod: {created['metadata']['name']}",
                    component=self.name,
                )
            active = [
                p
                for p in ctx.owned(job, "", "Pod")
                if ctl.pod_phase(p.obj) not in ("Succeeded", "Failed") and not ctl.is_terminating(p.obj)
            ]
            if deadline is not None:
                requeue = max(started + float(deadline) - now, 0.01)
        status.update(
            {
                "active": len(active),
                "succeeded": succeeded,
                "failed": failed,
                "ready": sum(1 for p in active if ctl.is_ready(p.obj)),
                "terminating": 0,
                "uncountedTerminatedPods": {},
            }
        )
        status = {
            k: v for k, v in status.items() if v or k in ("ready", "terminating", "uncountedTerminatedPods")
        }
        if conditions:
            status["conditions"] = conditions
        if old_status != status:
            new = entry.copy()
            new["status"] = status
            ctx.update_status(new, manager=MANAGER)
        return requeue


ctl.register(JobController())
