"""Unseal: produce the Secret the Sealed Secrets controller would create (FORMATS.md B.4).

Used by ``fleet secrets unseal`` (offline verification with the controller's private keys) and
by the simulated controller (``fleet.clusters.sim.controllers.sealedsecrets``). The OAEP label
comes from the SealedSecret's *own* namespace, name and scope annotations, never from its
template, which is what pins a strict value to its namespace and name. Every plaintext is
registered with ``fleet.redact`` the moment it exists.
"""

from __future__ import annotations

import base64
import binascii
import copy
import functools
import json
from collections.abc import Mapping, Sequence
from typing import Any

from fleet import errors, redact
from fleet.secrets.sealed import crypto, keys, sealer

SKIP_OWNER_REFERENCES_ANNOTATION = "sealedsecrets.bitnami.com/skip-set-owner-references"
# Sprig functions the controller removes so a template cannot learn about its environment.
DENIED_TEMPLATE_FUNCS = frozenset({"env", "expandenv", "getHostByName"})


class UnsealError(errors.PermanentError):
    """A SealedSecret could not be opened. ``items`` names the items; ``outcome`` says why.

    Messages name the SealedSecret, its items, the label and key fingerprints, never a value.
    """

    def __init__(self, message: str, *, obj: str, items: Sequence[str], outcome: crypto.Outcome) -> None:
        super().__init__(f"{obj}: {message}")
        self.obj = obj
        self.items = tuple(items)
        self.outcome = outcome


class NoKeyError(UnsealError):
    """None of the keys sealed the value: it was sealed for another controller (cluster)."""


class LabelMismatchError(NoKeyError):
    """A key fits, but the value was sealed for another namespace, name or scope."""


class CorruptDataError(UnsealError):
    """A key opened the session key, but the data failed authentication (it was altered)."""


def sealed_ref(meta: Mapping[str, Any]) -> str:
    where = "/".join(part for part in (meta.get("namespace"), meta.get("name")) if part)
    return f"SealedSecret {where or '<unnamed>'}"


def _label_text(label: bytes) -> str:
    return repr(label.decode(errors="replace"))


def _candidates(namespace: str, name: str) -> dict[crypto.Scope, bytes]:
    return {scope: crypto.encryption_label(namespace, name, scope) for scope in crypto.Scope}


def _decrypt_error(
    failures: Mapping[str, crypto.DecryptFailure], *, obj: str, scope: crypto.Scope, label: bytes, tried: int
) -> UnsealError:
    """One error for every item no key opened, worded by the most telling outcome."""
    names = sorted(failures)
    listed = ", ".join(repr(n) for n in names)
    head = f"no key could decrypt item{'s' if len(names) > 1 else ''} {listed}"
    outcome = max(
        (f.outcome() for f in failures.values()),
        key=[crypto.Outcome.WRONG_KEY, crypto.Outcome.LABEL_MISMATCH, crypto.Outcome.CORRUPT].index,
    )
    fitting = sorted({o.fingerprint for f in failures.values() for o in f.outcomes if o.outcome is outcome})
    if outcome is crypto.Outcome.CORRUPT:
        return CorruptDataError(
            f"{head}: key {', '.join(fitting)} opened the session key but the AES-GCM tag did not verify "
            "(the sealed data was altered)",
            obj=obj,
            items=names,
            outcome=outcome,
        )
    if outcome is crypto.Outcome.LABEL_MISMATCH:
        sealed_scope = next((f.sealed_scope() for f in failures.values() if f.sealed_scope()), None)
        if sealed_scope is not None and sealed_scope is not scope:
            why = (
                f"it was sealed with {sealed_scope} scope, but the SealedSecret declares {scope} scope "
                "(its scope annotations were changed after sealing)"
            )
        elif scope is crypto.Scope.STRICT:
            why = (
                "it was sealed for another namespace/name (strict scope pins a value to the namespace and "
                "name it was sealed for; a renamed or moved SealedSecret must be sealed again)"
            )
        elif scope is crypto.Scope.NAMESPACE_WIDE:
            why = "it was sealed for another namespace (namespace-wide scope pins a value to its namespace)"
        else:
            why = "it was not sealed cluster-wide"
        return LabelMismatchError(
            f"{head}: label mismatch: key {', '.join(fitting)} fits, but the label {_label_text(label)} "
            f"does not; {why}",
            obj=obj,
            items=names,
            outcome=outcome,
        )
    return NoKeyError(
        f"{head}: none of the {tried} key(s) given sealed it (it was sealed for another controller key, "
        "e.g. another cluster, or the key was rotated away)",
        obj=obj,
        items=names,
        outcome=outcome,
    )


