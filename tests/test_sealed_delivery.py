"""Fleet mode: a Secret of references is delivered to each cluster sealed with that cluster's key.

References are resolved per cluster through the real resolver (``file`` scheme, a per-cluster
path), and sealed with each cluster's own certificate: each cluster's key opens only its own.
"""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path

import pytest
import yaml

from fleet import errors, models
from fleet.secrets import resolver as resolver_mod
from fleet.secrets import sealed
from fleet.secrets.sealed import delivery
from tests.fixtures.sealed import KeyPair

SECRET = {
    "apiVersion": "v1",
    "kind": "Secret",
    "metadata": {
        "name": "db",
        "namespace": "apps",
        "labels": {"app.kubernetes.io/instance": "db-app"},
        "annotations": {"fleet.gitops/deliver-as": "sealed-secret", "argocd.argoproj.io/sync-wave": "-1"},
    },
    "stringData": {
        "password": "ref+file://values/{{name}}.yaml#/db/password",
        "dsn": "postgres://app:ref+file://values/{{name}}.yaml#/db/password+@db:5432/app",
    },
    "data": {"user": base64.b64encode(b"ref+file://values/{{name}}.yaml#/db/user").decode()},
}


@pytest.fixture
def values_dir(tmp_path: Path) -> Path:
    (tmp_path / "values").mkdir()
    for name in ("east", "west"):
        doc = {"db": {"password": f"pw-of-{name}-cluster", "user": f"user-{name}"}}
        (tmp_path / "values" / f"{name}.yaml").write_text(yaml.safe_dump(doc))
    return tmp_path


@pytest.fixture
def resolver(values_dir: Path) -> resolver_mod.Resolver:
    return resolver_mod.Resolver(["file"], base_dir=values_dir)


def _cluster(name: str) -> models.Cluster:
    return models.Cluster(name=name, server=f"https://{name}.example")


def _plain(secret: dict) -> dict[str, str]:
    return {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}


def test_each_cluster_gets_its_own_values_sealed_with_its_own_key(
    resolver: resolver_mod.Resolver, sealing_key: KeyPair, other_sealing_key: KeyPair
) -> None:
    east = delivery.seal_for_cluster(
        SECRET, cluster=_cluster("east"), cert=sealing_key.cert, resolver=resolver
    )
    west = delivery.seal_for_cluster(
        SECRET, cluster=_cluster("west"), cert=other_sealing_key.cert, resolver=resolver
    )

    assert _plain(sealed.unseal(east, sealing_key.unseal_keys)) == {
        "password": "pw-of-east-cluster",
        "dsn": "postgres://app:pw-of-east-cluster@db:5432/app",
        "user": "user-east",
    }
    assert _plain(sealed.unseal(west, other_sealing_key.unseal_keys))["password"] == "pw-of-west-cluster"
    with pytest.raises(sealed.NoKeyError):
        sealed.unseal(west, sealing_key.unseal_keys)
    for out in (east, west):
        text = json.dumps(out)
        assert "pw-of-" not in text and "user-east" not in text and "ref+file" not in text


def test_the_sealed_secret_carries_the_secrets_labels_and_annotations_but_not_the_delivery_one(
    resolver: resolver_mod.Resolver, sealing_key: KeyPair
) -> None:
    out = delivery.seal_for_cluster(
        SECRET, cluster=_cluster("east"), cert=sealing_key.cert, resolver=resolver
    )
    assert out["metadata"] == {
        "name": "db",
        "namespace": "apps",
        "labels": {"app.kubernetes.io/instance": "db-app"},
        "annotations": {
            "argocd.argoproj.io/sync-wave": "-1",
            "fleet.gitops/sealed-with": sealing_key.cert.fingerprint,
        },
    }
    assert out["spec"]["template"]["metadata"]["annotations"] == {"argocd.argoproj.io/sync-wave": "-1"}
    assert SECRET["metadata"]["annotations"]["fleet.gitops/deliver-as"] == "sealed-secret"  # input untouched


def test_a_cluster_resolution_for_the_same_cluster_may_be_passed(
    resolver: resolver_mod.Resolver, sealing_key: KeyPair
) -> None:
    run = resolver.for_cluster(_cluster("west"))
    out = delivery.seal_for_cluster(SECRET, cluster=_cluster("west"), cert=sealing_key.cert, resolver=run)
    assert _plain(sealed.unseal(out, sealing_key.unseal_keys))["user"] == "user-west"
    with pytest.raises(ValueError, match="bound to cluster west, not east"):
        delivery.seal_for_cluster(SECRET, cluster=_cluster("east"), cert=sealing_key.cert, resolver=run)


def test_a_missing_secret_fails_naming_cluster_and_reference_not_a_value(
    resolver: resolver_mod.Resolver, sealing_key: KeyPair
) -> None:
    with pytest.raises(errors.FleetError) as caught:
        delivery.seal_for_cluster(SECRET, cluster=_cluster("north"), cert=sealing_key.cert, resolver=resolver)
    message = str(caught.value)
    assert "north" in message and "values/north.yaml" in message


