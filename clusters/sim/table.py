"""Server-side printing: ``kubectl get`` asks for a ``meta.k8s.io/v1`` Table, not the objects.

With it, kubectl prints the columns a real cluster shows (READY, STATUS, UP-TO-DATE, ...); CRDs
get their ``additionalPrinterColumns``. Rows carry the object's metadata (``includeObject``
Metadata, the default), the whole object (Object) or nothing (None), as the API server does.
"""

from __future__ import annotations

import calendar
import json
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from fleet.clusters.sim import resources, store

Obj = Mapping[str, Any]
Column = tuple[str, str, Callable[[Obj], Any]]  # (name, type, cell)


def accepts_table(accept: str) -> bool:
    return "as=Table" in accept and "g=meta.k8s.io" in accept


def age(obj: Obj, now: float | None = None) -> str:
    """Like kubectl's HumanDuration: 45s, 12m, 5h3m, 3d4h, 400d."""
    created = obj["metadata"].get("creationTimestamp")
    if not created:
        return "<unknown>"
    created_at = calendar.timegm(time.strptime(created, "%Y-%m-%dT%H:%M:%SZ"))
    seconds = max(int((now if now is not None else time.time()) - created_at), 0)
    if seconds < 120:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        return f"{minutes}m{seconds % 60}s" if seconds % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    days = hours // 24
    if days < 8:
        return f"{days}d{hours % 24}h" if hours % 24 else f"{days}d"
    return f"{days}d"


def _status(obj: Obj) -> Mapping[str, Any]:
    return obj.get("status") or {}


def _spec(obj: Obj) -> Mapping[str, Any]:
    return obj.get("spec") or {}


def _pod_status(pod: Obj) -> str:
    if pod["metadata"].get("deletionTimestamp"):
        return "Terminating"
    status = _status(pod)
    for container in status.get("containerStatuses") or []:
        state = container.get("state") or {}
        if "waiting" in state and state["waiting"].get("reason") not in (None, "ContainerCreating"):
            return str(state["waiting"]["reason"])
        if "waiting" in state:
            return "ContainerCreating"
        if "terminated" in state and status.get("phase") not in ("Succeeded", "Failed"):
            return str(state["terminated"].get("reason", "Terminated"))
    if status.get("phase") == "Succeeded":
        return "Completed"
    if status.get("phase") == "Failed":
        return "Error"
    return str(status.get("phase") or "Pending")


def _pod_ready(pod: Obj) -> str:
    containers = _spec(pod).get("containers") or []
    ready = sum(1 for c in _status(pod).get("containerStatuses") or [] if c.get("ready"))
    return f"{ready}/{len(containers)}"


def _ports(svc: Obj) -> str:
    out = []
    for port in _spec(svc).get("ports") or []:
        text = str(port.get("port", ""))
        if port.get("nodePort"):
            text += f":{port['nodePort']}"
        out.append(f"{text}/{port.get('protocol', 'TCP')}")
    return ",".join(out) or "<none>"


def _external_ip(svc: Obj) -> str:
    ingress = (_status(svc).get("loadBalancer") or {}).get("ingress") or []
    if ingress:
        return ",".join(str(i.get("ip") or i.get("hostname", "")) for i in ingress)
    return "<pending>" if _spec(svc).get("type") == "LoadBalancer" else "<none>"


def _job_status(job: Obj) -> str:
    for condition in _status(job).get("conditions") or []:
        if condition.get("status") == "True" and condition.get("type") in ("Complete", "Failed", "Suspended"):
            return str(condition["type"])
    return "Running"


def _n(value: Any) -> int:
    return int(value or 0)