def _decode_b64(value: Any, *, where: str, obj: str, field: str) -> bytes:
    if not isinstance(value, str):
        raise errors.InputError("must be a base64 string", file=where, obj=obj, field=field)
    try:
        # kubeseal writes one line; YAML block scalars may wrap it, so whitespace is dropped.
        return base64.b64decode("".join(value.split()), validate=True)
    except binascii.Error as exc:
        raise errors.InputError("is not valid base64", file=where, obj=obj, field=field) from exc


@functools.cache
def _template_funcs() -> Mapping[str, Any]:
    """Sprig's generic functions minus the denied ones; one mapping, so parses stay cached."""
    from fleet import gotemplate

    return {k: v for k, v in gotemplate.SPRIG_FUNCS.items() if k not in DENIED_TEMPLATE_FUNCS}


def _render_template_data(
    template_data: Mapping[str, Any], data: dict[str, bytes], *, where: str, obj: str
) -> None:
    """Run each ``template.data`` entry as a Go template over the decrypted items, in place.

    The context maps each item name to its plaintext as a string (bytes kept as they are through
    surrogate escapes, as Go's ``string([]byte)`` keeps them); a null entry removes the item.
    """
    from fleet import gotemplate

    context = {k: v.decode("utf-8", errors="surrogateescape") for k, v in data.items()}
    funcs = _template_funcs()
    for key in sorted(template_data):
        text = template_data[key]
        if text is None:
            data.pop(key, None)
            continue
        if not isinstance(text, str):
            raise errors.InputError(
                "must be a string", file=where, obj=obj, field=f"spec.template.data.{key}"
            )
        try:
            rendered = gotemplate.render(text, context, funcs=funcs, name=str(key))
        except errors.FleetError as exc:
            # The engine's message may quote a value; everything decrypted is registered.
            raise errors.InputError(
                f"template failed: {redact.mask(str(exc))}",
                file=where,
                obj=obj,
                field=f"spec.template.data.{key}",
            ) from None
        value = rendered.encode("utf-8", errors="surrogateescape")
        redact.register(value)
        data[key] = value


def _decrypt(
    blob: bytes,
    unseal_keys: Sequence[keys.UnsealKey],
    label: bytes,
    candidates: Mapping[crypto.Scope, bytes],
    *,
    where: str,
    obj: str,
    field: str,
) -> bytes:
    try:
        plaintext = crypto.hybrid_decrypt(
            [k.key for k in unseal_keys], blob, label, candidate_labels=candidates
        )
    except crypto.CiphertextTooShort as exc:
        raise errors.InputError(str(exc), file=where, obj=obj, field=field) from None
    redact.register(plaintext)
    return plaintext


def _v1_secret(
    blob: bytes,
    unseal_keys: Sequence[keys.UnsealKey],
    label: bytes,
    candidates: Mapping[crypto.Scope, bytes],
    *,
    where: str,
    obj: str,
) -> tuple[dict[str, Any], dict[str, bytes]]:
    """The deprecated "v1" format: ``spec.data`` is one blob holding the whole Secret as JSON."""
    plaintext = _decrypt(blob, unseal_keys, label, candidates, where=where, obj=obj, field="spec.data")
    try:
        inner = json.loads(plaintext)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise errors.InputError(
            "does not hold a JSON Secret", file=where, obj=obj, field="spec.data"
        ) from None
    if not isinstance(inner, dict):
        raise errors.InputError("does not hold a JSON Secret", file=where, obj=obj, field="spec.data")
    data: dict[str, bytes] = {}
    for key, value in (inner.get("data") or {}).items():
        data[key] = _decode_b64(value, where=where, obj=obj, field=f"spec.data(decrypted).data.{key}")
    for key, value in (inner.get("stringData") or {}).items():
        data[key] = str(value).encode()
    for value in data.values():
        redact.register(value)
    return inner, data


