"""Scopes: what a sealed value survives (rename, move) and seal-then-unseal round trips.

The label is computed on unseal from the SealedSecret's own namespace, name and annotations
(FORMATS.md B.2), so moving or renaming the object is exactly what the label pins.
"""

from __future__ import annotations

import base64
import copy

import pytest

from fleet.secrets import sealed
from tests.fixtures.sealed import KeyPair

BINARY = bytes(range(256)) + b"\x00\xff" * 8

VALUES = [
    ("data", {"blob": base64.b64encode(BINARY).decode(), "text": base64.b64encode(b"plain text").decode()}),
    ("stringData", {"password": "p@ss w0rd", "unicode": "héllo ✓", "empty": ""}),
]


def _secret(section: str, values: dict) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db", "namespace": "apps"},
        section: values,
    }


def _expected_data(section: str, values: dict) -> dict:
    if section == "data":
        return dict(values)
    return {k: base64.b64encode(v.encode()).decode() for k, v in values.items()}


@pytest.mark.parametrize("section, values", VALUES, ids=["data-binary", "stringData"])
@pytest.mark.parametrize("scope", list(sealed.Scope), ids=str)
def test_seal_then_unseal_round_trips(
    sealing_key: KeyPair, scope: sealed.Scope, section: str, values: dict
) -> None:
    out = sealed.seal_secret(_secret(section, values), sealing_key.cert, scope=scope)
    secret = sealed.unseal(out, sealing_key.unseal_keys)
    assert secret["data"] == _expected_data(section, values)
    assert secret["metadata"]["name"] == "db" and secret["metadata"]["namespace"] == "apps"
    assert sealed.scope_of(secret["metadata"].get("annotations")) is scope


def test_data_and_string_data_together_string_data_wins(sealing_key: KeyPair) -> None:
    secret = _secret(
        "data", {"a": base64.b64encode(b"from-data").decode(), "b": base64.b64encode(b"only-data").decode()}
    )
    secret["stringData"] = {"a": "from-stringData"}
    out = sealed.unseal(sealed.seal_secret(secret, sealing_key.cert), sealing_key.unseal_keys)
    assert {k: base64.b64decode(v) for k, v in out["data"].items()} == {
        "a": b"from-stringData",
        "b": b"only-data",
    }


# (scope, rename, move) -> whether the controller can still open it
MOBILITY = [
    (sealed.Scope.STRICT, "rename", False),
    (sealed.Scope.STRICT, "move", False),
    (sealed.Scope.NAMESPACE_WIDE, "rename", True),
    (sealed.Scope.NAMESPACE_WIDE, "move", False),
    (sealed.Scope.CLUSTER_WIDE, "rename", True),
    (sealed.Scope.CLUSTER_WIDE, "move", True),
    (sealed.Scope.CLUSTER_WIDE, "rename-and-move", True),
]


@pytest.mark.parametrize("scope, change, survives", MOBILITY, ids=lambda v: str(v))
def test_what_each_scope_survives(
    sealing_key: KeyPair, scope: sealed.Scope, change: str, survives: bool
) -> None:
    out = sealed.seal_secret(
        _secret("stringData", {"password": "s3cr3t-value"}), sealing_key.cert, scope=scope
    )
    moved = copy.deepcopy(out)
    if "rename" in change:
        moved["metadata"]["name"] = "renamed"
    if "move" in change:
        moved["metadata"]["namespace"] = "elsewhere"
    if survives:
        secret = sealed.unseal(moved, sealing_key.unseal_keys)
        assert base64.b64decode(secret["data"]["password"]) == b"s3cr3t-value"
        # name and namespace are forced to the SealedSecret's, whatever the template says
        assert (secret["metadata"]["name"], secret["metadata"]["namespace"]) == (
            moved["metadata"]["name"],
            moved["metadata"]["namespace"],
        )
    else:
        with pytest.raises(sealed.LabelMismatchError, match="label mismatch") as caught:
            sealed.unseal(moved, sealing_key.unseal_keys)
        assert caught.value.items == ("password",)
        assert "s3cr3t-value" not in str(caught.value)


def test_changing_the_scope_annotation_after_sealing_is_named_in_the_error(sealing_key: KeyPair) -> None:
    out = sealed.seal_secret(
        _secret("stringData", {"k": "value"}), sealing_key.cert, scope=sealed.Scope.NAMESPACE_WIDE
    )
    out["metadata"]["annotations"] = {"sealedsecrets.bitnami.com/cluster-wide": "true"}
    with pytest.raises(
        sealed.LabelMismatchError,
        match="sealed with namespace-wide scope, but the SealedSecret declares cluster-wide",
    ):
        sealed.unseal(out, sealing_key.unseal_keys)


def test_only_the_exact_string_true_selects_a_scope() -> None:
    assert sealed.scope_of({"sealedsecrets.bitnami.com/cluster-wide": "True"}) is sealed.Scope.STRICT
    assert (
        sealed.scope_of({"sealedsecrets.bitnami.com/namespace-wide": "true"}) is sealed.Scope.NAMESPACE_WIDE
    )


def test_items_can_be_renamed_freely(sealing_key: KeyPair) -> None:
    out = sealed.seal_secret(_secret("stringData", {"old": "value-1"}), sealing_key.cert)
    out["spec"]["encryptedData"]["new"] = out["spec"]["encryptedData"].pop("old")
    assert base64.b64decode(sealed.unseal(out, sealing_key.unseal_keys)["data"]["new"]) == b"value-1"
