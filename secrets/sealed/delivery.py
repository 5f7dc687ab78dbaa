"""Fleet mode: deliver a Secret to each cluster as a SealedSecret sealed for *that* cluster.

Where it sits: in the per-cluster worker of a sync run, after rendering and just before diff and
apply. A rendered Secret annotated ``fleet.gitops/deliver-as: sealed-secret``
(``DELIVER_AS_ANNOTATION`` / ``Delivery.SEALED_SECRET``) has its secret references
(``ref+vault://...``) resolved for the target cluster, and is sealed in memory with that
cluster's certificate (``certs.certificate_for_cluster``). Only the SealedSecret is applied; its
controller, in the cluster, creates the Secret. Plaintext never reaches Git, disk, or any object
other than the controller's own Secret.

Sealing is randomised, so sealing the same values twice gives different ciphertexts and every
sync would look like a change. When the caller passes what is live (the SealedSecret and the
Secret its controller made from it), items whose value did not change keep their live
ciphertext, so an unchanged Secret gives an unchanged SealedSecret (see ``seal_for_cluster``).
"""

from __future__ import annotations

import base64
import copy
from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Protocol

from fleet import errors, models
from fleet.secrets.sealed import crypto, keys, sealer

DELIVER_AS_ANNOTATION = "fleet.gitops/deliver-as"
# The certificate (SSH SHA-256 fingerprint of its key) a delivered SealedSecret was sealed with.
SEALED_WITH_ANNOTATION = "fleet.gitops/sealed-with"


class Delivery(StrEnum):
    """Values of ``DELIVER_AS_ANNOTATION`` on a rendered Secret."""

    SEALED_SECRET = "sealed-secret"  # seal per cluster with its controller's certificate; apply that


class ObjectResolver(Protocol):
    """One cluster's reference resolution (``fleet.secrets.resolver.ClusterResolution``)."""

    def resolve_object(
        self, obj: Mapping[str, Any], *, where: str | None = None
    ) -> tuple[dict[str, Any], Any]: ...


class ResolverFactory(Protocol):
    """The run's resolver (``fleet.secrets.resolver.Resolver``)."""

    def for_cluster(self, cluster: models.Cluster | None) -> ObjectResolver: ...


def wants_sealed_delivery(obj: Mapping[str, Any]) -> bool:
    """True for a v1 Secret annotated ``fleet.gitops/deliver-as: sealed-secret``.

    Any other value of the annotation is an error naming the object, so a typo never silently
    delivers a plaintext Secret.
    """
    meta = obj.get("metadata") or {}
    value = (meta.get("annotations") or {}).get(DELIVER_AS_ANNOTATION)
    if value is None:
        return False
    ref = sealer.secret_ref(meta)
    if obj.get("kind") != "Secret" or str(obj.get("apiVersion", "v1")) != "v1":
        raise errors.InputError(
            "is only valid on a v1 Secret",
            obj=f"{obj.get('kind') or 'object'} {meta.get('name') or '<unnamed>'}",
            field=f"metadata.annotations.{DELIVER_AS_ANNOTATION}",
        )
    try:
        Delivery(str(value))
    except ValueError:
        known = ", ".join(d.value for d in Delivery)
        raise errors.InputError(
            f"is {value!r}; known values: {known}",
            obj=ref,
            field=f"metadata.annotations.{DELIVER_AS_ANNOTATION}",
        ) from None
    return True


def _resolution(resolver: ResolverFactory | ObjectResolver, cluster: models.Cluster) -> ObjectResolver:
    if hasattr(resolver, "for_cluster"):
        return resolver.for_cluster(cluster)
    bound = getattr(resolver, "cluster", None)
    if bound is not None and getattr(bound, "name", None) != cluster.name:
        raise ValueError(f"resolver is bound to cluster {bound.name}, not {cluster.name}")
    return resolver