def unseal(
    sealed: Mapping[str, Any],
    unseal_keys: Sequence[keys.UnsealKey],
    *,
    where: str = "<input>",
) -> dict[str, Any]:
    """The Secret the controller would create from ``sealed``, trying every key on every item.

    Raises ``NoKeyError`` / ``LabelMismatchError`` / ``CorruptDataError`` naming the items that
    failed, and ``fleet.errors.InputError`` for a malformed object ("SealedSecret data is too
    short", bad base64, both ``data`` and ``encryptedData``, a failing ``template.data``).
    """
    if sealed.get("kind") != sealer.KIND or not str(sealed.get("apiVersion", "")).startswith("bitnami.com/"):
        kind = f"{sealed.get('apiVersion', '?')} {sealed.get('kind') or '<no kind>'}"
        raise errors.InputError(f"expected a {sealer.API_VERSION} SealedSecret, got {kind}", file=where)
    if not unseal_keys:
        raise errors.InputError("no private key was given to unseal with", file=where)
    meta = sealed.get("metadata") or {}
    obj = sealed_ref(meta)
    name = str(meta.get("name") or "")
    namespace = str(meta.get("namespace") or "")
    if not name:
        raise errors.InputError("is missing", file=where, obj=obj, field="metadata.name")
    spec = sealed.get("spec") or {}
    template = spec.get("template") or {}
    encrypted = spec.get("encryptedData") or {}
    if not isinstance(encrypted, Mapping):
        raise errors.InputError("must be a mapping", file=where, obj=obj, field="spec.encryptedData")
    scope = crypto.scope_of(meta.get("annotations"))
    label = crypto.encryption_label(namespace, name, scope)
    candidates = {s: lbl for s, lbl in _candidates(namespace, name).items() if lbl != label}

    if spec.get("data") is not None:
        if encrypted:
            raise errors.InputError(
                "cannot be combined with the deprecated field spec.data",
                file=where,
                obj=obj,
                field="spec.encryptedData",
            )
        blob = _decode_b64(spec["data"], where=where, obj=obj, field="spec.data")
        try:
            inner, data = _v1_secret(blob, unseal_keys, label, candidates, where=where, obj=obj)
        except crypto.DecryptFailure as failure:
            raise _decrypt_error(
                {"spec.data": failure}, obj=obj, scope=scope, label=label, tried=len(unseal_keys)
            ) from None
        secret_meta = copy.deepcopy(inner.get("metadata") or {})
        secret_type, immutable = inner.get("type"), inner.get("immutable")
    else:
        data = {}
        failures: dict[str, crypto.DecryptFailure] = {}
        for key in sorted(encrypted):
            field = f"spec.encryptedData.{key}"
            blob = _decode_b64(encrypted[key], where=where, obj=obj, field=field)
            try:
                data[str(key)] = _decrypt(
                    blob, unseal_keys, label, candidates, where=where, obj=obj, field=field
                )
            except crypto.DecryptFailure as failure:
                failures[str(key)] = failure
        if failures:
            raise _decrypt_error(failures, obj=obj, scope=scope, label=label, tried=len(unseal_keys))
        if template.get("data"):
            _render_template_data(template["data"], data, where=where, obj=obj)
        secret_meta = copy.deepcopy(template.get("metadata") or {})
        secret_type, immutable = template.get("type"), template.get("immutable")

    secret_meta.pop("creationTimestamp", None)
    secret_meta["name"] = name
    if namespace:
        secret_meta["namespace"] = namespace
    else:
        secret_meta.pop("namespace", None)
    template_annotations = (template.get("metadata") or {}).get("annotations") or {}
    if str(template_annotations.get(SKIP_OWNER_REFERENCES_ANNOTATION)) != "true":
        owner: dict[str, Any] = {
            "apiVersion": str(sealed.get("apiVersion") or sealer.API_VERSION),
            "kind": sealer.KIND,
            "name": name,
        }
        if meta.get("uid"):
            owner["uid"] = meta["uid"]
        owner["controller"] = True
        secret_meta["ownerReferences"] = [owner]
    secret: dict[str, Any] = {"apiVersion": "v1", "kind": "Secret", "metadata": secret_meta}
    # The controller leaves an empty type to the API server, which defaults it to Opaque.
    secret["type"] = secret_type or "Opaque"
    if immutable is not None:
        secret["immutable"] = bool(immutable)
    secret["data"] = {k: base64.b64encode(v).decode() for k, v in sorted(data.items())}
    return secret


def unseal_raw(
    ciphertext: str,
    unseal_keys: Sequence[keys.UnsealKey],
    *,
    scope: crypto.Scope = crypto.Scope.STRICT,
    namespace: str = "",
    name: str = "",
) -> bytes:
    """Open one ``kubeseal --raw`` value sealed for (namespace, name, scope)."""
    obj = f"raw value for {scope} {'/'.join(p for p in (namespace, name) if p) or '(cluster)'}"
    blob = _decode_b64(ciphertext, where="<input>", obj=obj, field="value")
    label = crypto.encryption_label(namespace, name, scope)
    candidates = {s: lbl for s, lbl in _candidates(namespace, name).items() if lbl != label}
    try:
        return _decrypt(blob, unseal_keys, label, candidates, where="<input>", obj=obj, field="value")
    except crypto.DecryptFailure as failure:
        raise _decrypt_error(
            {"value": failure}, obj=obj, scope=scope, label=label, tried=len(unseal_keys)
        ) from None
