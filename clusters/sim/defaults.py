"""Server-side defaulting and validation, run on every write before an object is stored.

Only what clients and the sync engine notice: the defaults a real API server adds (which a diff
must learn to ignore), the validation errors a manifest author hits most (422 Invalid with the
field named) and immutable fields (which force a Replace).
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
import zlib
import zoneinfo
from collections.abc import Callable, Mapping
from typing import Any

import croniter

from fleet.clusters.sim import resources, selectors, status

_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_KINDS = {"Namespace", "Service"}  # names that must be DNS labels (no dots)
POD_TEMPLATE_PATHS: dict[str, tuple[str, ...]] = {
    "Deployment": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
}


def _get(obj: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    node: Any = obj
    for part in path:
        if not isinstance(node, Mapping):
            return None
        node = node.get(part)
    return node


def _image_pull_policy(image: str) -> str:
    tag = image.rsplit("/", 1)[-1]
    if "@" in tag:
        return "IfNotPresent"
    if ":" not in tag or tag.endswith(":latest"):
        return "Always"
    return "IfNotPresent"


def _default_pod_spec(spec: dict[str, Any], *, restart: str = "Always") -> None:
    spec.setdefault("restartPolicy", restart)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("securityContext", {})
    spec.setdefault("terminationGracePeriodSeconds", 30)
    for field in ("containers", "initContainers"):
        for container in spec.get(field) or []:
            if not isinstance(container, dict):
                continue
            container.setdefault("imagePullPolicy", _image_pull_policy(str(container.get("image", ""))))
            container.setdefault("terminationMessagePath", "/dev/termination-log")
            container.setdefault("terminationMessagePolicy", "File")
            container.setdefault("resources", {})
            for port in container.get("ports") or []:
                if isinstance(port, dict):
                    port.setdefault("protocol", "TCP")


def _default_template(obj: dict[str, Any], path: tuple[str, ...], *, restart: str = "Always") -> None:
    template = _get(obj, path)
    if isinstance(template, dict):
        spec = template.setdefault("spec", {})
        if isinstance(spec, dict):
            _default_pod_spec(spec, restart=restart)
        template.setdefault("metadata", {})


def _ip_for(name: str, namespace: str, salt: int) -> str:
    # A stable, unique-enough ClusterIP in 10.96.0.0/12 from the service's identity.
    n = (zlib.crc32(f"{namespace}/{name}".encode()) + salt) & 0xFFFFF
    return str(ipaddress.IPv4Address(int(ipaddress.IPv4Address("10.96.0.0")) + 1 + n % 0xFFFFE))


def default(rt: resources.ResourceType, obj: dict[str, Any], old: Mapping[str, Any] | None) -> None:
    """Fill in server defaults, in place."""
    kind = rt.kind if not rt.custom else ""
    meta = obj["metadata"]
    spec = obj.get("spec")
    if kind == "Namespace":
        meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = meta["name"]
        if old is None:
            obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
        obj.setdefault("status", {}).setdefault("phase", "Active")
    elif kind == "Secret":
        obj.setdefault("type", "Opaque")
        string_data = obj.pop("stringData", None)
        if isinstance(string_data, Mapping):
            data = obj.setdefault("data", {})
            for key, value in string_data.items():
                data[key] = base64.b64encode(str(value).encode()).decode()
    elif kind == "Service" and isinstance(spec, dict):
        spec.setdefault("type", "ClusterIP")
        old_spec = (old or {}).get("spec") or {}
        if spec["type"] != "ExternalName":
            ip = (
                spec.get("clusterIP")
                or old_spec.get("clusterIP")
                or _ip_for(meta["name"], meta.get("namespace", ""), 0)
            )
            spec["clusterIP"] = ip
            spec.setdefault("clusterIPs", [ip] if ip != "None" else ["None"])
            spec.setdefault("ipFamilies", ["IPv4"])
            spec.setdefault("ipFamilyPolicy", "SingleStack")
            spec.setdefault("internalTrafficPolicy", "Cluster")
        spec.setdefault("sessionAffinity", "None")
        old_ports = {p.get("port"): p for p in old_spec.get("ports") or [] if isinstance(p, Mapping)}
        for i, port in enumerate(spec.get("ports") or []):
            if not isinstance(port, dict):
                continue
            port.setdefault("protocol", "TCP")
            if "port" in port:
                port.setdefault("targetPort", port["port"])
            if spec["type"] in ("NodePort", "LoadBalancer"):
                port.setdefault(
                    "nodePort",
                    (old_ports.get(port.get("port")) or {}).get("nodePort")
                    or 30000 + (zlib.crc32(f"{meta['name']}/{i}".encode()) % 2767),
                )
        if spec["type"] in ("NodePort", "LoadBalancer"):
            spec.setdefault("externalTrafficPolicy", "Cluster")
        if spec["type"] == "LoadBalancer":
            spec.setdefault("allocateLoadBalancerNodePorts", True)
        obj.setdefault("status", {}).setdefault("loadBalancer", {})
    elif kind == "Pod" and isinstance(spec, dict):
        _default_pod_spec(spec)
        spec.setdefault("serviceAccountName", "default")
        spec.setdefault("enableServiceLinks", True)
        spec.setdefault("priority", 0)
        spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
    elif kind == "PersistentVolumeClaim" and isinstance(spec, dict):
        spec.setdefault("volumeMode", "Filesystem")
        obj.setdefault("status", {}).setdefault("phase", "Pending")
    elif kind == "Deployment" and isinstance(spec, dict):
        spec.setdefault("replicas", 1)
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault("progressDeadlineSeconds", 600)
        strategy = spec.setdefault("strategy", {})
        strategy.setdefault("type", "RollingUpdate")
        if strategy["type"] == "RollingUpdate":
            rolling = strategy.setdefault("rollingUpdate", {})
            rolling.setdefault("maxSurge", "25%")
            rolling.setdefault("maxUnavailable", "25%")
        _default_template(obj, POD_TEMPLATE_PATHS["Deployment"])
    elif kind == "ReplicaSet" and isinstance(spec, dict):
        spec.setdefault("replicas", 1)
        _default_template(obj, POD_TEMPLATE_PATHS["ReplicaSet"])
    elif kind == "StatefulSet" and isinstance(spec, dict):
        spec.setdefault("replicas", 1)
        spec.setdefault("podManagementPolicy", "OrderedReady")
        spec.setdefault("revisionHistoryLimit", 10)
        strategy = spec.setdefault("updateStrategy", {})
        strategy.setdefault("type", "RollingUpdate")
        if strategy["type"] == "RollingUpdate":
            strategy.setdefault("rollingUpdate", {}).setdefault("partition", 0)
        spec.setdefault(
            "persistentVolumeClaimRetentionPolicy", {"whenDeleted": "Retain", "whenScaled": "Retain"}
        )
        _default_template(obj, POD_TEMPLATE_PATHS["StatefulSet"])
    elif kind == "DaemonSet" and isinstance(spec, dict):
        spec.setdefault("revisionHistoryLimit", 10)
        strategy = spec.setdefault("updateStrategy", {})
        strategy.setdefault("type", "RollingUpdate")
        if strategy["type"] == "RollingUpdate":
            rolling = strategy.setdefault("rollingUpdate", {})
            rolling.setdefault("maxSurge", 0)
            rolling.setdefault("maxUnavailable", 1)
        _default_template(obj, POD_TEMPLATE_PATHS["DaemonSet"])
    elif kind == "Job" and isinstance(spec, dict):
        _default_job_spec(spec, meta, old)
    elif kind == "CronJob" and isinstance(spec, dict):
        spec.setdefault("concurrencyPolicy", "Allow")
        spec.setdefault("suspend", False)
        spec.setdefault("successfulJobsHistoryLimit", 3)
        spec.setdefault("failedJobsHistoryLimit", 1)
        job_spec = _get(obj, ("spec", "jobTemplate", "spec"))
        if isinstance(job_spec, dict):
            job_spec.setdefault("backoffLimit", 6)
            job_spec.setdefault("completionMode", "NonIndexed")
            _default_template(obj, POD_TEMPLATE_PATHS["CronJob"], restart="Never")
    elif kind == "CustomResourceDefinition" and isinstance(spec, dict):
        names = spec.setdefault("names", {})
        if names.get("kind"):
            names.setdefault("singular", str(names["kind"]).lower())
            names.setdefault("listKind", f"{names['kind']}List")
        spec.setdefault("scope", "Namespaced")
        spec.setdefault("conversion", {"strategy": "None"})


def _default_job_spec(spec: dict[str, Any], meta: dict[str, Any], old: Mapping[str, Any] | None) -> None:
    spec.setdefault("backoffLimit", 6)
    spec.setdefault("completions", 1)
    spec.setdefault("parallelism", 1)
    spec.setdefault("completionMode", "NonIndexed")
    spec.setdefault("suspend", False)
    spec.setdefault("podReplacementPolicy", "TerminatingOrFailed")
    if not spec.get("manualSelector"):
        # The Job controller's generated selector, keyed by the Job's uid, as the real one does.
        uid = meta.get("uid", "")
        job_labels = {
            "batch.kubernetes.io/controller-uid": uid,
            "batch.kubernetes.io/job-name": meta["name"],
            "controller-uid": uid,
            "job-name": meta["name"],
        }
        spec.setdefault("selector", {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}})
        template = spec.setdefault("template", {})
        if isinstance(template, dict):
            labels = template.setdefault("metadata", {}).setdefault("labels", {})
            for key, value in job_labels.items():
                labels.setdefault(key, value)
    template = spec.get("template")
    if isinstance(template, dict) and isinstance(template.get("spec"), dict):
        _default_pod_spec(template["spec"], restart="Never")


# -- validation ------------------------------------------------------------------------------

Causes = list[tuple[str, str]]


def validate(rt: resources.ResourceType, obj: Mapping[str, Any], old: Mapping[str, Any] | None) -> None:
    """Raise 422 Invalid naming every bad field."""
    causes: Causes = []
    meta = obj.get("metadata") or {}
    name = str(meta.get("name", ""))
    pattern = _DNS_LABEL if rt.kind in _LABEL_KINDS and not rt.custom else _DNS_SUBDOMAIN
    limit = 63 if pattern is _DNS_LABEL else 253
    if not name:
        causes.append(("metadata.name", "Required value: name or generateName is required"))
    elif not rt.custom and (len(name) > limit or not pattern.match(name)):
        causes.append(
            (
                "metadata.name",
                (
                    f'Invalid value: "{name}": a lowercase RFC 1123 '
                    f"{'label' if pattern is _DNS_LABEL else 'subdomain'} must consist of lower case "
                    "alphanumeric characters, '-' or '.'"
                ),
            )
        )
    for field in ("labels", "annotations"):
        values = meta.get(field)
        if values is None:
            continue
        if not isinstance(values, Mapping):
            causes.append((f"metadata.{field}", "Invalid value: must be a map of strings"))
            continue
        for key, value in values.items():
            if not isinstance(value, str):
                causes.append((f"metadata.{field}", f'Invalid value: "{key}": values must be strings'))
            elif field == "labels" and (len(value) > 63 or not _LABEL_VALUE.match(value)):
                causes.append(
                    (
                        "metadata.labels",
                        (
                            f'Invalid value: "{value}": a valid label must be an empty '
                            "string or consist of alphanumeric characters, '-', '_' or '.'"
                        ),
                    )
                )
            if not _valid_key(str(key)):
                causes.append(
                    (
                        f"metadata.{field}",
                        (
                            f'Invalid value: "{key}": name part must consist of '
                            "alphanumeric characters, '-', '_' or '.'"
                        ),
                    )
                )
    check = _CHECKS.get(rt.kind) if not rt.custom else None
    if check is not None:
        check(obj, old, causes)
    if causes:
        raise status.invalid(rt.kind, rt.group, name, causes)


def _valid_key(key: str) -> bool:
    prefix, _, name = key.rpartition("/")
    if prefix and (len(prefix) > 253 or not _DNS_SUBDOMAIN.match(prefix)):
        return False
    return 0 < len(name) <= 63 and bool(_LABEL_NAME.match(name))


def _containers(spec: Any, where: str, causes: Causes) -> None:
    if not isinstance(spec, Mapping):
        causes.append((where, "Required value"))
        return
    containers = spec.get("containers")
    if not containers:
        causes.append((f"{where}.containers", "Required value"))
        return
    if not isinstance(containers, list):
        causes.append((f"{where}.containers", "Invalid value: must be a list"))
        return
    seen: set[str] = set()
    for i, container in enumerate(containers):
        if not isinstance(container, Mapping):
            causes.append((f"{where}.containers[{i}]", "Invalid value: must be an object"))
            continue
        cname = container.get("name")
        if not cname:
            causes.append((f"{where}.containers[{i}].name", "Required value"))
        elif cname in seen:
            causes.append((f"{where}.containers[{i}].name", f'Duplicate value: "{cname}"'))
        else:
            seen.add(str(cname))
        if not container.get("image"):
            causes.append((f"{where}.containers[{i}].image", "Required value"))


def _workload(
    obj: Mapping[str, Any], old: Mapping[str, Any] | None, causes: Causes, *, selector_required: bool = True
) -> None:
    kind = obj.get("kind", "")
    path = POD_TEMPLATE_PATHS.get(str(kind), ("spec", "template"))
    spec = obj.get("spec")
    if not isinstance(spec, Mapping):
        causes.append(("spec", "Required value"))
        return
    template = _get(obj, path)
    _containers(
        (template or {}).get("spec") if isinstance(template, Mapping) else None,
        ".".join(path) + ".spec",
        causes,
    )
    selector = spec.get("selector")
    if selector_required and not selector:
        causes.append(("spec.selector", "Required value"))
    elif isinstance(selector, Mapping):
        labels = ((template or {}).get("metadata") or {}).get("labels") or {}
        if not (selector.get("matchLabels") or selector.get("matchExpressions")):
            causes.append(("spec.selector", "Invalid value: empty selector is invalid for deployment"))
        else:
            try:
                matched = selectors.labels_match(selector, labels)
            except selectors.SelectorError as exc:  # an unknown operator, In without values, ...
                causes.append(("spec.selector", f"Invalid value: {exc}"))
            else:
                if not matched:
                    causes.append(
                        (
                            ".".join(path) + ".metadata.labels",
                            "Invalid value: `selector` does not match template `labels`",
                        )
                    )
    if old is not None and selector_required:
        old_selector = (old.get("spec") or {}).get("selector")
        if old_selector and selector and old_selector != selector:
            causes.append(("spec.selector", "Invalid value: field is immutable"))
    replicas = spec.get("replicas")
    if replicas is not None and (not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0):
        causes.append(("spec.replicas", "Invalid value: must be greater than or equal to 0"))


def _job(obj: Mapping[str, Any], old: Mapping[str, Any] | None, causes: Causes) -> None:
    _workload(obj, old, causes, selector_required=False)
    restart = _get(obj, ("spec", "template", "spec", "restartPolicy"))
    if restart not in (None, "Never", "OnFailure"):
        causes.append(
            (
                "spec.template.spec.restartPolicy",
                f'Unsupported value: "{restart}": supported values: "OnFailure", "Never"',
            )
        )
    if old is not None and _get(old, ("spec", "template")) != _get(obj, ("spec", "template")):
        causes.append(("spec.template", "Invalid value: field is immutable"))


def _cronjob(obj: Mapping[str, Any], old: Mapping[str, Any] | None, causes: Causes) -> None:
    _workload(obj, old, causes, selector_required=False)
    spec = obj.get("spec") or {}
    schedule = spec.get("schedule")
    if not schedule:
        causes.append(("spec.schedule", "Required value"))
    elif not isinstance(schedule, str) or not croniter.croniter.is_valid(schedule):
        causes.append(("spec.schedule", f'Invalid value: "{schedule}": not a valid cron schedule'))
    elif schedule.startswith(("TZ=", "CRON_TZ=")):
        causes.append(
            (
                "spec.schedule",
                f'Invalid value: "{schedule}": cannot use TZ or CRON_TZ in schedule, use timeZone',
            )
        )
    zone = spec.get("timeZone")
    if zone:
        try:
            zoneinfo.ZoneInfo(str(zone))
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            causes.append(("spec.timeZone", f'Invalid value: "{zone}": unknown time zone {zone}'))
    if spec.get("concurrencyPolicy") not in (None, "Allow", "Forbid", "Replace"):
        causes.append(
            (
                "spec.concurrencyPolicy",
                f'Unsupported value: "{spec.get("concurrencyPolicy")}": supported values: "Allow", "Forbid", "Replace"',
            )
        )


def _pod(obj: Mapping[str, Any], old: Mapping[str, Any] | None, causes: Causes) -> None:
    _containers(obj.get("spec"), "spec", causes)


def _service(obj: Mapping[str, Any], old: Mapping[str, Any] | None, causes: Causes) -> None:
    spec = obj.get("spec") or {}
    for i, port in enumerate(spec.get("ports") or []):
        if not isinstance(port, Mapping) or not isinstance(port.get("port"), int):
            causes.append((f"spec.ports[{i}].port", "Required value"))
    if spec.get("type") not in ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName"):
        causes.append(("spec.type", f'Unsupported value: "{spec.get("type")}"'))
    old_ip = ((old or {}).get("spec") or {}).get("clusterIP")
    if old_ip and spec.get("clusterIP") and spec.get("clusterIP") != old_ip:
        causes.append(("spec.clusterIP", "Invalid value: field is immutable"))


def _configmap(obj: Mapping[str, Any], old: Mapping[str, Any] | None, causes: Causes) -> None:
    for field in ("data", "binaryData"):
        values = obj.get(field)
        if values is not None and not isinstance(values, Mapping):
            causes.append((field, "Invalid value: must be a map"))
        elif field == "data":
            for key, value in (values or {}).items():
                if not isinstance(value, str):
                    causes.append((f"data[{key}]", "Invalid value: must be a string"))
    _immutable_data(obj, old, causes)


def _secret(obj: Mapping[str, Any], old: Mapping[str, Any] | None, causes: Causes) -> None:
    for key, value in (obj.get("data") or {}).items():
        try:
            base64.b64decode(str(value), validate=True)
        except (binascii.Error, ValueError):
            # The message names the key only: the value is secret.
            causes.append((f"data[{key}]", "Invalid value: must be base64 encoded"))
    _immutable_data(obj, old, causes)


def _immutable_data(obj: Mapping[str, Any], old: Mapping[str, Any] | None, causes: Causes) -> None:
    if old is not None and old.get("immutable"):
        for field in ("data", "binaryData", "stringData"):
            if obj.get(field) != old.get(field):
                causes.append((field, "Forbidden: field is immutable when `immutable` is set"))
        if not obj.get("immutable"):
            causes.append(("immutable", "Forbidden: field is immutable when `immutable` is set"))


def _crd(obj: Mapping[str, Any], old: Mapping[str, Any] | None, causes: Causes) -> None:
    spec = obj.get("spec") or {}
    names = spec.get("names") or {}
    group, plural = spec.get("group"), names.get("plural")
    if not group:
        causes.append(("spec.group", "Required value"))
    if not plural:
        causes.append(("spec.names.plural", "Required value"))
    if not names.get("kind"):
        causes.append(("spec.names.kind", "Required value"))
    if (
        not spec.get("versions")
        or sum(1 for v in spec["versions"] if isinstance(v, Mapping) and v.get("storage")) != 1
    ):
        causes.append(
            ("spec.versions", "Invalid value: must have exactly one version marked as storage version")
        )
    name = (obj.get("metadata") or {}).get("name")
    if group and plural and name != f"{plural}.{group}":
        causes.append(("metadata.name", f'Invalid value: "{name}": must be spec.names.plural+"."+spec.group'))
    if spec.get("scope") not in ("Namespaced", "Cluster"):
        causes.append(("spec.scope", f'Unsupported value: "{spec.get("scope")}"'))


_CHECKS: dict[str, Callable[[Mapping[str, Any], Mapping[str, Any] | None, Causes], None]] = {
    "Deployment": _workload,
    "ReplicaSet": _workload,
    "StatefulSet": _workload,
    "DaemonSet": _workload,
    "Job": _job,
    "CronJob": _cronjob,
    "Pod": _pod,
    "Service": _service,
    "ConfigMap": _configmap,
    "Secret": _secret,
    "CustomResourceDefinition": _crd,
}
