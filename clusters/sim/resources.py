"""The kinds a simulated cluster serves, and the discovery documents that describe them.

Every request to a simulated cluster first resolves its URL to a ``ResourceType`` here. Built-in
kinds are one process-wide table whose discovery documents are rendered once and shared by every
cluster (hundreds of clusters cost one copy); a cluster that has CustomResourceDefinitions gets a
``ClusterResources`` overlay with its own, re-rendered only when one of its CRDs changes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

KUBE_VERSION = {
    "major": "1",
    "minor": "32",
    "gitVersion": "v1.32.0-fleet-sim",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2026-01-01T00:00:00Z",
    "goVersion": "go1.23.0",
    "compiler": "gc",
    "platform": "linux/amd64",
}
VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
SUB_VERBS = ("get", "patch", "update")
AGGREGATED_CONTENT_TYPE = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"


@dataclass(frozen=True)
class ResourceType:
    """One servable resource: what its URL looks like and how its objects behave.

    ``versions`` lists every served version, the storage version first; objects are stored once
    (keyed by group and plural) and served at any listed version with ``apiVersion`` rewritten,
    as a CRD with conversion strategy ``None`` does.
    """

    group: str
    versions: tuple[str, ...]
    kind: str
    plural: str
    namespaced: bool = True
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    status: bool = False  # has a status subresource: main writes keep status, /status writes keep the rest
    scale: bool = False  # has a scale subresource (spec.replicas)
    generation: bool = False  # metadata.generation is tracked and bumped on spec changes
    custom: bool = False  # served because of a CustomResourceDefinition
    # Set for a view (``views``): the (group, plural) of the resource whose objects it serves.
    storage: tuple[str, str] | None = None
    schemas: Mapping[str, Any] = field(
        default_factory=dict, compare=False, hash=False
    )  # version -> openAPIV3Schema

    @property
    def key(self) -> tuple[str, str]:
        """Where objects of this resource are stored in a cluster (a view's: its storage's)."""
        return self.storage or (self.group, self.plural)

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def storage_version(self) -> str:
        return self.versions[0]

    def api_version(self, version: str | None = None) -> str:
        version = version or self.storage_version
        return f"{self.group}/{version}" if self.group else version

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"


def _rt(group: str, versions: str, kind: str, plural: str, **kw: Any) -> ResourceType:
    return ResourceType(group=group, versions=tuple(versions.split(",")), kind=kind, plural=plural, **kw)


ALL = ("all",)
BUILTINS: tuple[ResourceType, ...] = (
    _rt("", "v1", "Namespace", "namespaces", namespaced=False, short_names=("ns",), status=True),
    _rt("", "v1", "ConfigMap", "configmaps", short_names=("cm",)),
    _rt("", "v1", "Secret", "secrets"),
    _rt("", "v1", "Service", "services", short_names=("svc",), categories=ALL, status=True),
    _rt("", "v1", "ServiceAccount", "serviceaccounts", short_names=("sa",)),
    _rt("", "v1", "Pod", "pods", short_names=("po",), categories=ALL, status=True),
    _rt("", "v1", "Event", "events", short_names=("ev",)),
    _rt("events.k8s.io", "v1", "Event", "events", short_names=("ev",), storage=("", "events")),
    _rt("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", short_names=("pvc",), status=True),
    _rt(
        "", "v1", "PersistentVolume", "persistentvolumes", namespaced=False, short_names=("pv",), status=True
    ),
    _rt("", "v1", "Node", "nodes", namespaced=False, short_names=("no",), status=True),
    _rt("", "v1", "Endpoints", "endpoints", short_names=("ep",)),
    _rt("", "v1", "LimitRange", "limitranges", short_names=("limits",)),
    _rt("", "v1", "ResourceQuota", "resourcequotas", short_names=("quota",), status=True),
    _rt(
        "apps",
        "v1",
        "Deployment",
        "deployments",
        short_names=("deploy",),
        categories=ALL,
        status=True,
        scale=True,
        generation=True,
    ),
    _rt(
        "apps",
        "v1",
        "ReplicaSet",
        "replicasets",
        short_names=("rs",),
        categories=ALL,
        status=True,
        scale=True,
        generation=True,
    ),
    _rt(
        "apps",
        "v1",
        "StatefulSet",
        "statefulsets",
        short_names=("sts",),
        categories=ALL,
        status=True,
        scale=True,
        generation=True,
    ),
    _rt(
        "apps",
        "v1",
        "DaemonSet",
        "daemonsets",
        short_names=("ds",),
        categories=ALL,
        status=True,
        generation=True,
    ),
    _rt("apps", "v1", "ControllerRevision", "controllerrevisions"),
    _rt("batch", "v1", "Job", "jobs", categories=ALL, status=True, generation=True),
    _rt(
        "batch",
        "v1",
        "CronJob",
        "cronjobs",
        short_names=("cj",),
        categories=ALL,
        status=True,
        generation=True,
    ),
    _rt(
        "networking.k8s.io", "v1", "Ingress", "ingresses", short_names=("ing",), status=True, generation=True
    ),
    _rt(
        "networking.k8s.io",
        "v1",
        "NetworkPolicy",
        "networkpolicies",
        short_names=("netpol",),
        generation=True,
    ),
    _rt("networking.k8s.io", "v1", "IngressClass", "ingressclasses", namespaced=False, generation=True),
    _rt("rbac.authorization.k8s.io", "v1", "Role", "roles"),
    _rt("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings"),
    _rt("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", namespaced=False),
    _rt("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", namespaced=False),
    _rt(
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        namespaced=False,
        short_names=("crd", "crds"),
        status=True,
        generation=True,
    ),
    _rt(
        "autoscaling",
        "v2,v1",
        "HorizontalPodAutoscaler",
        "horizontalpodautoscalers",
        short_names=("hpa",),
        categories=ALL,
        status=True,
        generation=True,
    ),
    _rt(
        "policy",
        "v1",
        "PodDisruptionBudget",
        "poddisruptionbudgets",
        short_names=("pdb",),
        status=True,
        generation=True,
    ),
    _rt("storage.k8s.io", "v1", "StorageClass", "storageclasses", namespaced=False, short_names=("sc",)),
    _rt("scheduling.k8s.io", "v1", "PriorityClass", "priorityclasses", namespaced=False, short_names=("pc",)),
    _rt("coordination.k8s.io", "v1", "Lease", "leases"),
    _rt("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices"),
    _rt(
        "admissionregistration.k8s.io",
        "v1",
        "ValidatingWebhookConfiguration",
        "validatingwebhookconfigurations",
        namespaced=False,
        generation=True,
    ),
    _rt(
        "admissionregistration.k8s.io",
        "v1",
        "MutatingWebhookConfiguration",
        "mutatingwebhookconfigurations",
        namespaced=False,
        generation=True,
    ),
)

# Extra kinds served by every cluster without a CRD object, added by controller modules (e.g. a
# Sealed Secrets controller serving bitnami.com/v1alpha1) through ``register_builtin``.
_extra: list[ResourceType] = []
_shared: Catalog | None = None


def register_builtin(rt: ResourceType) -> None:
    """Serve ``rt`` in every simulated cluster, as if its CRD were installed everywhere."""
    global _shared
    if any((e.group, e.plural) == (rt.group, rt.plural) for e in (*BUILTINS, *_extra)):
        raise ValueError(f"resource {rt.plural}.{rt.group} is already registered")
    _extra.append(rt)
    _shared = None


def shared_catalog() -> Catalog:
    """The catalog of built-in kinds, rendered once per process."""
    global _shared
    if _shared is None:
        _shared = Catalog((*BUILTINS, *_extra))
    return _shared


class Catalog:
    """A set of resource types with lookup tables and cached discovery documents (bytes)."""

    def __init__(self, types: Iterable[ResourceType]) -> None:
        self.types: tuple[ResourceType, ...] = tuple(types)
        # (group, version, plural) -> type; (group, kind) -> type; key -> type
        self.by_path: dict[tuple[str, str, str], ResourceType] = {}
        self.by_kind: dict[tuple[str, str], ResourceType] = {}
        self.by_key: dict[tuple[str, str], ResourceType] = {}
        self.groups: dict[str, list[str]] = {}  # group -> versions, preferred first
        for rt in self.types:
            if rt.storage is None:
                self.by_key[rt.key] = rt
            else:  # a view: stored objects belong to the storing resource
                self.by_key.setdefault(rt.key, rt)
            self.by_kind[(rt.group, rt.kind)] = rt
            for version in rt.versions:
                self.by_path[(rt.group, version, rt.plural)] = rt
                versions = self.groups.setdefault(rt.group, [])
                if version not in versions:
                    versions.append(version)
        self._docs: dict[Any, bytes] = {}

    def lookup(self, group: str, version: str, plural: str) -> ResourceType | None:
        return self.by_path.get((group, version, plural))

    def kind(self, group: str, kind: str) -> ResourceType | None:
        return self.by_kind.get((group, kind))

    def has_group_version(self, group: str, version: str) -> bool:
        return version in self.groups.get(group, ())

    # -- discovery documents --------------------------------------------------------------

    def doc(self, name: Any) -> bytes:
        """A rendered discovery document, cached: ``"api"``, ``"apis"``, ``("gv", g, v)``,
        ``("group", g)``, ``"agg-api"``, ``"agg-apis"``."""
        cached = self._docs.get(name)
        if cached is None:
            cached = json.dumps(self._render(name), separators=(",", ":")).encode()
            self._docs[name] = cached
        return cached

    def _render(self, name: Any) -> Any:
        if name == "api":
            return {
                "kind": "APIVersions",
                "versions": ["v1"],
                "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}],
            }
        if name == "apis":
            return {
                "kind": "APIGroupList",
                "apiVersion": "v1",
                "groups": [self._group(g) for g in self.groups if g],
            }
        if name == "agg-api":
            return self._aggregated([""])
        if name == "agg-apis":
            return self._aggregated([g for g in self.groups if g])
        if name[0] == "group":
            return self._group(name[1])
        if name[0] == "gv":
            return self._resource_list(name[1], name[2])
        raise KeyError(name)

    def _group(self, group: str) -> dict[str, Any]:
        versions = [{"groupVersion": f"{group}/{v}", "version": v} for v in self.groups[group]]
        return {
            "kind": "APIGroup",
            "apiVersion": "v1",
            "name": group,
            "versions": versions,
            "preferredVersion": versions[0],
        }

    def _resource_list(self, group: str, version: str) -> dict[str, Any]:
        resources: list[dict[str, Any]] = []
        for rt in self.types:
            if rt.group != group or version not in rt.versions:
                continue
            entry: dict[str, Any] = {
                "name": rt.plural,
                "singularName": rt.singular,
                "namespaced": rt.namespaced,
                "kind": rt.kind,
                "verbs": list(VERBS),
                "storageVersionHash": _hash(rt),
            }
            if rt.short_names:
                entry["shortNames"] = list(rt.short_names)
            if rt.categories:
                entry["categories"] = list(rt.categories)
            resources.append(entry)
            for sub, kind, grp, ver in _subresources(rt, version):
                resources.append(
                    {
                        "name": f"{rt.plural}/{sub}",
                        "singularName": "",
                        "namespaced": rt.namespaced,
                        "kind": kind,
                        "group": grp,
                        "version": ver,
                        "verbs": list(SUB_VERBS),
                    }
                )
        gv = f"{group}/{version}" if group else version
        return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}

    def _aggregated(self, groups: list[str]) -> dict[str, Any]:
        # kubectl 1.32 asks for the aggregated form first (one request instead of one per group).
        items: list[dict[str, Any]] = []
        for group in groups:
            versions = []
            for version in self.groups[group]:
                resources = []
                for rt in self.types:
                    if rt.group != group or version not in rt.versions:
                        continue
                    entry: dict[str, Any] = {
                        "resource": rt.plural,
                        "responseKind": {"group": group, "version": version, "kind": rt.kind},
                        "scope": "Namespaced" if rt.namespaced else "Cluster",
                        "singularResource": rt.singular,
                        "verbs": list(VERBS),
                    }
                    if rt.short_names:
                        entry["shortNames"] = list(rt.short_names)
                    if rt.categories:
                        entry["categories"] = list(rt.categories)
                    subs = [
                        {
                            "subresource": sub,
                            "responseKind": {"group": grp, "version": ver, "kind": kind},
                            "verbs": list(SUB_VERBS),
                        }
                        for sub, kind, grp, ver in _subresources(rt, version)
                    ]
                    if subs:
                        entry["subresources"] = subs
                    resources.append(entry)
                versions.append({"version": version, "resources": resources, "freshness": "Current"})
            meta: dict[str, Any] = {"name": group} if group else {}
            items.append({"metadata": meta, "versions": versions})
        return {
            "kind": "APIGroupDiscoveryList",
            "apiVersion": "apidiscovery.k8s.io/v2",
            "metadata": {},
            "items": items,
        }

    # -- OpenAPI v3 ------------------------------------------------------------------------

    def openapi_paths(self) -> list[str]:
        """The group-version paths of the OpenAPI v3 index (``api/v1``, ``apis/apps/v1``, ...)."""
        out = []
        for group, versions in self.groups.items():
            for version in versions:
                out.append(f"apis/{group}/{version}" if group else f"api/{version}")
        return out

    def openapi_doc(self, group: str, version: str) -> bytes:
        key = ("openapi", group, version)
        cached = self._docs.get(key)
        if cached is None:
            cached = json.dumps(_openapi_gv(self.types, group, version), separators=(",", ":")).encode()
            self._docs[key] = cached
        return cached


def _subresources(rt: ResourceType, version: str) -> list[tuple[str, str, str, str]]:
    subs = []
    if rt.status:
        subs.append(("status", rt.kind, rt.group, version))
    if rt.scale:
        subs.append(("scale", "Scale", "autoscaling", "v1"))
    return subs


def _hash(rt: ResourceType) -> str:
    return hashlib.sha256(f"{rt.group}/{rt.storage_version}/{rt.kind}".encode()).hexdigest()[:11]


_PATCH_CONTENT = (
    "application/apply-patch+yaml",
    "application/json-patch+json",
    "application/merge-patch+json",
)
_QUERY_PARAMS = ("dryRun", "fieldManager", "fieldValidation", "force", "pretty")


def _openapi_gv(types: Iterable[ResourceType], group: str, version: str) -> dict[str, Any]:
    """A minimal OpenAPI v3 document for one group-version.

    It carries what kubectl reads from it: every PATCH operation with its
    ``x-kubernetes-group-version-kind`` and its ``fieldValidation`` parameter (kubectl then leaves
    field validation to the server), and the patch content types. Strategic merge patch is
    deliberately not listed, so client-side ``kubectl apply`` computes it from its compiled-in
    types, exactly as the real server would merge it, instead of from a schema we do not have.
    """
    paths: dict[str, Any] = {}
    prefix = f"/apis/{group}/{version}" if group else f"/api/{version}"
    for rt in types:
        if rt.group != group or version not in rt.versions:
            continue
        gvk = {"group": group, "version": version, "kind": rt.kind}
        base = f"{prefix}/namespaces/{{namespace}}/{rt.plural}" if rt.namespaced else f"{prefix}/{rt.plural}"
        params = [{"name": p, "in": "query", "schema": {"type": "string"}} for p in _QUERY_PARAMS]
        patch = {
            "operationId": f"patch{rt.kind}",
            "x-kubernetes-action": "patch",
            "x-kubernetes-group-version-kind": gvk,
            "parameters": params,
            "requestBody": {
                "content": {ct: {"schema": {"type": "object"}} for ct in _PATCH_CONTENT},
                "required": True,
            },
            "responses": {"200": {"description": "OK"}},
        }
        paths[f"{base}/{{name}}"] = {"patch": patch}
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": KUBE_VERSION["gitVersion"]},
        "paths": paths,
        "components": {"schemas": {}},
    }


# -- CustomResourceDefinitions ------------------------------------------------------------


def from_crd(crd: Mapping[str, Any]) -> ResourceType | None:
    """The resource a CRD object serves, or None when it serves no version."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    served = [v for v in spec.get("versions") or [] if v.get("served", True)]
    if not served or not names.get("plural") or not names.get("kind"):
        return None
    storage = [v for v in served if v.get("storage")] or served[:1]
    ordered = storage + [v for v in served if v is not storage[0]]
    subresources = storage[0].get("subresources") or {}
    return ResourceType(
        group=str(spec.get("group", "")),
        versions=tuple(str(v["name"]) for v in ordered),
        kind=str(names["kind"]),
        plural=str(names["plural"]),
        namespaced=spec.get("scope", "Namespaced") == "Namespaced",
        short_names=tuple(names.get("shortNames") or ()),
        categories=tuple(names.get("categories") or ()),
        status="status" in subresources,
        scale="scale" in subresources,
        generation=True,
        custom=True,
        schemas={str(v["name"]): (v.get("schema") or {}).get("openAPIV3Schema") or {} for v in ordered},
    )


class ClusterResources:
    """What one cluster serves: the shared built-ins, plus its CRDs when it has any."""

    def __init__(self) -> None:
        self._crds: dict[str, ResourceType] = {}  # CRD name -> type
        self._catalog: Catalog | None = None

    @property
    def catalog(self) -> Catalog:
        if not self._crds:
            return shared_catalog()
        if self._catalog is None:
            shared = shared_catalog()
            custom = [rt for rt in self._crds.values() if rt.key not in shared.by_key]
            self._catalog = Catalog((*shared.types, *custom))
        return self._catalog

    def set_crd(self, name: str, rt: ResourceType | None) -> None:
        if rt is None:
            self._crds.pop(name, None)
        else:
            self._crds[name] = rt
        self._catalog = None

    def crd_types(self) -> list[ResourceType]:
        return list(self._crds.values())
