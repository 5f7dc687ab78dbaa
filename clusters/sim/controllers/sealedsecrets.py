"""Simulated Bitnami Sealed Secrets controller: unseals SealedSecrets into Secrets, per cluster.

Where it sits: registered with the simulator's controller manager (one module per controller),
it runs in every simulated cluster that has the SealedSecret CRD (``crd()``; applying it is what
"installs" the controller, as the real Helm chart does). Each cluster then gets its own sealing
key, so a SealedSecret sealed for one simulated cluster fails in another, as in real fleets.

What it does, like the real controller (FORMATS.md B.4, B.5):

- Keys: on first use it generates a sealing key (RSA-2048 by default, since 4096-bit generation
  is slow in Python; ``FLEET_SIM_SEALED_SECRETS_KEY_BITS`` or ``KEY_BITS`` changes it) and stores
  it as a ``kubernetes.io/tls`` Secret ``sealed-secrets-key<suffix>`` in kube-system, labelled
  ``sealedsecrets.bitnami.com/sealed-secrets-key: active``. Every Secret carrying that label is
  a key it unseals with, so restoring a backed-up key Secret works as it does for real.
- Service proxy: ``GET /api/v1/namespaces/kube-system/services/sealed-secrets-controller:http/proxy/v1/cert.pem``
  answers the newest active key's certificate (what ``kubeseal --fetch-cert`` reads);
  ``POST .../v1/verify`` answers 200 when a SealedSecret (JSON body) unseals and 409 otherwise.
- Reconcile: unseal with every key; create or update the Secret (owned by the SealedSecret unless
  the template says ``skip-set-owner-references``); refuse to take over a Secret it does not own
  unless that Secret is annotated ``sealedsecrets.bitnami.com/managed: "true"``; report
  ``status.conditions[Synced]`` True, or False with the error, and ``observedGeneration``.
  A new or changed key Secret retries every SealedSecret that is not Synced.
"""

from __future__ import annotations

import base64
import json
import os
import random
import string
from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Any

from fleet import errors, log, redact
from fleet.clusters.sim import cluster, status, store
from fleet.clusters.sim import controllers as ctl
from fleet.secrets.sealed import crypto, keys, unsealer

NAME = "sealed-secrets-controller"  # controller name, field manager and service name
NAMESPACE = "kube-system"
GROUP = "bitnami.com"
KIND = "SealedSecret"
CRD_NAME = "sealedsecrets.bitnami.com"
MANAGED_ANNOTATION = "sealedsecrets.bitnami.com/managed"
KEY_BITS_ENV = "FLEET_SIM_SEALED_SECRETS_KEY_BITS"
KEY_BITS = int(os.environ.get(KEY_BITS_ENV, "2048"))
_CRD_KIND = ("apiextensions.k8s.io", "CustomResourceDefinition")

_log = log.get_logger(__name__)


class SyncedReason(StrEnum):
    """Reasons on the ``Synced`` condition (the real controller's event reasons)."""

    UNSEALED = "Unsealed"  # the Secret holds what the SealedSecret seals
    UNSEAL_FAILED = "ErrUnsealFailed"  # no key opened it (other cluster, renamed, corrupt, ...)
    UPDATE_FAILED = "ErrUpdateFailed"  # unsealed, but the Secret could not be written or taken over


def crd() -> dict[str, Any]:
    """The SealedSecret CustomResourceDefinition (status subresource, schema left open)."""
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": CRD_NAME},
        "spec": {
            "group": GROUP,
            "names": {
                "kind": KIND,
                "listKind": "SealedSecretList",
                "plural": "sealedsecrets",
                "singular": "sealedsecret",
            },
            "scope": "Namespaced",
            "versions": [
                {
                    "name": "v1alpha1",
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "schema": {
                        "openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
                    },
                }
            ],
        },
    }


def _installed(ctx: ctl.Context) -> bool:
    return ctx.cluster.catalog().kind(GROUP, KIND) is not None


def _key_entries(ctx: ctl.Context) -> list[store.Entry]:
    selector = {"matchExpressions": [{"key": keys.SEALING_KEY_LABEL, "operator": "Exists"}]}
    return ctx.list("", "Secret", NAMESPACE, selector=selector)