_NAME: Column = ("Name", "string", lambda o: o["metadata"]["name"])
_AGE: Column = ("Age", "string", age)
_COLUMNS: dict[tuple[str, str], list[Column]] = {
    ("", "Pod"): [
        ("Ready", "string", _pod_ready),
        ("Status", "string", _pod_status),
        (
            "Restarts",
            "string",
            lambda o: str(sum(_n(c.get("restartCount")) for c in _status(o).get("containerStatuses") or [])),
        ),
    ],
    ("apps", "Deployment"): [
        (
            "Ready",
            "string",
            lambda o: f"{_n(_status(o).get('readyReplicas'))}/{_n(_spec(o).get('replicas', 1))}",
        ),
        ("Up-to-date", "integer", lambda o: _n(_status(o).get("updatedReplicas"))),
        ("Available", "integer", lambda o: _n(_status(o).get("availableReplicas"))),
    ],
    ("apps", "ReplicaSet"): [
        ("Desired", "integer", lambda o: _n(_spec(o).get("replicas", 1))),
        ("Current", "integer", lambda o: _n(_status(o).get("replicas"))),
        ("Ready", "integer", lambda o: _n(_status(o).get("readyReplicas"))),
    ],
    ("apps", "StatefulSet"): [
        (
            "Ready",
            "string",
            lambda o: f"{_n(_status(o).get('readyReplicas'))}/{_n(_spec(o).get('replicas', 1))}",
        ),
    ],
    ("apps", "DaemonSet"): [
        ("Desired", "integer", lambda o: _n(_status(o).get("desiredNumberScheduled"))),
        ("Current", "integer", lambda o: _n(_status(o).get("currentNumberScheduled"))),
        ("Ready", "integer", lambda o: _n(_status(o).get("numberReady"))),
        ("Up-to-date", "integer", lambda o: _n(_status(o).get("updatedNumberScheduled"))),
        ("Available", "integer", lambda o: _n(_status(o).get("numberAvailable"))),
    ],
    ("batch", "Job"): [
        ("Status", "string", _job_status),
        (
            "Completions",
            "string",
            lambda o: f"{_n(_status(o).get('succeeded'))}/{_n(_spec(o).get('completions', 1))}",
        ),
    ],
    ("", "Service"): [
        ("Type", "string", lambda o: str(_spec(o).get("type", "ClusterIP"))),
        ("Cluster-IP", "string", lambda o: str(_spec(o).get("clusterIP") or "<none>")),
        ("External-IP", "string", _external_ip),
        ("Port(s)", "string", _ports),
    ],
    ("", "Namespace"): [("Status", "string", lambda o: str(_status(o).get("phase", "Active")))],
    ("", "ConfigMap"): [
        ("Data", "integer", lambda o: len(o.get("data") or {}) + len(o.get("binaryData") or {}))
    ],
    ("", "Secret"): [
        ("Type", "string", lambda o: str(o.get("type", "Opaque"))),
        ("Data", "integer", lambda o: len(o.get("data") or {})),
    ],
    ("", "PersistentVolumeClaim"): [
        ("Status", "string", lambda o: str(_status(o).get("phase", "Pending"))),
        ("Capacity", "string", lambda o: str((_status(o).get("capacity") or {}).get("storage", ""))),
        ("Access Modes", "string", lambda o: ",".join(_status(o).get("accessModes") or [])),
    ],
    ("", "Node"): [
        (
            "Status",
            "string",
            lambda o: (
                "Ready"
                if any(
                    c.get("type") == "Ready" and c.get("status") == "True"
                    for c in _status(o).get("conditions") or []
                )
                else "NotReady"
            ),
        ),
    ],
}


# -- Events: columns of their own (no Name first, no Age), as the API server prints them ----------


def _since(text: Any, now: float) -> str:
    if not text:
        return "<unknown>"
    return age({"metadata": {"creationTimestamp": str(text)[:19] + "Z"}}, now)


def _event_first(ev: Obj, now: float) -> str:
    return _since(ev.get("firstTimestamp") or ev.get("eventTime"), now)


def _event_last(ev: Obj, now: float) -> str:
    series = ev.get("series") or {}
    if series.get("lastObservedTime"):
        return _since(series["lastObservedTime"], now)
    if ev.get("lastTimestamp"):
        return _since(ev["lastTimestamp"], now)
    return _event_first(ev, now)


def _event_count(ev: Obj, now: float) -> int:
    series = ev.get("series") or {}
    return int(series.get("count") or ev.get("count") or 1)


def _event_object(ev: Obj, now: float) -> str:
    ref = ev.get("involvedObject") or {}
    kind = str(ref.get("kind", "")).lower()
    return f"{kind}/{ref['name']}" if ref.get("name") else kind


def _event_source(ev: Obj, now: float) -> str:
    source = ev.get("source") or {}
    component = source.get("component") or ev.get("reportingComponent") or ""
    instance = source.get("host") or ev.get("reportingInstance") or ""
    return f"{component}, {instance}" if instance else str(component)


FullColumn = tuple[str, str, Callable[[Obj, float], Any], int]  # (name, type, cell, priority)
_FULL: dict[tuple[str, str], list[FullColumn]] = {
    ("", "Event"): [
        ("Last Seen", "string", _event_last, 0),
        ("Type", "string", lambda o, now: str(o.get("type", "")), 0),
        ("Reason", "string", lambda o, now: str(o.get("reason", "")), 0),
        ("Object", "string", _event_object, 0),
        ("Subobject", "string", lambda o, now: str((o.get("involvedObject") or {}).get("fieldPath", "")), 1),
        ("Source", "string", _event_source, 1),
        ("Message", "string", lambda o, now: str(o.get("message", "")).strip(), 0),
        ("First Seen", "string", _event_first, 1),
        ("Count", "string", _event_count, 1),
        ("Name", "string", lambda o, now: o["metadata"]["name"], 1),
    ],
}


