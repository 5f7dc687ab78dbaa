"""Write ``schema-v1.32.txt``, the protobuf schema table, from Kubernetes' own sources.

Not used at run time: this is how the table was made, and how to make it again for a new API
version or another built-in kind (add it to ``KINDS``). It reads two kinds of facts from a
directory laid out like Go's module paths (``k8s.io/api/core/v1/``, ``k8s.io/apimachinery/pkg/
apis/meta/v1/``, ``k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1/``, ...) holding the
``generated.proto`` and ``*.go`` files of kubernetes/api, kubernetes/apimachinery and
kubernetes/apiextensions-apiserver at one tag (v0.32.0 for the shipped table):

- from ``generated.proto``: messages, field numbers, types, repeated and map fields;
- from the Go struct tags: each field's JSON name, ``omitempty``, ``inline`` and whether it is a
  pointer (which decide what Go's JSON shows for a field the wire carries as zero).

Only messages reachable from ``KINDS`` are written. Usage::

    python clusters/sim/protobuf/generate_schema.py SRC > clusters/sim/protobuf/schema-v1.32.txt
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

SRC = Path(sys.argv[1])

ALIASES = {
    "k8s.io.api.core.v1": "core/v1",
    "k8s.io.api.apps.v1": "apps/v1",
    "k8s.io.api.batch.v1": "batch/v1",
    "k8s.io.api.networking.v1": "networking/v1",
    "k8s.io.api.rbac.v1": "rbac/v1",
    "k8s.io.api.autoscaling.v2": "autoscaling/v2",
    "k8s.io.api.autoscaling.v1": "autoscaling/v1",
    "k8s.io.api.policy.v1": "policy/v1",
    "k8s.io.api.storage.v1": "storage/v1",
    "k8s.io.api.scheduling.v1": "scheduling/v1",
    "k8s.io.api.coordination.v1": "coordination/v1",
    "k8s.io.api.discovery.v1": "discovery/v1",
    "k8s.io.api.admissionregistration.v1": "admissionregistration/v1",
    "k8s.io.api.events.v1": "events/v1",
    "k8s.io.api.authentication.v1": "authentication/v1",
    "k8s.io.apimachinery.pkg.apis.meta.v1": "meta/v1",
    "k8s.io.apimachinery.pkg.runtime": "runtime",
    "k8s.io.apimachinery.pkg.api.resource": "resource",
    "k8s.io.apimachinery.pkg.util.intstr": "intstr",
    "k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1": "apiextensions/v1",
}
DIRS = {
    "core/v1": "k8s.io/api/core/v1",
    "apps/v1": "k8s.io/api/apps/v1",
    "batch/v1": "k8s.io/api/batch/v1",
    "networking/v1": "k8s.io/api/networking/v1",
    "rbac/v1": "k8s.io/api/rbac/v1",
    "autoscaling/v2": "k8s.io/api/autoscaling/v2",
    "autoscaling/v1": "k8s.io/api/autoscaling/v1",
    "policy/v1": "k8s.io/api/policy/v1",
    "storage/v1": "k8s.io/api/storage/v1",
    "scheduling/v1": "k8s.io/api/scheduling/v1",
    "coordination/v1": "k8s.io/api/coordination/v1",
    "discovery/v1": "k8s.io/api/discovery/v1",
    "admissionregistration/v1": "k8s.io/api/admissionregistration/v1",
    "events/v1": "k8s.io/api/events/v1",
    "authentication/v1": "k8s.io/api/authentication/v1",
    "meta/v1": "k8s.io/apimachinery/pkg/apis/meta/v1",
    "runtime": "k8s.io/apimachinery/pkg/runtime",
    "resource": "k8s.io/apimachinery/pkg/api/resource",
    "intstr": "k8s.io/apimachinery/pkg/util/intstr",
    "apiextensions/v1": "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1",
}
# Messages whose JSON form is not an object of their fields: the codec handles them by name.
SPECIAL = {
    "meta/v1.Time",
    "meta/v1.MicroTime",
    "meta/v1.Duration",
    "meta/v1.FieldsV1",
    "runtime.RawExtension",
    "resource.Quantity",
    "intstr.IntOrString",
    "apiextensions/v1.JSON",
    "apiextensions/v1.JSONSchemaPropsOrArray",
    "apiextensions/v1.JSONSchemaPropsOrBool",
    "apiextensions/v1.JSONSchemaPropsOrStringArray",
}
SCALARS = {"string", "bytes", "bool", "int32", "int64", "uint32", "uint64", "double", "float"}

# (apiVersion, Kind, message) the simulator serves; lists are found as <message>List.
KINDS = [
    ("v1", "Namespace", "core/v1.Namespace"),
    ("v1", "ConfigMap", "core/v1.ConfigMap"),
    ("v1", "Secret", "core/v1.Secret"),
    ("v1", "Service", "core/v1.Service"),
    ("v1", "ServiceAccount", "core/v1.ServiceAccount"),
    ("v1", "Pod", "core/v1.Pod"),
    ("v1", "Event", "core/v1.Event"),
    ("v1", "PersistentVolumeClaim", "core/v1.PersistentVolumeClaim"),
    ("v1", "PersistentVolume", "core/v1.PersistentVolume"),
    ("v1", "Node", "core/v1.Node"),
    ("v1", "Endpoints", "core/v1.Endpoints"),
    ("v1", "LimitRange", "core/v1.LimitRange"),
    ("v1", "ResourceQuota", "core/v1.ResourceQuota"),
    ("apps/v1", "Deployment", "apps/v1.Deployment"),
    ("apps/v1", "ReplicaSet", "apps/v1.ReplicaSet"),
    ("apps/v1", "StatefulSet", "apps/v1.StatefulSet"),
    ("apps/v1", "DaemonSet", "apps/v1.DaemonSet"),
    ("apps/v1", "ControllerRevision", "apps/v1.ControllerRevision"),
    ("batch/v1", "Job", "batch/v1.Job"),
    ("batch/v1", "CronJob", "batch/v1.CronJob"),
    ("networking.k8s.io/v1", "Ingress", "networking/v1.Ingress"),
    ("networking.k8s.io/v1", "NetworkPolicy", "networking/v1.NetworkPolicy"),
    ("networking.k8s.io/v1", "IngressClass", "networking/v1.IngressClass"),
    ("rbac.authorization.k8s.io/v1", "Role", "rbac/v1.Role"),
    ("rbac.authorization.k8s.io/v1", "RoleBinding", "rbac/v1.RoleBinding"),
    ("rbac.authorization.k8s.io/v1", "ClusterRole", "rbac/v1.ClusterRole"),
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", "rbac/v1.ClusterRoleBinding"),
    ("apiextensions.k8s.io/v1", "CustomResourceDefinition", "apiextensions/v1.CustomResourceDefinition"),
    ("autoscaling/v2", "HorizontalPodAutoscaler", "autoscaling/v2.HorizontalPodAutoscaler"),
    ("autoscaling/v1", "HorizontalPodAutoscaler", "autoscaling/v1.HorizontalPodAutoscaler"),
    ("autoscaling/v1", "Scale", "autoscaling/v1.Scale"),
    ("policy/v1", "PodDisruptionBudget", "policy/v1.PodDisruptionBudget"),
    ("storage.k8s.io/v1", "StorageClass", "storage/v1.StorageClass"),
    ("scheduling.k8s.io/v1", "PriorityClass", "scheduling/v1.PriorityClass"),
    ("coordination.k8s.io/v1", "Lease", "coordination/v1.Lease"),
    ("discovery.k8s.io/v1", "EndpointSlice", "discovery/v1.EndpointSlice"),
    (
        "admissionregistration.k8s.io/v1",
        "ValidatingWebhookConfiguration",
        "admissionregistration/v1.ValidatingWebhookConfiguration",
    ),
    (
        "admissionregistration.k8s.io/v1",
        "MutatingWebhookConfiguration",
        "admissionregistration/v1.MutatingWebhookConfiguration",
    ),
    ("events.k8s.io/v1", "Event", "events/v1.Event"),
    ("authentication.k8s.io/v1", "TokenRequest", "authentication/v1.TokenRequest"),
    ("v1", "Status", "meta/v1.Status"),
    ("v1", "DeleteOptions", "meta/v1.DeleteOptions"),
    ("meta.k8s.io/v1", "DeleteOptions", "meta/v1.DeleteOptions"),
    ("v1", "WatchEvent", "meta/v1.WatchEvent"),
    # What a metadata-only GET or LIST answers (client-go's metadata client asks for it in protobuf).
    ("meta.k8s.io/v1", "PartialObjectMetadata", "meta/v1.PartialObjectMetadata"),
]

FIELD = re.compile(
    r"^\s*(optional|repeated|required)?\s*(map<\s*([\w.]+)\s*,\s*([\w.]+)\s*>|[\w.]+)\s+(\w+)\s*=\s*(\d+)\s*;"
)


def parse_proto(alias: str, text: str) -> dict[str, list[tuple]]:
    package = re.search(r"^package\s+([\w.]+);", text, re.MULTILINE).group(1)  # type: ignore[union-attr]
    assert ALIASES[package] == alias, (package, alias)
    messages: dict[str, list[tuple]] = {}
    current = None
    for line in text.splitlines():
        stripped = line.split("//")[0].strip()
        if not stripped:
            continue
        m = re.match(r"^message\s+(\w+)\s*\{", stripped)
        if m:
            current = messages.setdefault(f"{alias}.{m.group(1)}", [])
            continue
        if stripped == "}":
            current = None
            continue
        f = FIELD.match(stripped)
        if f and current is not None:
            label, typ, key, value, name, number = f.groups()
            if key:
                current.append(("map", (resolve(alias, key), resolve(alias, value)), name, int(number)))
            else:
                current.append((label or "optional", resolve(alias, typ), name, int(number)))
    return messages


def resolve(alias: str, typ: str) -> str:
    if typ in SCALARS:
        return typ
    if typ.startswith("."):
        package, _, name = typ[1:].rpartition(".")
        return f"{ALIASES[package]}.{name}"
    return f"{alias}.{typ}"


GO_FIELD = re.compile(r"^\s*(\w+)?\s+([\w.\*\[\]]+)\s+`([^`]*)`|^\s*([\w.\*]+)\s+`([^`]*)`")


def parse_go(alias: str, folder: Path) -> dict[str, dict[int, dict]]:
    out: dict[str, dict[int, dict]] = {}
    for path in sorted(folder.glob("*.go")):
        lines = path.read_text().splitlines()
        i = 0
        while i < len(lines):
            m = re.match(r"^type\s+(\w+)\s+struct\s*\{", lines[i])
            if not m:
                i += 1
                continue
            struct = out.setdefault(f"{alias}.{m.group(1)}", {})
            if lines[i].rstrip().endswith("}"):  # type X struct{}
                i += 1
                continue
            i += 1
            while i < len(lines) and not lines[i].startswith("}"):
                line = lines[i].split("//")[0] if "`" not in lines[i] else lines[i]
                g = GO_FIELD.match(line)
                if g:
                    if g.group(4):
                        gotype, tag = g.group(4), g.group(5)
                    else:
                        gotype, tag = g.group(2), g.group(3)
                    js = re.search(r'json:"([^"]*)"', tag)
                    pb = re.search(r'protobuf:"([^"]*)"', tag)
                    if pb:
                        parts = pb.group(1).split(",")
                        if len(parts) < 2:
                            i += 1
                            continue
                        number = int(parts[1])
                        json_parts = (js.group(1) if js else "").split(",")
                        struct[number] = {
                            "json": json_parts[0],
                            "omitempty": "omitempty" in json_parts[1:],
                            "inline": "inline" in json_parts[1:],
                            "pointer": gotype.startswith("*"),
                            "gotype": gotype,
                        }
                i += 1
    return out


def main() -> None:
    protos: dict[str, list[tuple]] = {}
    gos: dict[str, dict[int, dict]] = {}
    for alias, folder in DIRS.items():
        base = SRC / folder
        protos.update(parse_proto(alias, (base / "generated.proto").read_text()))
        gos.update(parse_go(alias, base))
    # closure over reachable messages
    wanted: list[str] = []
    seen: set[str] = set()

    def visit(name: str) -> None:
        if name in seen or name in SCALARS:
            return
        seen.add(name)
        if name not in protos:
            raise SystemExit(f"unknown message {name}")
        wanted.append(name)
        if name in SPECIAL and name not in (
            "apiextensions/v1.JSONSchemaPropsOrArray",
            "apiextensions/v1.JSONSchemaPropsOrBool",
            "apiextensions/v1.JSONSchemaPropsOrStringArray",
        ):
            return
        for label, typ, _, _ in protos[name]:
            if label == "map":
                visit(typ[1])
            else:
                visit(typ)

    roots = [m for _, _, m in KINDS] + ["runtime.Unknown"]
    for _, _kind, message in KINDS:
        roots.append(message + "List")
    for root in roots:
        if root in protos:
            visit(root)
    lines = [
        "# The Kubernetes protobuf schema the simulator speaks (API v1.32).",
        "# Generated from upstream generated.proto field numbers and types.go JSON tags; see",
        "# clusters/sim/protobuf/schema.py for the format.",
        "",
    ]
    for api_version, kind, message in KINDS:
        lines.append(f"kind {api_version} {kind} {message}")
        if message + "List" in protos and kind not in (
            "Status",
            "DeleteOptions",
            "WatchEvent",
            "Scale",
            "TokenRequest",
        ):
            lines.append(f"kind {api_version} {kind}List {message}List")
    lines.append("")
    for name in sorted(wanted):
        if name in SPECIAL:
            lines.append(f"message {name} special")
        else:
            lines.append(f"message {name}")
        if name in SPECIAL and name not in (
            "apiextensions/v1.JSONSchemaPropsOrArray",
            "apiextensions/v1.JSONSchemaPropsOrBool",
            "apiextensions/v1.JSONSchemaPropsOrStringArray",
        ):
            continue
        tags = gos.get(name, {})
        for label, typ, pname, number in protos[name]:
            tag = tags.get(number)
            if tag is None:
                json_name, flags = pname, ""
                print(f"warning: no Go tag for {name}.{pname} ({number})", file=sys.stderr)
            else:
                json_name = tag["json"] or pname
                flags = ""
                if tag["inline"]:
                    flags += "^"
                    json_name = pname
                if tag["pointer"]:
                    flags += "?"
                if not tag["omitempty"] and not tag["inline"]:
                    flags += "!"
            if label == "map":
                typ_text = f"map:{typ[0]}:{typ[1]}"
            else:
                typ_text = typ
            if label == "repeated":
                flags += "*"
            lines.append(f"  {number} {json_name} {typ_text}{(' ' + flags) if flags else ''}")
    sys.stdout.write("\n".join(lines) + "\n")


main()