def _unseal_keys(ctx: ctl.Context) -> list[keys.UnsealKey]:
    """Every sealing key of the cluster, parsed once per Secret version (cached by uid and rv)."""
    cache: dict[tuple[str, int], list[keys.UnsealKey]] = ctx.state(NAME).setdefault("keys", {})
    out: list[keys.UnsealKey] = []
    seen: set[tuple[str, int]] = set()
    for entry in _key_entries(ctx):
        tag = (entry.uid, entry.rv)
        seen.add(tag)
        if tag not in cache:
            try:
                cache[tag] = keys.load_private_keys(json.dumps(entry.obj), source=f"cluster {ctx.name}")
            except errors.FleetError as exc:
                _log.warning(
                    "sim sealed-secrets: unusable key Secret",
                    extra={"fields": {"cluster": ctx.name, "secret": entry.name, "error": str(exc)}},
                )
                cache[tag] = []
        out.extend(cache[tag])
    for stale in set(cache) - seen:
        del cache[stale]
    return out


def ensure_key(ctx: ctl.Context) -> store.Entry:
    """The newest active sealing key Secret of this cluster, generated on first use."""
    active = [
        e
        for e in _key_entries(ctx)
        if (e.obj["metadata"].get("labels") or {}).get(keys.SEALING_KEY_LABEL) == keys.SEALING_KEY_ACTIVE
        and "tls.crt" in (e.obj.get("data") or {})
    ]
    if active:
        return max(active, key=lambda e: (e.obj["metadata"].get("creationTimestamp", ""), e.rv))
    private_key, cert_pem = keys.generate_sealing_key(bits=KEY_BITS)
    suffix = "".join(random.choices(string.ascii_lowercase + string.digits, k=5))
    secret = keys.sealing_key_secret(
        private_key, cert_pem, name=f"{keys.SEALING_KEY_PREFIX}{suffix}", namespace=NAMESPACE
    )
    ctx.create(secret, manager=NAME)
    _log.info(
        "sim sealed-secrets: new sealing key",
        extra={
            "fields": {
                "cluster": ctx.name,
                "secret": secret["metadata"]["name"],
                "bits": KEY_BITS,
                "key": crypto.key_fingerprint(private_key.public_key()),
            }
        },
    )
    found = ctx.entry("", "Secret", NAMESPACE, secret["metadata"]["name"])
    assert found is not None
    return found


def _owned_by(secret: Mapping[str, Any], sealed_obj: Mapping[str, Any]) -> bool:
    uid = sealed_obj["metadata"].get("uid")
    return any(
        o.get("kind") == KIND and o.get("uid") == uid for o in secret["metadata"].get("ownerReferences") or ()
    )


