"""The kubelet stand-in: pods go Pending, then Running and Ready after ``rollout_seconds``.

What decides a pod's fate, checked in order:
- an image matching the server's bad-image pattern (default: tag ``bad``): the pod never starts
  (waiting ``ImagePullBackOff``, not Ready); a Job's pod fails instead (``ErrImagePull``),
- annotation ``sim.fleet.dev/outcome: fail`` or a command/args containing ``exit N`` (N > 0) or
  exactly ``false``: a Job's pod fails, any other pod crash-loops (``CrashLoopBackOff``),
- otherwise a Job's pod (restartPolicy Never/OnFailure) succeeds and any other pod runs Ready.
Annotation ``sim.fleet.dev/ready-seconds`` overrides the delay for one pod.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from fleet.clusters.sim import cluster
from fleet.clusters.sim import controllers as ctl

OUTCOME_ANNOTATION = "sim.fleet.dev/outcome"
READY_SECONDS_ANNOTATION = "sim.fleet.dev/ready-seconds"
_EXIT = re.compile(r"\bexit\s+([1-9][0-9]*)\b")


class Outcome(StrEnum):
    """Where a simulated pod ends up."""

    RUN = "run"  # Running and Ready (long-running pods)
    SUCCEED = "succeed"  # Succeeded (pods of Jobs)
    FAIL = "fail"  # Failed (Jobs) or CrashLoopBackOff (long-running pods)
    PULL_ERROR = "pull-error"  # the image cannot be pulled


def outcome(ctx: ctl.Context, pod: Mapping[str, Any]) -> Outcome:
    spec = pod.get("spec") or {}
    containers = list(spec.get("containers") or []) + list(spec.get("initContainers") or [])
    if any(ctx.is_bad_image(str(c.get("image", ""))) for c in containers):
        return Outcome.PULL_ERROR
    annotations = pod["metadata"].get("annotations") or {}
    if annotations.get(OUTCOME_ANNOTATION) == Outcome.FAIL:
        return Outcome.FAIL
    for c in containers:
        words = [str(w) for w in (c.get("command") or []) + (c.get("args") or [])]
        if words == ["false"] or any(_EXIT.search(w) for w in words):
            return Outcome.FAIL
    return Outcome.SUCCEED if is_job_pod(pod) else Outcome.RUN


def is_job_pod(pod: Mapping[str, Any]) -> bool:
    return (pod.get("spec") or {}).get("restartPolicy") in ("Never", "OnFailure")


def _delay(ctx: ctl.Context, pod: Mapping[str, Any]) -> float:
    annotations = pod["metadata"].get("annotations") or {}
    try:
        return float(annotations.get(READY_SECONDS_ANNOTATION, ctx.rollout_seconds))
    except ValueError:
        return ctx.rollout_seconds


def _container_statuses(
    pod: Mapping[str, Any], state: dict[str, Any], *, ready: bool, restarts: int = 0
) -> list[dict[str, Any]]:
    out = []
    for c in (pod.get("spec") or {}).get("containers") or []:
        out.append(
            {
                "name": c.get("name", ""),
                "image": c.get("image", ""),
                "imageID": "",
                "ready": ready,
                "restartCount": restarts,
                "started": "running" in state,
                "state": state,
            }
        )
    return out


class PodController:
    name = "kubelet"
    kinds = (("", "Pod"),)

    def reconcile(self, ctx: ctl.Context, ref: ctl.Ref) -> float | None:
        entry = ctx.entry("", "Pod", ref[2], ref[3])
        if entry is None or ctl.is_terminating(entry.obj):
            return None
        pod = entry.obj
        phase = ctl.pod_phase(pod)
        if phase in ("Succeeded", "Failed"):
            return None
        state = ctx.state(self.name)
        uid = pod["metadata"]["uid"]
        now = ctx.time()
        if not phase:
            state[uid] = now + _delay(ctx, pod)
            new = entry.copy()
            stamp = cluster.now_text(now)
            new["status"] = {
                "phase": "Pending",
                "conditions": [{"type": "PodScheduled", "status": "True", "lastTransitionTime": stamp}],
                "hostIP": "10.0.0.1",
                "podIP": _pod_ip(uid),
                "startTime": stamp,
                "qosClass": "BestEffort",
                "containerStatuses": _container_statuses(
                    pod, {"waiting": {"reason": "ContainerCreating"}}, ready=False
                ),
            }
            ctx.update_status(new, manager=self.name)
            return max(state[uid] - now, 0.001)
        due = state.get(uid)
        if due is None:  # state lost on restart: count from now
            due = state[uid] = now + _delay(ctx, pod)
        if now < due:
            return due - now
        if phase != "Pending" or _settled(pod):
            return None
        state.pop(uid, None)
        new = entry.copy()
        status = new["status"]
        stamp = cluster.now_text(now)
        result = outcome(ctx, pod)
        conditions = status.setdefault("conditions", [])
        if result is Outcome.RUN:
            status["phase"] = "Running"
            status["conditions"] = [c for c in conditions if c.get("type") == "PodScheduled"] + [
                {"type": t, "status": "True", "lastTransitionTime": stamp}
                for t in ("Initialized", "ContainersReady", "Ready")
            ]
            status["containerStatuses"] = _container_statuses(
                pod, {"running": {"startedAt": stamp}}, ready=True
            )
        elif result is Outcome.SUCCEED:
            status["phase"] = "Succeeded"
            ctl.set_condition(conditions, "Ready", "False", "PodCompleted", "", now=stamp)
            status["containerStatuses"] = _container_statuses(
                pod,
                {
                    "terminated": {
                        "exitCode": 0,
                        "reason": "Completed",
                        "startedAt": status.get("startTime", stamp),
                        "finishedAt": stamp,
                    }
                },
                ready=False,
            )
        elif result is Outcome.PULL_ERROR and not is_job_pod(pod):
            image = next(
                (
                    c.get("image", "")
                    for c in pod["spec"]["containers"]
                    if ctx.is_bad_image(str(c.get("image", "")))
                ),
                "",
            )
            ctl.set_condition(
                conditions,
                "Ready",
                "False",
                "ContainersNotReady",
                "containers with unready status",
                now=stamp,
            )
            status["containerStatuses"] = _container_statuses(
                pod,
                {"waiting": {"reason": "ImagePullBackOff", "message": f'Back-off pulling image "{image}"'}},
                ready=False,
            )
        elif is_job_pod(pod):
            status["phase"] = "Failed"
            reason = "ErrImagePull" if result is Outcome.PULL_ERROR else "Error"
            ctl.set_condition(conditions, "Ready", "False", "PodFailed", "", now=stamp)
            status["containerStatuses"] = _container_statuses(
                pod,
                {
                    "terminated": {
                        "exitCode": 1,
                        "reason": reason,
                        "startedAt": status.get("startTime", stamp),
                        "finishedAt": stamp,
                    }
                },
                ready=False,
            )
        else:
            status["phase"] = "Running"
            ctl.set_condition(
                conditions,
                "Ready",
                "False",
                "ContainersNotReady",
                "containers with unready status",
                now=stamp,
            )
            status["containerStatuses"] = _container_statuses(
                pod,
                {
                    "waiting": {
                        "reason": "CrashLoopBackOff",
                        "message": "back-off restarting failed container",
                    }
                },
                ready=False,
                restarts=1,
            )
        ctx.update_status(new, manager=self.name)
        return None


def _settled(pod: Mapping[str, Any]) -> bool:
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    return any(
        (s.get("state") or {}).get("waiting", {}).get("reason") in ("ImagePullBackOff", "CrashLoopBackOff")
        for s in statuses
    )


def _pod_ip(uid: str) -> str:
    n = int(uid.replace("-", "")[:6], 16)
    return f"10.244.{(n >> 8) & 0xFF}.{(n & 0xFF) or 1}"


ctl.register(PodController())
