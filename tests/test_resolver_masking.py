"""Masking for diffs and reports: the fields that held secrets and every Secret's data show ``***``,
and every resolved value is registered with ``fleet.redact`` so it is masked wherever it turns up."""

from __future__ import annotations

import base64
import copy

import pytest

from fleet import models, redact
from fleet.secrets import resolver
from tests.servers.vault_server import VaultServer

CLUSTER = models.Cluster(name="prod", server="https://prod")


@pytest.fixture
def vault(vault_env: VaultServer) -> VaultServer:
    vault_env.put_secret("secret", "app/db", {"password": "Pw-4-masking-test", "pin": "42"})
    return vault_env


DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "annotations": {"note": "plain"}},
    "spec": {
        "template": {
            "spec": {
                "containers": [
                    {
                        "name": "web",
                        "env": [
                            {
                                "name": "DB_URL",
                                "value": "postgres://app:ref+vault://secret/data/app/db#/password+@db/app",
                            },
                            {"name": "PIN", "value": "ref+vault://secret/data/app/db#/pin"},
                            {"name": "MODE", "value": "production"},
                        ],
                    }
                ]
            }
        }
    },
}


def test_secret_fields_are_masked_and_the_rest_is_kept(vault: VaultServer) -> None:
    resolved, paths = resolver.Resolver().for_cluster(CLUSTER).resolve_object(DEPLOYMENT)
    before = copy.deepcopy(resolved)
    masked = resolver.mask_object(resolved, paths)
    env = masked["spec"]["template"]["spec"]["containers"][0]["env"]
    assert env == [
        {"name": "DB_URL", "value": "***"},
        {"name": "PIN", "value": "***"},  # too short for search masking, masked by its path
        {"name": "MODE", "value": "production"},
    ]
    assert masked["metadata"] == DEPLOYMENT["metadata"]
    assert resolved == before


def test_every_secret_data_key_is_masked_even_without_references() -> None:
    live = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s"},
        "data": {"a": base64.b64encode(b"live value").decode()},
        "stringData": {"b": "x"},
    }
    masked = resolver.Resolver.mask_object(live)
    assert masked["data"] == {"a": "***"} and masked["stringData"] == {"b": "***"}


def test_resolved_values_are_registered_for_masking_everywhere(vault: VaultServer) -> None:
    resolver.Resolver().for_cluster(CLUSTER).resolve_string("ref+vault://secret/data/app/db#/password")
    leaked = {
        "kind": "ConfigMap",
        "metadata": {"name": "x", "annotations": {"copy": "was Pw-4-masking-test!"}},
    }
    assert resolver.mask_object(leaked)["metadata"]["annotations"]["copy"] == "was ***!"
    assert redact.mask(base64.b64encode(b"Pw-4-masking-test").decode()) == "***"


def test_paths_that_no_longer_exist_are_ignored() -> None:
    obj = {"kind": "ConfigMap", "data": {"a": "b"}, "list": [1]}
    assert resolver.mask_object(obj, [("data", "gone"), ("list", 5), ("nope", "x", 1)]) == obj