class SealedSecretsController:
    name = NAME
    kinds = ((GROUP, KIND), _CRD_KIND)

    def triggers(self, ctx: ctl.Context, event: store.Event) -> Iterable[ctl.Ref]:
        """A new or changed sealing key: retry every SealedSecret that is not Synced."""
        obj = event.entry.obj
        if event.key != ("", "secrets") or obj["metadata"].get("namespace") != NAMESPACE:
            return ()
        if keys.SEALING_KEY_LABEL not in (obj["metadata"].get("labels") or {}) or not _installed(ctx):
            return ()
        return [(GROUP, KIND, e.namespace, e.name) for e in ctx.list(GROUP, KIND) if not _synced(e.obj)]

    def reconcile(self, ctx: ctl.Context, ref: ctl.Ref) -> float | None:
        if (ref[0], ref[1]) == _CRD_KIND:
            if ref[3] == CRD_NAME and _installed(ctx):
                ensure_key(ctx)  # the controller makes its key when it starts
            return None
        entry = ctx.entry(GROUP, KIND, ref[2], ref[3])
        if entry is None:
            self._collect_orphan(ctx, ref[2], ref[3])
            return None
        if ctl.is_terminating(entry.obj):
            return None
        sealed_obj = entry.obj
        if not _key_entries(ctx):
            ensure_key(ctx)
        try:
            secret = unsealer.unseal(sealed_obj, _unseal_keys(ctx), where=f"cluster {ctx.name}")
        except errors.FleetError as exc:
            self._set_status(ctx, sealed_obj, False, SyncedReason.UNSEAL_FAILED, redact.mask(str(exc)))
            return None
        try:
            self._write_secret(ctx, sealed_obj, secret)
        except (status.ApiError, _NotManaged) as exc:
            self._set_status(ctx, sealed_obj, False, SyncedReason.UPDATE_FAILED, redact.mask(str(exc)))
            return None
        self._set_status(ctx, sealed_obj, True, SyncedReason.UNSEALED, "")
        return None

    def _collect_orphan(self, ctx: ctl.Context, namespace: str, name: str) -> None:
        """Delete the Secret a deleted SealedSecret owned. A real cluster's garbage collector does
        this through the ownerReference; the simulator may have none, so the controller does it
        for its own Secrets only (an owner uid that no longer exists)."""
        secret = ctx.entry("", "Secret", namespace, name)
        if secret is None:
            return
        owners = [o for o in secret.obj["metadata"].get("ownerReferences") or () if o.get("kind") == KIND]
        live = {e.uid for e in ctx.list(GROUP, KIND, namespace)}
        if owners and all(o.get("name") == name and o.get("uid") not in live for o in owners):
            ctx.delete("", "Secret", namespace, name)

    def _write_secret(self, ctx: ctl.Context, sealed_obj: Mapping[str, Any], secret: dict[str, Any]) -> None:
        meta = secret["metadata"]
        current = ctx.get("", "Secret", meta.get("namespace", ""), meta["name"])
        if current is None:
            ctx.create(secret, manager=NAME)
            return
        annotations = current["metadata"].get("annotations") or {}
        if not _owned_by(current, sealed_obj) and annotations.get(MANAGED_ANNOTATION) != "true":
            raise _NotManaged(f'Resource "{meta["name"]}" already exists and is not managed by SealedSecret')
        wanted = dict(current)
        wanted["metadata"] = {
            **current["metadata"],
            **{k: v for k, v in meta.items() if k not in ("name", "namespace")},
        }
        for field in ("labels", "annotations", "ownerReferences"):
            if field not in meta:
                wanted["metadata"].pop(field, None)
        for field in ("type", "immutable", "data"):
            if field in secret:
                wanted[field] = secret[field]
            else:
                wanted.pop(field, None)
        if wanted == current:
            return
        if current.get("immutable") and current.get("data") != wanted.get("data"):
            # An immutable Secret cannot change its data: replace it, as the controller does.
            ctx.delete("", "Secret", meta.get("namespace", ""), meta["name"])
            ctx.create(secret, manager=NAME)
            return
        ctx.update(wanted, manager=NAME)

    def _set_status(
        self, ctx: ctl.Context, sealed_obj: Mapping[str, Any], ok: bool, reason: SyncedReason, message: str
    ) -> None:
        old = sealed_obj.get("status") or {}
        conditions = [dict(c) for c in old.get("conditions") or []]
        ctl.set_condition(
            conditions,
            "Synced",
            "True" if ok else "False",
            reason,
            message,
            now=cluster.now_text(ctx.time()),
            update_time=True,
        )
        new_status = {
            "observedGeneration": sealed_obj["metadata"].get("generation", 1),
            "conditions": conditions,
        }
        if _same_status(old, new_status):
            return
        updated = json.loads(json.dumps(sealed_obj))
        updated["status"] = new_status
        ctx.update_status(updated, manager=NAME)
        if not ok:
            _log.info(
                "sim sealed-secrets: unseal failed",
                extra={
                    "fields": {
                        "cluster": ctx.name,
                        "sealedsecret": f"{sealed_obj['metadata'].get('namespace')}/{sealed_obj['metadata']['name']}",
                        "reason": str(reason),
                    }
                },
            )


class _NotManaged(Exception):
    """The Secret exists and belongs to someone else."""


def _synced(obj: Mapping[str, Any]) -> bool:
    cond = ctl.condition((obj.get("status") or {}).get("conditions") or [], "Synced")
    return bool(cond and cond.get("status") == "True")


def _same_status(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """Equal but for timestamps: an unchanged outcome writes nothing (no update loop)."""

    def strip(st: Mapping[str, Any]) -> Any:
        return (
            st.get("observedGeneration"),
            [
                {k: v for k, v in c.items() if k not in ("lastTransitionTime", "lastUpdateTime")}
                for c in st.get("conditions") or []
            ],
        )

    return strip(old) == strip(new)


def _cert(ctx: ctl.Context, request: ctl.ProxyRequest) -> ctl.ProxyResponse:
    """The controller's HTTP endpoints behind the service proxy."""
    if not _installed(ctx):
        return ctl.ProxyResponse(status=503, body=f'no endpoints available for service "{NAME}"'.encode())
    path = request.path.rstrip("/")
    if path == "/v1/cert.pem" and request.method == "GET":
        entry = ensure_key(ctx)
        pem = base64.b64decode(entry.obj["data"]["tls.crt"])
        return ctl.ProxyResponse(body=pem, content_type="application/x-pem-file")
    if path == "/v1/verify" and request.method == "POST":
        try:
            sealed_obj = json.loads(request.body)
            unsealer.unseal(sealed_obj, _unseal_keys(ctx), where="verify")
        except (ValueError, errors.FleetError):
            return ctl.ProxyResponse(status=409, body=b"Error validating secret\n")
        return ctl.ProxyResponse(body=b"OK\n")
    return ctl.ProxyResponse(status=404, body=b"404 page not found\n")


ctl.register(SealedSecretsController())
# kubeseal writes the port as "http" (":http"), or leaves it empty ("http:NAME:").
for _port in ("http", ""):
    ctl.register_service_proxy(NAMESPACE, NAME, _port, _cert)
