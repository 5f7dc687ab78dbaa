"""Seal: turn a Secret into the SealedSecret that kubeseal would write (FORMATS.md B.3).

Called by ``fleet secrets seal`` and, per cluster, by fleet-mode delivery
(``fleet.secrets.sealed.delivery``) just before apply. Every ``data`` and ``stringData`` item is
sealed on its own with the scope's OAEP label; the Secret's metadata becomes the template of the
Secret that the controller will create. Values are registered with ``fleet.redact`` while held.
"""

from __future__ import annotations

import base64
import binascii
import copy
from collections.abc import Mapping
from typing import Any

from fleet import errors, redact
from fleet.secrets.sealed import crypto, keys

API_VERSION = "bitnami.com/v1alpha1"
KIND = "SealedSecret"

# kubectl and kubecfg keep a full copy of the applied object in these annotations, plaintext
# included; kubeseal strips them (sealed-secrets#227), and so do we.
LAST_APPLIED_ANNOTATIONS = (
    "kubectl.kubernetes.io/last-applied-configuration",
    "kubecfg.ksonnet.io/last-applied-configuration",
)
# Set by the API server; meaningless (or harmful) in a manifest meant for Git.
SERVER_SIDE_FIELDS = (
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "selfLink",
    "managedFields",
)


def secret_ref(meta: Mapping[str, Any]) -> str:
    where = "/".join(part for part in (meta.get("namespace"), meta.get("name")) if part)
    return f"Secret {where or '<unnamed>'}"


def _fill(meta: dict[str, Any], field: str, value: str | None, *, where: str) -> None:
    """Fill ``metadata.<field>`` from an option; an option that contradicts the manifest is an
    error (as with ``kubectl -n``), not a silent override."""
    if not value:
        return
    current = meta.get(field)
    if current and current != value:
        raise errors.InputError(
            f"is {current!r} in the manifest but {value!r} was asked for",
            file=where,
            obj=secret_ref(meta),
            field=f"metadata.{field}",
        )
    meta[field] = value


def _items(secret: Mapping[str, Any], *, where: str) -> dict[str, bytes]:
    """The Secret's values as bytes: ``data`` decoded from base64, then ``stringData`` over it
    (the API server merges stringData over data the same way)."""
    ref = secret_ref(secret.get("metadata") or {})
    out: dict[str, bytes] = {}
    for field in ("data", "stringData"):
        section = secret.get(field)
        if section is None:
            continue
        if not isinstance(section, Mapping):
            raise errors.InputError("must be a mapping", file=where, obj=ref, field=field)
        for key, value in section.items():
            if not isinstance(value, str):
                # A bare YAML number or boolean: the API server would refuse it too.
                raise errors.InputError(
                    "must be a string (quote it in YAML)", file=where, obj=ref, field=f"{field}.{key}"
                )
            if field == "data":
                try:
                    raw = base64.b64decode("".join(value.split()), validate=True)
                except binascii.Error as exc:
                    raise errors.InputError(
                        "is not valid base64", file=where, obj=ref, field=f"data.{key}"
                    ) from exc
            else:
                raw = value.encode()
            redact.register(raw)
            out[str(key)] = raw
    return out


def _template_metadata(meta: Mapping[str, Any]) -> dict[str, Any]:
    """The Secret's ObjectMeta as kubeseal copies it into ``spec.template.metadata``."""
    out = copy.deepcopy(dict(meta))
    for field in SERVER_SIDE_FIELDS:
        out.pop(field, None)
    out.pop("ownerReferences", None)  # sealed-secrets#243
    annotations = {
        k: v for k, v in (out.get("annotations") or {}).items() if k not in LAST_APPLIED_ANNOTATIONS
    }
    out["annotations"] = annotations
    for field in ("annotations", "labels"):
        if not out.get(field):
            out.pop(field, None)
    return out


