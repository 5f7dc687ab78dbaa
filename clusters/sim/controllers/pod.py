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

from fleet.clusters.sim import cluster, events
from fleet.clusters.sim import controllers as ctl
from fleet.clusters.sim.controllers import _pods

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


# kubelet's back-off for image pulls and crash loops: 10 s, doubling, at most 5 minutes.
BACKOFF_START = 10.0
BACKOFF_MAX = 300.0


def _go_duration(seconds: float) -> str:
    """How Go prints a short time.Duration (523ms, 1.5s)."""
    if seconds < 1:
        return f"{int(seconds * 1000)}ms"
    return f"{seconds:.3f}".rstrip("0").rstrip(".") + "s"


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
            scheduled = self._schedule(ctx, entry)
            if scheduled is None:
                return None
            pod = scheduled
            state[uid] = now + _delay(ctx, pod)
            new = ctl.copy_of(pod)
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
        if _settled(pod):
            return self._back_off(ctx, ref, pod, now)
        due = state.get(uid)
        if due is None:  # state lost on restart: count from now
            due = state[uid] = now + _delay(ctx, pod)
        if now < due:
            return due - now
        if phase != "Pending":
            return None
        state.pop(uid, None)
        new = entry.copy()
        status = new["status"]
        stamp = cluster.now_text(now)
        result = outcome(ctx, pod)
        conditions = status.setdefault("conditions", [])
        if result is Outcome.PULL_ERROR:
            self._pull_failed(ctx, pod, backing_off=not is_job_pod(pod))
        else:
            self._start_containers(ctx, pod)
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
            image = _bad_image(ctx, pod)
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
            self._crashed(ctx, pod)
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
        if (result is Outcome.PULL_ERROR and not is_job_pod(pod)) or (
            result is Outcome.FAIL and not is_job_pod(pod)
        ):
            ctx.state("kubelet-backoff")[uid] = (now + BACKOFF_START, BACKOFF_START)
            ctx.enqueue(self.name, ref, after=BACKOFF_START, background=True)
        return None

    # -- the steps of a pod's life, each with the events a kubelet records ----------------------

    def _schedule(self, ctx: ctl.Context, entry: Any) -> dict[str, Any] | None:
        """Bind the pod to a node (the scheduler's part) and say so."""
        pod = entry.obj
        node = (pod.get("spec") or {}).get("nodeName")
        if not node:
            nodes = _pods.node_names(ctx)
            if not nodes:
                return pod
            node = nodes[sum(pod["metadata"]["name"].encode()) % len(nodes)]
            bound = entry.copy()
            bound["spec"]["nodeName"] = node
            pod = ctx.update(bound, manager="default-scheduler")
        ns, name = pod["metadata"].get("namespace", ""), pod["metadata"]["name"]
        ctx.event(
            pod,
            events.EventType.NORMAL,
            "Scheduled",
            f"Successfully assigned {ns}/{name} to {node}",
            component="default-scheduler",
            series=True,
            action="Binding",
        )
        return pod

    def _container_event(
        self,
        ctx: ctl.Context,
        pod: Mapping[str, Any],
        container: Mapping[str, Any],
        type_: Any,
        reason: str,
        message: str,
    ) -> None:
        ctx.event(
            pod,
            type_,
            reason,
            message,
            component=self.name,
            host=str((pod.get("spec") or {}).get("nodeName") or ""),
            field_path=f"spec.containers{{{container.get('name', '')}}}",
        )

    def _pull(self, ctx: ctl.Context, pod: Mapping[str, Any], container: Mapping[str, Any]) -> None:
        """Pull events: a real pull the first time a node sees an image (or with Always), else
        "already present"."""
        image = str(container.get("image", ""))
        node = str((pod.get("spec") or {}).get("nodeName") or "")
        images = ctx.state("kubelet-images").setdefault(node, set())
        if container.get("imagePullPolicy") == "Always" or image not in images:
            took = _go_duration(max(_delay(ctx, pod), 0.001))
            self._container_event(
                ctx, pod, container, events.EventType.NORMAL, "Pulling", f'Pulling image "{image}"'
            )
            self._container_event(
                ctx,
                pod,
                container,
                events.EventType.NORMAL,
                "Pulled",
                f'Successfully pulled image "{image}" in {took} ({took} including waiting). Image size: 0 bytes.',
            )
            images.add(image)
        else:
            self._container_event(
                ctx,
                pod,
                container,
                events.EventType.NORMAL,
                "Pulled",
                f'Container image "{image}" already present on machine',
            )

    def _start_containers(self, ctx: ctl.Context, pod: Mapping[str, Any]) -> None:
        for container in (pod.get("spec") or {}).get("containers") or []:
            self._pull(ctx, pod, container)
            name = container.get("name", "")
            self._container_event(
                ctx, pod, container, events.EventType.NORMAL, "Created", f"Created container: {name}"
            )
            self._container_event(
                ctx, pod, container, events.EventType.NORMAL, "Started", f"Started container {name}"
            )

    def _pull_failed(self, ctx: ctl.Context, pod: Mapping[str, Any], *, backing_off: bool) -> None:
        pattern = ctx.cluster.config.bad_image_pattern
        for container in (pod.get("spec") or {}).get("containers") or []:
            image = str(container.get("image", ""))
            if not ctx.is_bad_image(image):
                continue
            warn, normal = events.EventType.WARNING, events.EventType.NORMAL
            self._container_event(ctx, pod, container, normal, "Pulling", f'Pulling image "{image}"')
            self._container_event(
                ctx,
                pod,
                container,
                warn,
                "Failed",
                f'Failed to pull image "{image}": rpc error: code = NotFound desc = failed to pull and '
                f'unpack image "{image}": not found (the simulator refuses images matching {pattern!r})',
            )
            self._container_event(ctx, pod, container, warn, "Failed", "Error: ErrImagePull")
            if backing_off:
                self._container_event(
                    ctx, pod, container, normal, "BackOff", f'Back-off pulling image "{image}"'
                )
                self._container_event(ctx, pod, container, warn, "Failed", "Error: ImagePullBackOff")

    def _crashed(self, ctx: ctl.Context, pod: Mapping[str, Any]) -> None:
        self._start_containers(ctx, pod)
        meta = pod["metadata"]
        for container in (pod.get("spec") or {}).get("containers") or []:
            self._container_event(
                ctx,
                pod,
                container,
                events.EventType.WARNING,
                "BackOff",
                f"Back-off restarting failed container {container.get('name', '')} in pod "
                f"{meta['name']}_{meta.get('namespace', '')}({meta['uid']})",
            )

    def _back_off(self, ctx: ctl.Context, ref: ctl.Ref, pod: Mapping[str, Any], now: float) -> float | None:
        """A pod stuck on a bad image or a crash loop: kubelet tries again after a doubling back-off
        (a background retry, which never keeps the cluster busy). Each try records the same events,
        so they count up instead of piling up."""
        uid = pod["metadata"]["uid"]
        backoff = ctx.state("kubelet-backoff")
        due, delay = backoff.get(uid, (now + BACKOFF_START, BACKOFF_START))
        if now < due:
            ctx.enqueue(self.name, ref, after=due - now, background=True)
            return None
        if outcome(ctx, pod) is Outcome.PULL_ERROR:
            self._pull_failed(ctx, pod, backing_off=True)
        else:
            self._crashed(ctx, pod)
            restarted = ctl.copy_of(pod)
            for container_status in restarted["status"].get("containerStatuses") or []:
                container_status["restartCount"] = int(container_status.get("restartCount", 0)) + 1
            ctx.update_status(restarted, manager=self.name)
        delay = min(delay * 2, BACKOFF_MAX)
        backoff[uid] = (now + delay, delay)
        ctx.enqueue(self.name, ref, after=delay, background=True)
        return None


def _bad_image(ctx: ctl.Context, pod: Mapping[str, Any]) -> str:
    return next(
        (
            str(c.get("image", ""))
            for c in (pod.get("spec") or {}).get("containers") or []
            if ctx.is_bad_image(str(c.get("image", "")))
        ),
        "",
    )


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