def _json_path(path: str) -> Callable[[Obj], Any]:
    """The simple ``.a.b.c`` JSONPaths of additionalPrinterColumns."""
    parts = [p for p in path.strip().lstrip("{").rstrip("}").split(".") if p]

    def cell(obj: Obj) -> Any:
        node: Any = obj
        for part in parts:
            if not isinstance(node, Mapping):
                return None
            node = node.get(part)
        return node

    return cell


# Extra columns of ``-o wide`` (priority 1).
_WIDE: dict[tuple[str, str], list[Column]] = {
    ("", "Pod"): [
        ("IP", "string", lambda o: str(_status(o).get("podIP") or "<none>")),
        ("Node", "string", lambda o: str(_spec(o).get("nodeName") or "<none>")),
    ],
    ("apps", "Deployment"): [
        (
            "Containers",
            "string",
            lambda o: ",".join(
                c.get("name", "")
                for c in ((_spec(o).get("template") or {}).get("spec") or {}).get("containers") or []
            ),
        ),
        (
            "Images",
            "string",
            lambda o: ",".join(
                c.get("image", "")
                for c in ((_spec(o).get("template") or {}).get("spec") or {}).get("containers") or []
            ),
        ),
    ],
}


def columns(rt: resources.ResourceType, crd: Obj | None) -> list[Column]:
    if rt.custom and crd is not None:
        version: Mapping[str, Any] = next(
            (v for v in _spec(crd).get("versions") or [] if v.get("name") == rt.storage_version), {}
        )
        extra = [
            (str(c.get("name", "")), str(c.get("type", "string")), _json_path(str(c.get("jsonPath", ""))))
            for c in version.get("additionalPrinterColumns") or []
        ]
        if extra:
            return [_NAME, *extra, _AGE]
    return [_NAME, *_COLUMNS.get((rt.group, rt.kind), []), _AGE, *_WIDE.get((rt.group, rt.kind), [])]


def _row_object(obj: Obj, include: str, raw: bytes) -> Any:
    if include == "None":
        return None
    if include == "Object":
        return json.loads(raw)
    meta = {k: v for k, v in obj["metadata"].items() if k != "managedFields"}
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": meta}


def table(
    rt: resources.ResourceType,
    crd: Obj | None,
    entries: Sequence[tuple[store.Entry, bytes]],
    *,
    include: str = "Metadata",
    list_meta: Mapping[str, Any] | None = None,
    now: float | None = None,
) -> dict[str, Any]:
    """``now``: the cluster's simulated time, for ages (default: the wall clock)."""
    now = time.time() if now is None else now
    full = _FULL.get((rt.group, rt.kind)) if not rt.custom else None
    if full is not None:
        return _full_table(full, entries, include=include, list_meta=list_meta, now=now)
    cols = columns(rt, crd)
    rows = []
    for entry, raw in entries:
        cells = []
        for name, _, cell in cols:
            value = age(entry.obj, now) if name == "Age" else cell(entry.obj)
            cells.append(value if value is not None else "")
        row: dict[str, Any] = {"cells": cells}
        obj = _row_object(entry.obj, include, raw)
        if obj is not None:
            row["object"] = obj
        rows.append(row)
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": dict(list_meta or {}),
        "columnDefinitions": [
            {
                "name": name,
                "type": kind,
                "format": "name" if name == "Name" else "",
                "description": "",
                "priority": 1 if i > cols.index(_AGE) else 0,
            }
            for i, (name, kind, _) in enumerate(cols)
        ],
        "rows": rows,
    }


def _full_table(
    cols: list[FullColumn],
    entries: Sequence[tuple[store.Entry, bytes]],
    *,
    include: str,
    list_meta: Mapping[str, Any] | None,
    now: float,
) -> dict[str, Any]:
    rows = []
    for entry, raw in entries:
        row: dict[str, Any] = {"cells": [cell(entry.obj, now) for _, _, cell, _ in cols]}
        obj = _row_object(entry.obj, include, raw)
        if obj is not None:
            row["object"] = obj
        rows.append(row)
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": dict(list_meta or {}),
        "columnDefinitions": [
            {
                "name": name,
                "type": kind,
                "format": "name" if name == "Name" else "",
                "description": "",
                "priority": priority,
            }
            for name, kind, _, priority in cols
        ],
        "rows": rows,
    }