def seal_secret(
    secret: Mapping[str, Any],
    cert: keys.Certificate,
    *,
    scope: crypto.Scope | None = None,
    namespace: str | None = None,
    name: str | None = None,
    allow_empty: bool = False,
    where: str = "<input>",
    keep: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The SealedSecret for ``secret``, sealed to ``cert``.

    Parameters:
        scope: overrides the scope the Secret's annotations declare (strict when none).
        namespace, name: fill ``metadata.namespace`` / ``metadata.name`` when the Secret lacks them.
        allow_empty: seal a Secret without data (kubeseal's ``--allow-empty-data``).
        where: the file the Secret came from, for error messages.
        keep: item -> ciphertext to use as is instead of sealing that item again; the caller
            vouches that it holds the same value under the same label and certificate
            (fleet-mode delivery reusing what is live, see ``delivery.seal_for_cluster``).
    """
    if secret.get("kind") != "Secret" or str(secret.get("apiVersion", "v1")) != "v1":
        kind = f"{secret.get('apiVersion', '?')} {secret.get('kind') or '<no kind>'}"
        raise errors.InputError(f"expected a v1 Secret, got {kind}", file=where)
    meta = copy.deepcopy(dict(secret.get("metadata") or {}))
    _fill(meta, "namespace", namespace, where=where)
    _fill(meta, "name", name, where=where)
    if not meta.get("name"):
        raise errors.InputError(
            "is missing (or pass --name)", file=where, obj=secret_ref(meta), field="metadata.name"
        )
    items = _items(secret, where=where)
    if not items and not allow_empty:
        raise errors.InputError(
            "the Secret has no data and no stringData; refusing to seal it (allow empty data to do so)",
            file=where,
            obj=secret_ref(meta),
        )
    if scope is not None:
        meta["annotations"] = crypto.with_scope_annotations(meta.get("annotations"), scope)
    effective = crypto.scope_of(meta.get("annotations"))
    ns = str(meta.get("namespace") or "")
    if effective is not crypto.Scope.CLUSTER_WIDE and not ns:
        raise errors.InputError(
            f"is missing; a {effective} Secret is sealed for one namespace (set it, or pass --namespace)",
            file=where,
            obj=secret_ref(meta),
            field="metadata.namespace",
        )
    label = crypto.encryption_label(ns, str(meta["name"]), effective)
    public_key = cert.public_key()
    keep = keep or {}
    encrypted = {
        key: keep[key]
        if key in keep
        else base64.b64encode(crypto.hybrid_encrypt(public_key, value, label)).decode()
        for key, value in sorted(items.items())
    }
    template: dict[str, Any] = {"metadata": _template_metadata(meta)}
    if secret.get("type"):
        template["type"] = secret["type"]
    if secret.get("immutable") is not None:
        template["immutable"] = bool(secret["immutable"])
    sealed_meta: dict[str, Any] = {"name": meta["name"]}
    if ns:
        sealed_meta["namespace"] = ns
    if effective.annotations():
        sealed_meta["annotations"] = effective.annotations()
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": sealed_meta,
        "spec": {"template": template, "encryptedData": encrypted},
    }


def seal_raw(
    value: bytes | str,
    cert: keys.Certificate,
    *,
    scope: crypto.Scope = crypto.Scope.STRICT,
    namespace: str = "",
    name: str = "",
) -> str:
    """One sealed value, base64, as ``kubeseal --raw`` prints it (an ``encryptedData`` entry for a
    SealedSecret with this namespace, name and scope)."""
    if scope is not crypto.Scope.CLUSTER_WIDE and not namespace:
        raise errors.InputError(f"a namespace is required to seal a raw value with {scope} scope")
    if scope is crypto.Scope.STRICT and not name:
        raise errors.InputError("a name is required to seal a raw value with strict scope")
    raw = value.encode() if isinstance(value, str) else value
    redact.register(raw)
    label = crypto.encryption_label(namespace, name, scope)
    return base64.b64encode(crypto.hybrid_encrypt(cert.public_key(), raw, label)).decode()
