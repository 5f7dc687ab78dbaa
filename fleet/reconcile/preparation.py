"""The objects of one Application before they meet the cluster: parse its sync policy and
ignoreDifferences, decrypt SOPS files in memory, default namespaces, stamp and hash, check its
AppProject; and, from them, which resource types the cluster's LISTs must cover.

Where it sits: the first local phase of ``fleet.reconcile.sync_cluster``, after it connected and
before any LIST (only ``cluster_scope`` asks the API, for discovery the LISTs need anyway). A
``Prepared`` that carries a ``failure`` is reported by ``app_sync`` without touching the cluster.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from fleet import diff, errors, inventory, models, projects, waves
from fleet.clusters import client
from fleet.reconcile import failures, units
from fleet.status import Reason

Ref = inventory.ObjectRef

# The hash of the desired object (as rendered, stamped, before secrets are resolved or SOPS files
# decrypted) that fleet last applied; tells a change in Git from a change made by hand.
DESIRED_HASH_ANNOTATION = "fleet.gitops.io/desired-hash"
SEALED_SECRET_API = "bitnami.com/v1alpha1"


def desired_hash(obj: Mapping[str, Any]) -> str:
    """A stable hash of a desired object (never of a resolved secret: see ``fleet.reconcile``)."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _with_annotation(obj: Mapping[str, Any], key: str, value: str) -> dict[str, Any]:
    out = dict(obj)
    metadata = dict(obj.get("metadata") or {})
    metadata["annotations"] = {**(metadata.get("annotations") or {}), key: value}
    out["metadata"] = metadata
    return out


@dataclass
class Prepared:
    """One Application's objects, ready to meet the cluster (or why they cannot)."""

    work: units.AppWork
    policy: waves.SyncPolicy = field(default_factory=waves.SyncPolicy)
    rules: tuple[diff.IgnoreRule, ...] = ()
    objects: list[dict[str, Any]] = field(default_factory=list)  # stamped, hashed, decrypted; hooks too
    failure: tuple[Reason, str] | None = None
    sealed: set[Ref] = field(default_factory=set)  # Secrets to deliver as SealedSecrets
    # Objects whose live copy may be kept on disk between processes (``livecache``): Git holds
    # them in plain text, with no secret reference, no SOPS encryption, and they are no Secret.
    plain: set[Ref] = field(default_factory=set)


def _decrypt(obj: Mapping[str, Any], *, app: str) -> dict[str, Any]:
    """A SOPS-encrypted manifest, decrypted in memory (Flux-style, per object)."""
    from fleet.secrets import sops

    if not sops.is_encrypted(obj):
        return dict(obj)
    meta = obj.get("metadata") or {}
    where = f"application {app}: {obj.get('kind', '?')}/{meta.get('name', '?')}"
    # Indented JSON: the SOPS layer recognises a "sops" key at the start of a line.
    text = sops.decrypt_if_encrypted(json.dumps(obj, indent=2), path=f"{where}.json")
    decrypted = json.loads(text)
    if not isinstance(decrypted, dict) or sops.is_encrypted(decrypted):
        raise errors.InputError("is SOPS-encrypted but was not decrypted", obj=where)
    return decrypted


def prepare(work: units.AppWork, *, cluster_scoped: frozenset[tuple[str, str]] | None = None) -> Prepared:
    """Parse the policy, decrypt SOPS objects, default namespaces, stamp and hash (no cluster access)."""
    from fleet.secrets import refs
    from fleet.secrets.sealed import delivery

    prepared = Prepared(work)
    try:
        prepared.policy = waves.parse_sync_policy(work.sync_policy)
        prepared.rules = diff.parse_ignore_differences(list(work.ignore_differences) or None)
    except errors.FleetError as exc:
        prepared.failure = (Reason.INVALID_SPEC, f"application {work.name}: {failures.message(exc)}")
        return prepared
    seen: set[Ref] = set()
    # Without a destination namespace, namespaced objects go where the API server puts them.
    namespace = work.namespace or "default"
    for index, raw in enumerate(work.manifests):
        meta = raw.get("metadata") or {}
        if (
            not raw.get("apiVersion")
            or not raw.get("kind")
            or not (meta.get("name") or meta.get("generateName"))
        ):
            prepared.failure = (
                Reason.INVALID_SPEC,
                f"application {work.name}: manifest {index} "
                f"({raw.get('kind') or 'object'} {meta.get('name') or '<unnamed>'}) needs apiVersion, "
                "kind and metadata.name",
            )
            return prepared
        # The hash is taken of the object as Git has it (ciphertext for SOPS files), stamped.
        shipped = waves.default_namespace([raw], namespace, cluster_scoped=cluster_scoped)[0]
        shipped = inventory.stamp(shipped, work.name)
        digest = desired_hash(shipped)
        try:
            plain = _decrypt(raw, app=work.name)
        except Exception as exc:  # noqa: BLE001 - the SOPS layer's errors never carry values
            prepared.failure = (
                Reason.SECRET_RESOLUTION_FAILED,
                f"SOPS decryption failed: {failures.message(exc)}",
            )
            return prepared
        obj = waves.default_namespace([plain], namespace, cluster_scoped=cluster_scoped)[0]
        obj = _with_annotation(inventory.stamp(obj, work.name), DESIRED_HASH_ANNOTATION, digest)
        ref = Ref.from_object(obj)
        if ref in seen and not waves.is_hook(obj):
            prepared.failure = (
                Reason.INVALID_SPEC,
                f"application {work.name}: {ref} appears twice in the manifests",
            )
            return prepared
        seen.add(ref)
        try:
            if delivery.wants_sealed_delivery(obj):
                prepared.sealed.add(ref)
        except errors.FleetError as exc:
            prepared.failure = (Reason.INVALID_SPEC, failures.message(exc))
            return prepared
        # Nothing secret in Git's form, nor resolved into it later; any "sops" key at all (not
        # only a well-formed SOPS envelope) keeps it off disk too.
        if (
            not waves.is_hook(obj)
            and ref not in prepared.sealed
            and str(obj.get("kind")) != "Secret"
            and "sops" not in raw
            and not refs.has_references(obj)
        ):
            prepared.plain.add(ref)
        prepared.objects.append(obj)
    return prepared


