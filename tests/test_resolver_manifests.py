"""Resolving an Application's manifests for one cluster: whole and embedded references in any field,
Secret ``data`` decoded / resolved / re-encoded, ``stringData`` in place, and the secret fields
reported for masking. The input objects are never modified."""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path

import pytest
import yaml

from fleet import models
from fleet.secrets import resolver
from tests.fixtures.aws import MotoServer
from tests.servers.vault_server import VaultServer

DATA = Path(__file__).parent / "data" / "secrets"
PROD = models.Cluster(name="prod", server="https://prod.example", labels={"env": "prod"})


@pytest.fixture
def backends(vault_env: VaultServer, moto_server: MotoServer) -> None:
    vault_env.put_secret("secret", "prod/db", {"user": "shop", "password": "prod-db-pw"})
    vault_env.put_secret("secret", "staging/db", {"user": "shop", "password": "staging-db-pw"})
    sm = moto_server.client("secretsmanager")
    sm.create_secret(Name="shop/api-key", SecretString="api-key-123")
    sm.create_secret(Name="shop/smtp", SecretString=json.dumps({"password": "smtp-pw"}))


def load() -> list[dict]:
    return list(yaml.safe_load_all((DATA / "app.yaml").read_text()))


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_every_reference_in_the_manifests_is_resolved_for_the_cluster(backends: None) -> None:
    secret, deployment, configmap = load()
    context = resolver.Resolver().for_cluster(PROD)

    resolved, paths = context.resolve_object(secret)
    assert resolved["data"] == {
        "password": b64("prod-db-pw"),
        "jdbc": b64("jdbc:postgresql://db:5432/app?user=shop&password=prod-db-pw"),
        "api-key": b64("api-key-123"),
        "note": secret["data"]["note"],
    }
    assert resolved["stringData"] == {"DATABASE_URL": "postgres://app:prod-db-pw@db.shop:5432/app"}
    assert paths == {("data", k) for k in secret["data"]} | {("stringData", "DATABASE_URL")}

    resolved, paths = context.resolve_object(deployment)
    env = resolved["spec"]["template"]["spec"]["containers"][0]["env"]
    assert env == [
        {"name": "REGION", "value": "eu"},
        {"name": "API_KEY", "value": "api-key-123"},
        {"name": "SMTP_URL", "value": "smtp://mailer:smtp-pw@smtp.example:587"},
    ]
    assert resolved["metadata"]["annotations"]["fleet.example/config-version"] == "config/v7"
    container = ("spec", "template", "spec", "containers", 0, "env")
    assert paths == {
        (*container, 1, "value"),
        (*container, 2, "value"),
        ("metadata", "annotations", "fleet.example/config-version"),
    }

    resolved, paths = context.resolve_object(configmap)
    assert resolved == configmap and paths == frozenset()


def test_the_same_manifest_resolves_to_each_clusters_own_values(backends: None) -> None:
    secret = load()[0]
    resolve_with = resolver.Resolver()
    staging = PROD.model_copy(update={"name": "staging"})
    prod_value = resolve_with.for_cluster(PROD).resolve_object(secret)[0]["data"]["password"]
    staging_value = resolve_with.for_cluster(staging).resolve_object(secret)[0]["data"]["password"]
    assert (prod_value, staging_value) == (b64("prod-db-pw"), b64("staging-db-pw"))


def test_the_input_objects_are_not_modified(backends: None) -> None:
    manifests = load()
    before = copy.deepcopy(manifests)
    context = resolver.Resolver().for_cluster(PROD)
    for obj in manifests:
        context.resolve_object(obj)
    assert manifests == before


def test_whole_references_keep_their_type_embedded_ones_become_text(vault_env: VaultServer) -> None:
    vault_env.put_secret(
        "secret", "shop/helm", {"replicas": 3, "tls": True, "hosts": ["a.example", "b.example"]}
    )
    values = {
        "replicaCount": "ref+vault://secret/data/shop/helm#/replicas",
        "ingress": {
            "tls": "ref+vault://secret/data/shop/helm#/tls",
            "hosts": "ref+vault://secret/data/shop/helm#/hosts",
        },
        "note": "replicas=ref+vault://secret/data/shop/helm#/replicas+ tls=ref+vault://secret/data/shop/helm#/tls",
        "list": ["plain", "ref+echo://k/v#/k"],
    }
    resolved, paths = resolver.Resolver().for_cluster(None).resolve_object(values)
    assert resolved == {
        "replicaCount": 3,
        "ingress": {"tls": True, "hosts": ["a.example", "b.example"]},
        "note": "replicas=3 tls=true",
        "list": ["plain", "v"],
    }
    assert paths == {("replicaCount",), ("ingress", "tls"), ("ingress", "hosts"), ("note",), ("list", 1)}


def test_has_references_finds_them_in_secret_data(backends: None) -> None:
    secret, _, configmap = load()
    assert resolver.Resolver.has_references(secret)
    assert not resolver.Resolver.has_references(configmap)


def test_credentials_resolve_through_the_credential_resolver(backends: None) -> None:
    resolve_credential = resolver.Resolver().credential_resolver(PROD)
    assert resolve_credential("ref+vault://secret/data/{{name}}/db#/password") == "prod-db-pw"
    assert resolve_credential("static-token") == "static-token"


def test_kustomize_generator_inputs_resolve_before_the_build(backends: None) -> None:
    kustomization = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "secretGenerator": [
            {
                "name": "db",
                "literals": ["password=ref+vault://secret/data/{{name}}/db#/password", "user=shop"],
            }
        ],
    }
    resolved, paths = resolver.Resolver().for_cluster(PROD).resolve_object(kustomization)
    assert resolved["secretGenerator"][0]["literals"] == ["password=prod-db-pw", "user=shop"]
    assert paths == {("secretGenerator", 0, "literals", 0)}
    env_file = "USER=shop\nPASSWORD=ref+vault://secret/data/{{name}}/db#/password\nAPI_KEY=ref+awssecrets://shop/api-key\n"
    assert (
        resolver.Resolver().for_cluster(PROD).resolve_string(env_file)
        == "USER=shop\nPASSWORD=prod-db-pw\nAPI_KEY=api-key-123\n"
    )