def _without_delivery_annotation(meta: Mapping[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(dict(meta))
    annotations = {k: v for k, v in (out.get("annotations") or {}).items() if k != DELIVER_AS_ANNOTATION}
    if annotations:
        out["annotations"] = annotations
    else:
        out.pop("annotations", None)
    return out


def _plain_data(secret: Mapping[str, Any]) -> dict[str, str]:
    """The resolved Secret's items as base64, stringData merged over data (as the API server does)."""
    data = {str(k): "".join(str(v).split()) for k, v in (secret.get("data") or {}).items()}
    for key, value in (secret.get("stringData") or {}).items():
        data[str(key)] = base64.b64encode(str(value).encode()).decode()
    return data


def _reusable(
    live: Mapping[str, Any] | None,
    live_secret: Mapping[str, Any] | None,
    desired: Mapping[str, Any],
    cert: keys.Certificate,
) -> dict[str, str]:
    """Live ciphertexts per item whose plaintext is unchanged, or {} when nothing may be reused.

    Reuse is safe only when the live SealedSecret was sealed with the same certificate and label,
    its controller has unsealed its current generation (Synced=True), and the live Secret is the
    one that controller made from it: then the live Secret's values are what the live ciphertexts
    hold, item by item.
    """
    if not live or not live_secret:
        return {}
    meta, want = live.get("metadata") or {}, desired.get("metadata") or {}
    if (meta.get("annotations") or {}).get(SEALED_WITH_ANNOTATION) != cert.fingerprint:
        return {}
    same_label = (meta.get("name"), meta.get("namespace"), crypto.scope_of(meta.get("annotations"))) == (
        want.get("name"),
        want.get("namespace"),
        crypto.scope_of(want.get("annotations")),
    )
    status = live.get("status") or {}
    synced = any(
        c.get("type") == "Synced" and c.get("status") == "True" for c in status.get("conditions") or []
    )
    current = meta.get("generation") is None or status.get("observedGeneration") == meta.get("generation")
    owners = (live_secret.get("metadata") or {}).get("ownerReferences") or []
    owned = any(
        o.get("kind") == sealer.KIND
        and o.get("name") == meta.get("name")
        and (not meta.get("uid") or o.get("uid") == meta.get("uid"))
        for o in owners
    )
    if not (same_label and synced and current and owned):
        return {}
    live_values = (live.get("spec") or {}).get("encryptedData") or {}
    return {k: v for k, v in live_values.items() if isinstance(v, str)}


def seal_for_cluster(
    secret: Mapping[str, Any],
    *,
    cluster: models.Cluster,
    cert: keys.Certificate,
    resolver: ResolverFactory | ObjectResolver,
    live: Mapping[str, Any] | None = None,
    live_secret: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The SealedSecret to apply to ``cluster`` in place of ``secret``.

    Parameters:
        secret: the rendered Secret; its values may hold references (whole or embedded, in
            ``data`` (base64) or ``stringData``). Its scope annotations choose the scope (strict
            by default); it must have a name and, unless cluster-wide, a namespace.
        cluster: the target cluster; references are templated and resolved for it.
        cert: the cluster's certificate (``certs.certificate_for_cluster``).
        resolver: the run's ``Resolver``, or that cluster's ``ClusterResolution``.
        live, live_secret: the SealedSecret and Secret now in the cluster, if any. Items whose
            value is unchanged keep their live ciphertext (see ``_reusable``).

    The SealedSecret carries the Secret's labels and annotations (tracking labels, sync waves)
    on its own metadata too, minus ``DELIVER_AS_ANNOTATION``, plus ``SEALED_WITH_ANNOTATION``.
    Raises the resolver's errors (which name the cluster, object, field and reference) and
    ``fleet.errors.InputError`` for a Secret that cannot be sealed.
    """
    where = f"cluster {cluster.name}"
    resolved, _ = _resolution(resolver, cluster).resolve_object(secret)
    resolved["metadata"] = _without_delivery_annotation(resolved.get("metadata") or {})
    keep: dict[str, str] = {}
    reusable = _reusable(live, live_secret, resolved, cert)
    if reusable:
        live_data = (live_secret or {}).get("data") or {}
        keep = {
            k: reusable[k]
            for k, v in _plain_data(resolved).items()
            if k in reusable and live_data.get(k) == v
        }
    desired = sealer.seal_secret(resolved, cert, where=where, keep=keep)

    meta = desired["metadata"]
    template_meta = desired["spec"]["template"]["metadata"]
    if template_meta.get("labels"):
        meta["labels"] = dict(template_meta["labels"])
    meta["annotations"] = {
        **(template_meta.get("annotations") or {}),
        **(meta.get("annotations") or {}),
        SEALED_WITH_ANNOTATION: cert.fingerprint,
    }
    return desired