def prepare_safely(work: units.AppWork, cluster_scoped: frozenset[tuple[str, str]] | None = None) -> Prepared:
    """``prepare``, with any unexpected error as this Application's failure."""
    try:
        return prepare(work, cluster_scoped=cluster_scoped)
    except Exception as exc:  # noqa: BLE001 - one Application's bad manifest must not stop the cluster
        return Prepared(
            work, failure=(Reason.INVALID_SPEC, f"application {work.name}: {failures.message(exc)}")
        )


def cluster_scope(api: client.ClusterClient, works: Sequence[units.AppWork]) -> frozenset[tuple[str, str]]:
    """Which (group, kind)s of these manifests are cluster-scoped, from the cluster's discovery
    (which the LISTs need anyway). A kind the server does not serve yet is judged by a CRD among
    the manifests (``spec.scope``), else by the kinds that are cluster-scoped everywhere."""
    crd_scopes: dict[tuple[str, str], bool] = {}
    kinds: dict[tuple[str, str], str] = {}
    for work in works:
        for obj in work.manifests:
            api_version, kind = str(obj.get("apiVersion") or ""), str(obj.get("kind") or "")
            if not api_version or not kind:
                continue
            ref = Ref.from_object(obj)
            kinds.setdefault((ref.group, kind), api_version)
            if (ref.group, kind) == ("apiextensions.k8s.io", "CustomResourceDefinition"):
                spec = obj.get("spec") or {}
                names = spec.get("names") or {}
                if spec.get("group") and names.get("kind"):
                    crd_scopes[(str(spec["group"]), str(names["kind"]))] = spec.get("scope") == "Cluster"
    scoped = set(waves.CLUSTER_SCOPED_KINDS)
    for (group, kind), api_version in kinds.items():
        try:
            namespaced = api.resource(api_version, kind).namespaced
        except client.UnknownKind:
            if (group, kind) not in crd_scopes:
                continue
            namespaced = not crd_scopes[(group, kind)]
        if namespaced:
            scoped.discard((group, kind))
        else:
            scoped.add((group, kind))
    return frozenset(scoped)


def check_project(
    prepared: Prepared, cluster_scoped: frozenset[tuple[str, str]], cluster: models.Cluster
) -> Prepared:
    """Refuse the whole Application, before any write, when its AppProject does not permit one
    of its objects (hooks included), as Argo CD fails such a sync as a whole."""
    rules = prepared.work.project_rules
    if rules is None or prepared.failure is not None:
        return prepared
    denied = projects.denied_objects(
        rules, prepared.objects, cluster_scoped=cluster_scoped, server=cluster.server, name=cluster.name
    )
    if denied:
        more = f" (and {len(denied) - 3} more)" if len(denied) > 3 else ""
        prepared.failure = (
            Reason.PROJECT_DENIED,
            f"application {prepared.work.name}: {'; '.join(denied[:3])}{more}",
        )
    return prepared


def sealed_ref(ref: Ref) -> Ref:
    """The SealedSecret that delivers this Secret."""
    return Ref("bitnami.com", "SealedSecret", ref.namespace, ref.name)


def kinds_needed(
    prepared: Iterable[Prepared], previous: Mapping[str, inventory.Inventory]
) -> dict[tuple[str, str], str]:
    """(group, kind) -> the apiVersion to LIST it with: what the Applications render, what their
    inventories hold (stale objects to prune), and what sealed delivery reads."""
    kinds: dict[tuple[str, str], str] = {}
    for item in prepared:
        if item.failure:
            continue
        for obj in item.objects:
            ref = Ref.from_object(obj)
            if ref in item.sealed:
                kinds.setdefault(("bitnami.com", "SealedSecret"), SEALED_SECRET_API)
                kinds.setdefault(("", "Secret"), "v1")
                continue
            kinds.setdefault((ref.group, ref.kind), str(obj["apiVersion"]))
        inv = previous.get(item.work.name)
        for entry in inv.entries if inv else ():
            kinds.setdefault((entry.ref.group, entry.ref.kind), entry.api_version)
    return kinds