DELIVERY_ANNOTATIONS = [
    ({"kind": "Secret", "apiVersion": "v1", "metadata": {"name": "s"}}, False),
    (
        {
            "kind": "Secret",
            "apiVersion": "v1",
            "metadata": {"name": "s", "annotations": {"fleet.gitops/deliver-as": "sealed-secret"}},
        },
        True,
    ),
]


@pytest.mark.parametrize("obj, wanted", DELIVERY_ANNOTATIONS, ids=["plain-secret", "annotated-secret"])
def test_only_annotated_secrets_are_delivered_sealed(obj: dict, wanted: bool) -> None:
    assert delivery.wants_sealed_delivery(obj) is wanted


BAD_ANNOTATIONS = [
    (
        {
            "kind": "ConfigMap",
            "apiVersion": "v1",
            "metadata": {"name": "c", "annotations": {"fleet.gitops/deliver-as": "sealed-secret"}},
        },
        "ConfigMap c: field metadata.annotations.fleet.gitops/deliver-as: is only valid on a v1 Secret",
    ),
    (
        {
            "kind": "Secret",
            "apiVersion": "v1",
            "metadata": {"name": "s", "annotations": {"fleet.gitops/deliver-as": "sealedsecret"}},
        },
        "is 'sealedsecret'; known values: sealed-secret",
    ),
]


@pytest.mark.parametrize("obj, message", BAD_ANNOTATIONS, ids=["not-a-secret", "typo"])
def test_a_wrong_delivery_annotation_is_an_error_not_a_plaintext_delivery(obj: dict, message: str) -> None:
    with pytest.raises(errors.InputError, match=message):
        delivery.wants_sealed_delivery(obj)


def _live_pair(sealed_secret: dict, keys: tuple[sealed.UnsealKey, ...]) -> tuple[dict, dict]:
    """What a controller leaves in the cluster after unsealing ``sealed_secret``."""
    live = copy.deepcopy(sealed_secret)
    live["metadata"].update(uid="uid-1", generation=1)
    live["status"] = {"observedGeneration": 1, "conditions": [{"type": "Synced", "status": "True"}]}
    return live, sealed.unseal(live, keys)


def test_unchanged_values_keep_their_live_ciphertext_so_a_second_sync_changes_nothing(
    resolver: resolver_mod.Resolver, sealing_key: KeyPair, values_dir: Path
) -> None:
    cluster = _cluster("east")
    first = delivery.seal_for_cluster(SECRET, cluster=cluster, cert=sealing_key.cert, resolver=resolver)
    live, live_secret = _live_pair(first, sealing_key.unseal_keys)

    again = delivery.seal_for_cluster(
        SECRET, cluster=cluster, cert=sealing_key.cert, resolver=resolver, live=live, live_secret=live_secret
    )
    assert again == first

    # rotate the password only: its two items change, the user item keeps its ciphertext
    (values_dir / "values" / "east.yaml").write_text(
        yaml.safe_dump({"db": {"password": "rotated-pw", "user": "user-east"}})
    )
    rotated = delivery.seal_for_cluster(
        SECRET,
        cluster=cluster,
        cert=sealing_key.cert,
        resolver=resolver_mod.Resolver(["file"], base_dir=values_dir),
        live=live,
        live_secret=live_secret,
    )
    changed = {
        k
        for k in first["spec"]["encryptedData"]
        if rotated["spec"]["encryptedData"][k] != first["spec"]["encryptedData"][k]
    }
    assert changed == {"password", "dsn"}
    assert _plain(sealed.unseal(rotated, sealing_key.unseal_keys))["password"] == "rotated-pw"


NO_REUSE = ["other-certificate", "not-synced", "stale-generation", "secret-not-owned"]


@pytest.mark.parametrize("case", NO_REUSE)
def test_live_ciphertext_is_not_reused_unless_the_controller_made_the_live_secret_from_it(
    resolver: resolver_mod.Resolver, sealing_key: KeyPair, other_sealing_key: KeyPair, case: str
) -> None:
    cluster = _cluster("east")
    first = delivery.seal_for_cluster(SECRET, cluster=cluster, cert=sealing_key.cert, resolver=resolver)
    live, live_secret = _live_pair(first, sealing_key.unseal_keys)
    cert = sealing_key.cert
    if case == "other-certificate":
        cert = other_sealing_key.cert
    elif case == "not-synced":
        live["status"]["conditions"][0]["status"] = "False"
    elif case == "stale-generation":
        live["metadata"]["generation"] = 2
    else:
        live_secret["metadata"]["ownerReferences"] = []

    again = delivery.seal_for_cluster(
        SECRET, cluster=cluster, cert=cert, resolver=resolver, live=live, live_secret=live_secret
    )

    assert all(again["spec"]["encryptedData"][k] != v for k, v in first["spec"]["encryptedData"].items())
