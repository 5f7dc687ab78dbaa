"""One simulated cluster: the semantic layer of the Kubernetes API over its ``Store``.

The HTTP handlers (``server``) and the simulated controllers (``controllers``) both call these
operations: create, update (PUT), patch (merge, JSON, strategic, apply), delete (finalizers,
propagation), get and list. Everything a write must do happens here, in one order: metadata the
server owns, status/spec split, defaulting, validation, managedFields, no-op detection,
resourceVersion, storage, watch events, controller notification.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import random
import re
import string
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import yaml

from fleet import redact
from fleet.clusters.sim import (
    apply,
    defaults,
    events,
    faults,
    metrics,
    patch,
    protobuf,
    resources,
    schema,
    selectors,
    status,
    store,
    views,
)
from fleet.clusters.sim import clock as clock_mod

if TYPE_CHECKING:
    from fleet.clusters.sim import controllers

NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
NAMESPACE_KEY: store.Key = ("", "namespaces")
CRD_KEY: store.Key = ("apiextensions.k8s.io", "customresourcedefinitions")
_SERVER_META = ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation")


@dataclass
class SimConfig:
    """Settings shared by every cluster of one server."""

    rollout_seconds: float = 0.5
    bad_image_pattern: str = r":bad$"
    nodes: int = 1
    clock: clock_mod.SimClock = dataclasses.field(default_factory=clock_mod.SimClock)

    def __post_init__(self) -> None:
        self.bad_image = re.compile(self.bad_image_pattern)


def now_text(at: float | None = None) -> str:
    return clock_mod.text(at if at is not None else time.time())


class PatchType:
    """Content types of PATCH bodies."""

    APPLY = "application/apply-patch+yaml"
    MERGE = "application/merge-patch+json"
    JSON = "application/json-patch+json"
    STRATEGIC = "application/strategic-merge-patch+json"


class Counts:
    """Exact request accounting for one cluster (what ``SimServer.request_counts`` reports)."""

    __slots__ = ("answers", "bytes", "codes", "resources", "total", "verbs")

    def __init__(self) -> None:
        self.verbs: dict[str, int] = {}
        # Response body bytes by verb: what a metadata-only LIST saves over a full one (issue 15).
        self.bytes: dict[str, int] = {}
        # Successful answers by verb and form ("object/json", "metadata/protobuf", "table/json"):
        # what a client asked for, so a test sees a metadata path fall back to full LISTs.
        self.answers: dict[str, dict[str, list[int]]] = {}
        self.resources: dict[str, dict[str, int]] = {}
        self.codes: dict[int, int] = {}
        self.total = 0

    def add(self, verb: str, resource: str) -> None:
        self.total += 1
        self.verbs[verb] = self.verbs.get(verb, 0) + 1
        if resource:
            by_verb = self.resources.setdefault(resource, {})
            by_verb[verb] = by_verb.get(verb, 0) + 1

    def code(self, code: int) -> None:
        self.codes[code] = self.codes.get(code, 0) + 1

    def sent(self, verb: str, size: int) -> None:
        self.bytes[verb] = self.bytes.get(verb, 0) + size

    def answered(self, verb: str, form: str, size: int) -> None:
        found = self.answers.setdefault(verb, {}).setdefault(form, [0, 0])
        found[0] += 1
        found[1] += size

    def snapshot(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "verbs": dict(self.verbs),
            "resources": {k: dict(v) for k, v in self.resources.items()},
            "codes": {str(k): v for k, v in self.codes.items()},
            "bytes": dict(self.bytes),
            # {verb: {form: {"count": n, "bytes": n}}}
            "answers": {
                verb: {form: {"count": c, "bytes": b} for form, (c, b) in forms.items()}
                for verb, forms in self.answers.items()
            },
        }


def parse_body(raw: bytes, *, yaml_ok: bool = False) -> Any:
    if not raw:
        raise status.bad_request("the request body is empty")
    try:
        return json.loads(raw)
    except ValueError:
        if not yaml_ok:
            raise status.bad_request("the request body is not valid JSON") from None
    try:
        return yaml.load(raw, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        raise status.bad_request(f"the request body is not valid YAML: {exc}") from None


class SimCluster:
    """The state and API semantics of one simulated cluster."""

    def __init__(self, name: str, *, token: str, labels: Mapping[str, str], config: SimConfig) -> None:
        self.name = name
        self.token = token
        self.labels = dict(labels)
        self.config = config
        self.store = store.Store()
        self.resources = resources.ClusterResources()
        self.faults = faults.Faults()
        self.counts = Counts()
        self.controllers: controllers.Manager | None = None
        self.issued_tokens: dict[str, float] = {}  # ServiceAccount tokens (TokenRequest) -> expiry
        self.events = events.Recorder(self)
        self.metrics = metrics.Metrics()
        self._lists: dict[tuple[str, str], schema.Lists] = {}
        self.store.listeners.append(self._on_event)

    # -- set-up --------------------------------------------------------------------------------

    def bootstrap(self) -> None:
        """What a new cluster has: the system namespaces and its nodes."""
        ns_rt = self.rt("", "Namespace")
        for ns in NAMESPACES:
            self.create(ns_rt, "", {"metadata": {"name": ns}}, manager="kube-apiserver")
        node_rt = self.rt("", "Node")
        for i in range(self.config.nodes):
            node: dict[str, Any] = {
                "metadata": {
                    "name": f"{self.name}-node-{i}",
                    "labels": {
                        "kubernetes.io/hostname": f"{self.name}-node-{i}",
                        "kubernetes.io/os": "linux",
                    },
                },
                "status": {
                    "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}],
                    "capacity": {"cpu": "4", "memory": "16Gi", "pods": "110"},
                },
            }
            created = self.create(node_rt, "", json.loads(json.dumps(node)), manager="kubelet")
            ready = created.copy()
            ready["status"] = node["status"]
            self.update(node_rt, "", created.name, ready, manager="kubelet", subresource="status")

    def catalog(self) -> resources.Catalog:
        return self.resources.catalog

    def now(self) -> float:
        """The simulated time (``SimConfig.clock``): what every timestamp of this cluster reads."""
        return self.config.clock.now()

    def now_text(self) -> str:
        return now_text(self.config.clock.now())

    def rt(self, group: str, kind: str) -> resources.ResourceType:
        found = self.catalog().kind(group, kind)
        if found is None:
            raise status.ApiError(
                404, status.StatusReason.NOT_FOUND, f'no matches for kind "{kind}" in group "{group}"'
            )
        return found

    def rt_for(self, api_version: str, kind: str) -> resources.ResourceType:
        group = api_version.rpartition("/")[0]
        return self.rt(group, kind)

    def lists(self, rt: resources.ResourceType, version: str | None = None) -> schema.Lists:
        if not rt.custom:
            return schema.BUILTIN
        version = version or rt.storage_version
        found = self._lists.get((rt.plural + "." + rt.group, version))
        if found is None:
            found = schema.Lists(custom=True, schema=rt.schemas.get(version) or {})
            self._lists[(rt.plural + "." + rt.group, version)] = found
        return found

    # -- reads ---------------------------------------------------------------------------------

    def get(self, rt: resources.ResourceType, namespace: str, name: str) -> store.Entry:
        entry = self.store.get(rt.key, namespace if rt.namespaced else "", name)
        if entry is None:
            raise status.not_found(rt.plural, rt.group, name)
        return entry

    def find(self, rt: resources.ResourceType, namespace: str, name: str) -> store.Entry | None:
        return self.store.get(rt.key, namespace if rt.namespaced else "", name)

    def list(
        self,
        rt: resources.ResourceType,
        namespace: str | None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> tuple[list[store.Entry], int]:
        try:
            by_label = selectors.parse_label_selector(label_selector)
            by_field = selectors.parse_field_selector(
                field_selector, aliases=selectors.FIELD_ALIASES.get((rt.group, rt.kind))
            )
        except selectors.SelectorError as exc:
            raise status.bad_request(str(exc)) from None
        ns = namespace if rt.namespaced else None
        only = selectors.field_selector_name(field_selector)
        if only is not None and ns is not None:
            found = self.store.get(rt.key, ns, only)
            candidates = [found] if found is not None else []
        else:
            candidates = list(self.store.iter(rt.key, ns or None))
        out = [
            e
            for e in candidates
            if (by_label is None or by_label(e.obj)) and (by_field is None or by_field(e.obj))
        ]
        return out, self.store.rv

    # -- writes --------------------------------------------------------------------------------

    def _check_namespace(self, rt: resources.ResourceType, namespace: str) -> None:
        if not rt.namespaced:
            return
        if not namespace:
            raise status.bad_request("an empty namespace may not be set when a resource name is provided")
        ns = self.store.get(NAMESPACE_KEY, "", namespace)
        if ns is None:
            raise status.not_found("namespaces", "", namespace)
        if ns.obj["metadata"].get("deletionTimestamp"):
            raise status.ApiError(
                403,
                status.StatusReason.FORBIDDEN,
                f'{rt.plural} "{namespace}" is forbidden: unable to create new content in '
                f"namespace {namespace} because it is being terminated",
                details={"name": namespace, "kind": "namespaces"},
            )

    def _check_identity(
        self,
        rt: resources.ResourceType,
        namespace: str,
        obj: Any,
        *,
        name: str | None = None,
        require_type: bool = False,
    ) -> dict[str, Any]:
        if not isinstance(obj, dict):
            raise status.bad_request("the request body must be a JSON object")
        api_version, kind = obj.get("apiVersion"), obj.get("kind")
        if require_type and (not api_version or not kind):
            raise status.bad_request("apiVersion and kind must be set in an applied configuration")
        if api_version and (
            api_version.rpartition("/")[0] != rt.group or api_version.rpartition("/")[2] not in rt.versions
        ):
            raise status.bad_request(
                f"the API version in the data ({api_version}) does not match the expected "
                f"API version ({rt.api_version()})"
            )
        if kind and kind != rt.kind:
            raise status.bad_request(
                f"the kind in the data ({kind}) does not match the expected kind ({rt.kind})"
            )
        meta = obj.get("metadata")
        if meta is None:
            meta = obj["metadata"] = {}
        if not isinstance(meta, dict):
            raise status.bad_request("metadata must be an object")
        if rt.namespaced:
            body_ns = meta.get("namespace")
            if body_ns and body_ns != namespace:
                raise status.bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request"
                )
            meta["namespace"] = namespace
        else:
            meta.pop("namespace", None)
        if name is not None:
            body_name = meta.get("name")
            if body_name and body_name != name:
                raise status.bad_request(
                    f"the name of the object ({body_name}) does not match the name on the URL ({name})"
                )
            meta["name"] = name
        return obj

    def create(
        self,
        rt: resources.ResourceType,
        namespace: str,
        obj: Any,
        *,
        manager: str,
        dry_run: bool = False,
        version: str | None = None,
    ) -> store.Entry:
        obj = self._check_identity(rt, namespace, obj)
        self._check_namespace(rt, namespace)
        meta = obj["metadata"]
        if not meta.get("name") and meta.get("generateName"):
            suffix = "".join(random.choices(string.ascii_lowercase + string.digits, k=5))
            meta["name"] = f"{meta['generateName']}{suffix}"
        name = str(meta.get("name") or "")
        if name and self.find(rt, namespace, name) is not None:
            raise status.already_exists(rt.plural, rt.group, name)
        if rt.status:
            obj.pop("status", None)
        apply.track_update(
            None,
            obj,
            manager=manager,
            lists=self.lists(rt, version),
            api_version=rt.api_version(version),
            now=self.now_text(),
            has_status=rt.status,
        )
        return self._commit(rt, None, obj, dry_run=dry_run)

    def update(
        self,
        rt: resources.ResourceType,
        namespace: str,
        name: str,
        obj: Any,
        *,
        manager: str,
        subresource: str = "",
        dry_run: bool = False,
        version: str | None = None,
    ) -> store.Entry:
        obj = self._check_identity(rt, namespace, obj, name=name)
        old = self.get(rt, namespace, name)
        self._check_preconditions(rt, old, obj)
        new = self._split_status(rt, old, obj, subresource)
        apply.track_update(
            old.obj,
            new,
            manager=manager,
            lists=self.lists(rt, version),
            api_version=rt.api_version(version),
            now=self.now_text(),
            subresource=subresource,
            has_status=rt.status,
        )
        return self._commit(rt, old, new, dry_run=dry_run)

    def patch(
        self,
        rt: resources.ResourceType,
        namespace: str,
        name: str,
        patch_type: str,
        body: bytes,
        *,
        manager: str | None,
        force: bool = False,
        subresource: str = "",
        dry_run: bool = False,
        version: str | None = None,
        view: views.RenamingView | None = None,
    ) -> store.Entry:
        """Patch ``rt``'s object; with ``view``, the body is in the view's field names."""
        lists = self.lists(rt, version)
        if patch_type == PatchType.APPLY:
            if not manager:
                raise status.bad_request("PATCH with apply requires fieldManager to be set")
            doc = parse_body(body, yaml_ok=True)
            if view is not None and isinstance(doc, dict):
                doc = view.to_storage(doc)
            applied = self._check_identity(rt, namespace, doc, name=name, require_type=True)
            old = self.find(rt, namespace, name)
            if old is None:
                if subresource:
                    raise status.not_found(rt.plural, rt.group, name)
                self._check_namespace(rt, namespace)
            else:
                self._check_preconditions(rt, old, applied)
            applied["metadata"].pop("resourceVersion", None)
            new = apply.server_side_apply(
                old.obj if old else None,
                applied,
                manager=manager,
                force=force,
                lists=lists,
                api_version=rt.api_version(version),
                now=self.now_text(),
                subresource=subresource,
                has_status=rt.status,
                what=(rt.plural, rt.group, name),
            )
            if old is not None:
                new = self._split_status(rt, old, new, subresource)
            elif rt.status:
                new.pop("status", None)
            return self._commit(rt, old, new, dry_run=dry_run)
        old = self.get(rt, namespace, name)
        doc = parse_body(body)
        current = old.copy() if view is None else view.to_view(old.copy())
        if patch_type == PatchType.MERGE:
            result = patch.merge_patch(current, doc)
        elif patch_type == PatchType.JSON:
            result = patch.json_patch(current, doc)
        elif patch_type == PatchType.STRATEGIC:
            if rt.custom:
                raise status.ApiError(
                    415,
                    status.StatusReason.UNSUPPORTED_MEDIA_TYPE,
                    "the body of the request was in an unknown format - accepted media types "
                    "include: application/json-patch+json, application/merge-patch+json, "
                    "application/apply-patch+yaml",
                )
            result = patch.strategic_merge(current, doc, lists)
        else:
            raise status.ApiError(
                415,
                status.StatusReason.UNSUPPORTED_MEDIA_TYPE,
                f"the body of the request was in an unknown format: {patch_type}",
            )
        if view is not None:
            result = view.to_storage(result)
        result = self._check_identity(rt, namespace, result, name=name)
        self._check_preconditions(rt, old, result)
        new = self._split_status(rt, old, result, subresource)
        apply.track_update(
            old.obj,
            new,
            manager=manager or "unknown",
            lists=lists,
            api_version=rt.api_version(version),
            now=self.now_text(),
            subresource=subresource,
            has_status=rt.status,
        )
        return self._commit(rt, old, new, dry_run=dry_run)

    def _check_preconditions(
        self, rt: resources.ResourceType, old: store.Entry, obj: Mapping[str, Any]
    ) -> None:
        meta = obj.get("metadata") or {}
        rv = meta.get("resourceVersion")
        if rv and str(rv) != old.obj["metadata"]["resourceVersion"]:
            raise status.conflict(
                rt.plural,
                rt.group,
                old.name,
                "the object has been modified; please apply your changes to the latest version and try again",
            )
        uid = meta.get("uid")
        if uid and uid != old.uid:
            raise status.conflict(
                rt.plural,
                rt.group,
                old.name,
                f"Precondition failed: UID in precondition: {uid}, UID in object meta: {old.uid}",
            )

    def _split_status(
        self, rt: resources.ResourceType, old: store.Entry, new: dict[str, Any], subresource: str
    ) -> dict[str, Any]:
        """Main-resource writes keep the stored status; /status writes keep everything else.
        A namespace's ``spec.finalizers`` change only through its ``finalize`` subresource."""
        if rt.key == NAMESPACE_KEY:
            old_finalizers = (old.obj.get("spec") or {}).get("finalizers")
            if subresource == "finalize":
                result = old.copy()
                wanted = (new.get("spec") or {}).get("finalizers")
                result.setdefault("spec", {})["finalizers"] = wanted
                if not wanted:
                    result["spec"].pop("finalizers")
                return result
            if old_finalizers:
                new.setdefault("spec", {})["finalizers"] = old_finalizers
            elif isinstance(new.get("spec"), dict):
                new["spec"].pop("finalizers", None)
        if subresource == "status":
            result = old.copy()
            if "status" in new:
                result["status"] = new["status"]
            else:
                result.pop("status", None)
            result["metadata"]["managedFields"] = (new.get("metadata") or {}).get(
                "managedFields", result["metadata"].get("managedFields")
            )
            return result
        if rt.status:
            if "status" in old.obj:
                new["status"] = json.loads(json.dumps(old.obj["status"]))
            else:
                new.pop("status", None)
        return new

    def _commit(
        self,
        rt: resources.ResourceType,
        old: store.Entry | None,
        obj: dict[str, Any],
        *,
        dry_run: bool = False,
    ) -> store.Entry:
        meta = obj["metadata"]
        meta.pop("selfLink", None)
        obj["apiVersion"] = rt.api_version()
        obj["kind"] = rt.kind
        if old is not None:
            old_meta = old.obj["metadata"]
            for field in _SERVER_META:
                if field in old_meta:
                    meta[field] = old_meta[field]
                else:
                    meta.pop(field, None)
            if rt.generation and _spec_of(old.obj, rt) != _spec_of(obj, rt):
                meta["generation"] = int(old_meta.get("generation", 1)) + 1
        else:
            for field in _SERVER_META:
                meta.pop(field, None)
            meta["uid"] = str(uuid.uuid4())
            meta["creationTimestamp"] = self.now_text()
            if rt.generation:
                meta["generation"] = 1
        defaults.default(rt, obj, old.obj if old else None)
        defaults.validate(rt, obj, old.obj if old else None)
        if old is not None:
            meta["resourceVersion"] = old.obj["metadata"]["resourceVersion"]
            if obj == old.obj:
                return old  # a no-op write: nothing stored, no event, same resourceVersion
        if dry_run:
            meta.setdefault("resourceVersion", "")
            return store.Entry(obj)
        rv = self.store.next_rv()
        meta["resourceVersion"] = str(rv)
        if meta.get("deletionTimestamp") and not meta.get("finalizers") and not _ns_finalizers(rt, obj):
            entry = store.Entry(obj)
            self._remove(rt, entry)
            return entry
        entry = store.Entry(obj)
        self.store.put(rt.key, entry, "MODIFIED" if old else "ADDED", old=old)
        if rt.key == CRD_KEY:
            self._sync_crd(entry.obj)
        return entry

    # -- delete --------------------------------------------------------------------------------

    def delete(
        self,
        rt: resources.ResourceType,
        namespace: str,
        name: str,
        *,
        propagation: str | None = None,
        preconditions: Mapping[str, Any] | None = None,
        dry_run: bool = False,
        manager: str = "kube-apiserver",
    ) -> tuple[store.Entry | None, store.Entry]:
        """Delete now, or mark for deletion when finalizers remain. Returns (still there or None, last)."""
        entry = self.get(rt, namespace, name)
        if preconditions:
            self._check_preconditions(rt, entry, {"metadata": dict(preconditions)})
        if propagation not in (None, "", "Foreground", "Background", "Orphan"):
            raise status.bad_request(f"invalid propagationPolicy {propagation!r}")
        policy = propagation or ("Orphan" if rt.key == ("batch", "jobs") else "Background")
        meta = entry.obj["metadata"]
        finalizers = list(meta.get("finalizers") or [])
        has_dependents = bool(self.store.dependents(entry.uid))
        if policy == "Foreground" and has_dependents and "foregroundDeletion" not in finalizers:
            finalizers.append("foregroundDeletion")
        if dry_run:
            return (entry if finalizers else None), entry
        if policy == "Orphan" and has_dependents:
            self.orphan_dependents(entry.uid)
        if finalizers or _ns_finalizers(rt, entry.obj):
            if meta.get("deletionTimestamp") and finalizers == list(meta.get("finalizers") or []):
                return entry, entry
            new = entry.copy()
            new["metadata"]["deletionTimestamp"] = meta.get("deletionTimestamp") or self.now_text()
            new["metadata"]["deletionGracePeriodSeconds"] = 0
            new["metadata"]["finalizers"] = finalizers
            if not finalizers:
                new["metadata"].pop("finalizers")
            if rt.key == NAMESPACE_KEY:
                new.setdefault("status", {})["phase"] = "Terminating"
            rv = self.store.next_rv()
            new["metadata"]["resourceVersion"] = str(rv)
            updated = store.Entry(new)
            self.store.put(rt.key, updated, "MODIFIED", old=entry)
            return updated, updated
        self._remove(rt, entry)
        return None, entry

    def _remove(self, rt: resources.ResourceType, entry: store.Entry) -> None:
        rv = self.store.next_rv()
        self.store.remove(rt.key, entry, rv)
        if rt.key == CRD_KEY:
            self._drop_crd(entry.obj)

    def orphan_dependents(self, uid: str) -> None:
        for key, ns, name in sorted(self.store.dependents(uid)):
            dep = self.store.get(key, ns, name)
            rt = self.catalog().by_key.get(key)
            if dep is None or rt is None:
                continue
            new = dep.copy()
            refs = [r for r in new["metadata"].get("ownerReferences") or [] if r.get("uid") != uid]
            if refs:
                new["metadata"]["ownerReferences"] = refs
            else:
                new["metadata"].pop("ownerReferences", None)
            apply.track_update(
                dep.obj,
                new,
                manager="garbage-collector",
                lists=self.lists(rt),
                api_version=rt.api_version(),
                now=self.now_text(),
                has_status=rt.status,
            )
            self._commit(rt, dep, new)

    # -- CustomResourceDefinitions --------------------------------------------------------------

    def _sync_crd(self, crd: Mapping[str, Any]) -> None:
        name = crd["metadata"]["name"]
        rt = resources.from_crd(crd)
        if rt is not None and rt.key in resources.shared_catalog().by_key:
            return
        self.resources.set_crd(name, rt)
        self._lists = {k: v for k, v in self._lists.items() if k[0] != name}

    def _drop_crd(self, crd: Mapping[str, Any]) -> None:
        rt = resources.from_crd(crd)
        self.resources.set_crd(crd["metadata"]["name"], None)
        if rt is None or rt.key in resources.shared_catalog().by_key:
            return
        for entry in list(self.store.iter(rt.key)):
            self._remove(rt, entry)

    def restore_crds(self) -> None:
        for entry in self.store.iter(CRD_KEY):
            self._sync_crd(entry.obj)

    # -- ServiceAccount tokens ------------------------------------------------------------------

    def issue_token(self, account: Mapping[str, Any], spec: Mapping[str, Any]) -> dict[str, Any]:
        """A TokenRequest's answer: a JWT-shaped bearer token this cluster accepts until it expires
        (its signature is random: nothing outside the simulator needs to verify it)."""
        seconds = spec.get("expirationSeconds") or 3600
        if not isinstance(seconds, int) or isinstance(seconds, bool) or seconds < 600:
            raise status.invalid(
                "TokenRequest",
                "authentication.k8s.io",
                account["metadata"]["name"],
                [
                    (
                        "spec.expirationSeconds",
                        "Invalid value: may not specify a duration less than 10 minutes",
                    )
                ],
            )
        now = self.now()
        meta = account["metadata"]
        audiences = list(spec.get("audiences") or ["https://kubernetes.default.svc.cluster.local"])
        claims = {
            "aud": audiences,
            "exp": int(now + seconds),
            "iat": int(now),
            "iss": "https://kubernetes.default.svc.cluster.local",
            "sub": f"system:serviceaccount:{meta['namespace']}:{meta['name']}",
            "kubernetes.io": {
                "namespace": meta["namespace"],
                "serviceaccount": {"name": meta["name"], "uid": meta["uid"]},
            },
        }

        def segment(value: Any) -> str:
            raw = value if isinstance(value, bytes) else json.dumps(value, separators=(",", ":")).encode()
            return base64.urlsafe_b64encode(raw).decode().rstrip("=")

        token = ".".join(
            (segment({"alg": "RS256", "kid": "fleet-sim"}), segment(claims), segment(os.urandom(32)))
        )
        redact.register(token)
        self.issued_tokens = {t: exp for t, exp in self.issued_tokens.items() if exp > now}
        self.issued_tokens[token] = now + seconds
        return {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenRequest",
            "metadata": {
                "name": meta["name"],
                "namespace": meta["namespace"],
                "creationTimestamp": self.now_text(),
            },
            "spec": {"audiences": audiences, "expirationSeconds": seconds, "boundObjectRef": None},
            "status": {"token": token, "expirationTimestamp": now_text(now + seconds)},
        }

    def accepts_token(self, token: str) -> bool:
        """Whether ``token`` is a ServiceAccount token this cluster issued and that has not expired."""
        expiry = self.issued_tokens.get(token)
        return expiry is not None and expiry > self.now()

    # -- controller hook -----------------------------------------------------------------------

    def _on_event(self, event: store.Event) -> None:
        if self.controllers is not None:
            self.controllers.on_event(event)

    # -- reading at another version --------------------------------------------------------------

    def raw_at(
        self,
        rt: resources.ResourceType,
        entry: store.Entry,
        version: str,
        view: views.RenamingView | None = None,
    ) -> bytes:
        """The object's JSON as served at ``version`` (conversion: only apiVersion changes) or
        through a view; cached on the entry."""
        if view is not None:
            return entry.form(
                ("json", view.api_version),
                lambda: json.dumps(view.to_view(entry.obj), separators=(",", ":")).encode(),
            )
        if version == rt.storage_version:
            return entry.raw()
        api_version = rt.api_version(version)

        def convert() -> bytes:
            obj = dict(entry.obj)
            obj["apiVersion"] = api_version
            return json.dumps(obj, separators=(",", ":")).encode()

        return entry.form(("json", api_version), convert)

    def message_at(
        self,
        rt: resources.ResourceType,
        entry: store.Entry,
        version: str,
        view: views.RenamingView | None = None,
    ) -> bytes:
        """The object's protobuf message (no envelope) as served at ``version`` or through a view;
        cached on the entry. Raises ``protobuf.CodecError`` for a value that fits no field."""
        api_version = view.api_version if view is not None else rt.api_version(version)

        def encode() -> bytes:
            if view is not None:
                obj = view.to_view(entry.obj)
            else:
                obj = {**entry.obj, "apiVersion": api_version}
            return protobuf.encode_message(obj, api_version=api_version)

        return entry.form(("pb", api_version), encode)


def _spec_of(obj: Mapping[str, Any], rt: resources.ResourceType) -> dict[str, Any]:
    """What counts as the spec for generation: everything but metadata (and status, when it is a
    subresource)."""
    return {k: v for k, v in obj.items() if k != "metadata" and not (rt.status and k == "status")}


def _ns_finalizers(rt: resources.ResourceType, obj: Mapping[str, Any]) -> bool:
    """Namespaces also wait for ``spec.finalizers`` (the namespace controller empties them)."""
    return rt.key == NAMESPACE_KEY and bool((obj.get("spec") or {}).get("finalizers"))
