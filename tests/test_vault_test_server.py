"""The Vault API test server follows Vault's HTTP API closely enough for hvac: policies with globs,
KV v2 metadata and destroy, transit encryption (for SOPS' hc_vault keys), and a standalone mode."""

from __future__ import annotations

import base64
import subprocess
import sys

import hvac
import hvac.exceptions
import pytest

from tests.conftest import REPO_ROOT
from tests.servers.vault_server import VaultServer

POLICY = """
# app team
path "secret/data/app/*" { capabilities = ["read", "list"] }
path "secret/data/app/admin" { capabilities = ["deny"] }
path "secret/data/+/shared" { capabilities = ["read"] }
path "secret/metadata/app/*" { capabilities = ["list"] }
"""

ACCESS_CASES = [
    ("glob-prefix", "app/db", True),
    ("glob-deeper", "app/x/y", True),
    ("deny-wins-as-most-specific", "app/admin", False),
    ("plus-matches-one-segment", "other/shared", True),
    ("plus-does-not-match-two-segments", "a/b/shared", False),
    ("outside-policy", "billing/db", False),
]


@pytest.mark.parametrize("path, allowed", [c[1:] for c in ACCESS_CASES], ids=[c[0] for c in ACCESS_CASES])
def test_policies_grant_by_path_glob_as_vault_does(
    vault_server: VaultServer, path: str, allowed: bool
) -> None:
    vault_server.put_secret("secret", path, {"k": "v"})
    root = hvac.Client(url=vault_server.url, token="root")
    root.sys.create_or_update_acl_policy("team", POLICY)
    token = root.auth.token.create(policies=["team"], ttl="1h")["auth"]["client_token"]
    client = hvac.Client(url=vault_server.url, token=token)
    if allowed:
        answer = client.secrets.kv.v2.read_secret_version(
            path=path, mount_point="secret", raise_on_deleted_version=True
        )
        assert answer["data"]["data"] == {"k": "v"}
    else:
        with pytest.raises(hvac.exceptions.Forbidden):
            client.secrets.kv.v2.read_secret_version(
                path=path, mount_point="secret", raise_on_deleted_version=True
            )


def test_missing_paths_answer_404_and_bad_tokens_403(vault_server: VaultServer) -> None:
    root = hvac.Client(url=vault_server.url, token="root")
    with pytest.raises(hvac.exceptions.InvalidPath):
        root.secrets.kv.v2.read_secret_version(
            path="nothing", mount_point="secret", raise_on_deleted_version=True
        )
    with pytest.raises(hvac.exceptions.Forbidden):
        hvac.Client(url=vault_server.url, token="bogus").auth.token.lookup_self()


def test_kv2_metadata_lists_versions_and_destroy_removes_data(vault_server: VaultServer) -> None:
    root = hvac.Client(url=vault_server.url, token="root")
    for value in ("one", "two", "three"):
        root.secrets.kv.v2.create_or_update_secret(path="app/db", secret={"pw": value}, mount_point="secret")
    meta = root.secrets.kv.v2.read_secret_metadata(path="app/db", mount_point="secret")["data"]
    assert meta["current_version"] == 3 and sorted(meta["versions"]) == ["1", "2", "3"]
    root.secrets.kv.v2.destroy_secret_versions(path="app/db", versions=[1], mount_point="secret")
    with pytest.raises(hvac.exceptions.InvalidPath):  # as with Vault: a destroyed version is gone
        root.secrets.kv.v2.read_secret_version(
            path="app/db", version=1, mount_point="secret", raise_on_deleted_version=False
        )
    meta = root.secrets.kv.v2.read_secret_metadata(path="app/db", mount_point="secret")["data"]
    assert meta["versions"]["1"]["destroyed"] is True
    root.secrets.kv.v2.delete_secret_versions(path="app/db", versions=[2], mount_point="secret")
    answer = root.secrets.kv.v2.read_secret_version(
        path="app/db", version=2, mount_point="secret", raise_on_deleted_version=False
    )
    assert answer["data"]["data"] is None and answer["data"]["metadata"]["deletion_time"]
    assert root.secrets.kv.v2.list_secrets(path="app", mount_point="secret")["data"]["keys"] == ["db"]


def test_transit_encrypts_with_real_keys_and_decrypts_after_rotation(vault_server: VaultServer) -> None:
    vault_server.enable_transit("transit")
    root = hvac.Client(url=vault_server.url, token="root")
    root.secrets.transit.create_key(name="sops")
    plaintext = base64.b64encode(b"data key bytes").decode()
    first = root.secrets.transit.encrypt_data(name="sops", plaintext=plaintext)["data"]["ciphertext"]
    assert first.startswith("vault:v1:")
    assert base64.b64decode(first.split(":")[2]) != b"data key bytes"
    root.secrets.transit.rotate_key(name="sops")
    second = root.secrets.transit.encrypt_data(name="sops", plaintext=plaintext)["data"]["ciphertext"]
    assert second.startswith("vault:v2:")
    for ciphertext in (first, second):
        assert (
            root.secrets.transit.decrypt_data(name="sops", ciphertext=ciphertext)["data"]["plaintext"]
            == plaintext
        )
    tampered = first[:-4] + ("AAAA" if not first.endswith("AAAA") else "BBBB")
    with pytest.raises(hvac.exceptions.InvalidRequest):
        root.secrets.transit.decrypt_data(name="sops", ciphertext=tampered)


def test_transit_keys_are_separate_per_name(vault_server: VaultServer) -> None:
    vault_server.enable_transit("transit")
    root = hvac.Client(url=vault_server.url, token="root")
    ciphertext = root.secrets.transit.encrypt_data(name="a", plaintext=base64.b64encode(b"x").decode())[
        "data"
    ]["ciphertext"]
    root.secrets.transit.create_key(name="b")
    with pytest.raises(hvac.exceptions.InvalidRequest):
        root.secrets.transit.decrypt_data(name="b", ciphertext=ciphertext)


def test_the_server_runs_standalone_from_the_repository_root() -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.servers.vault_server",
            "--port",
            "0",
            "--root-token",
            "demo",
            "--transit",
            "transit",
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        url = line.split(" listening on ")[1].split(" ")[0]
        client = hvac.Client(url=url, token="demo")
        assert client.sys.read_health_status(method="GET")["initialized"] is True
        client.secrets.kv.v2.create_or_update_secret(path="x", secret={"a": "b"}, mount_point="secret")
        assert client.secrets.transit.encrypt_data(name="k", plaintext="eA==")["data"][
            "ciphertext"
        ].startswith("vault:v1:")
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.parametrize(
    "orphan_call, orphan",
    [(False, False), (True, True)],
    ids=["create-has-a-parent", "create-orphan-has-none"],
)
def test_token_create_reports_orphans_as_vault_does(
    vault_server: VaultServer, orphan_call: bool, orphan: bool
) -> None:
    root = hvac.Client(url=vault_server.url, token="root")
    create = root.auth.token.create_orphan if orphan_call else root.auth.token.create
    answer = create(policies=["default"], ttl="1h")
    assert answer["auth"]["orphan"] is orphan
