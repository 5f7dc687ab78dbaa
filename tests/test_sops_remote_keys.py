"""Remote master keys: AWS KMS against moto's server, Vault transit against the Vault test server.

Files are encrypted to a KMS key (with an encryption context) or a Vault transit key and must
decrypt again through boto3 / hvac; a file listing an unreachable service and an offline age key
decrypts with the age key, and failures name the ARN or URI they tried.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
import yaml

from fleet.secrets import sops
from tests.fixtures.sops import AGE_RECIPIENTS, SopsEnv


def _kms_key(moto_server: Any) -> str:
    return moto_server.client("kms").create_key(Description="sops test")["KeyMetadata"]["Arn"]


def test_kms_encrypted_file_decrypts_through_boto3(sops_env: SopsEnv, moto_server: Any) -> None:
    arn = _kms_key(moto_server)
    options = sops.EncryptOptions(kms=(arn,), kms_context={"app": "web", "env": "prod"})
    encrypted = sops.encrypt_bytes(b"password: kms-s3cret\n", options, path="k.yaml")
    meta = yaml.safe_load(encrypted)["sops"]
    entry = meta["kms"][0]
    assert entry["arn"] == arn
    assert entry["context"] == {"app": "web", "env": "prod"}
    assert set(entry) == {"arn", "aws_profile", "context", "created_at", "enc"}
    plain = moto_server.client("kms").decrypt(
        CiphertextBlob=base64.b64decode(entry["enc"]), EncryptionContext={"app": "web", "env": "prod"}
    )["Plaintext"]
    assert len(plain) == 32
    assert sops.decrypt_bytes(encrypted, path="k.yaml") == b"password: kms-s3cret\n"


def test_kms_context_is_part_of_the_key(sops_env: SopsEnv, moto_server: Any) -> None:
    arn = _kms_key(moto_server)
    encrypted = sops.encrypt_bytes(
        b"a: b\n", sops.EncryptOptions(kms=(arn,), kms_context={"app": "web"}), path="k.yaml"
    )
    tampered = encrypted.replace(b"app: web", b"app: api")
    with pytest.raises(sops.NoKeyError) as caught:
        sops.decrypt_bytes(tampered, path="k.yaml")
    assert f"kms {arn}" in str(caught.value)


def test_kms_and_age_group_decrypts_with_age_when_kms_is_unreachable(
    sops_env: SopsEnv, moto_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    arn = _kms_key(moto_server)
    encrypted = sops.encrypt_bytes(
        b"a: b\n", sops.EncryptOptions(kms=(arn,), age=AGE_RECIPIENTS[:1]), path="m.yaml"
    )
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens there
    assert sops.decrypt_bytes(encrypted, path="m.yaml") == b"a: b\n"
    sops_env.use(gnupg=None, age_key_file=None)
    with pytest.raises(sops.NoKeyError) as caught:
        sops.decrypt_bytes(encrypted, path="m.yaml")
    assert f"kms {arn}" in str(caught.value) and "cannot reach KMS" in str(caught.value)
    assert caught.value.retryable


def test_vault_transit_encrypted_file_decrypts_through_hvac(sops_env: SopsEnv, vault_env: Any) -> None:
    vault_env.enable_transit("transit")
    uri = f"{vault_env.url}/v1/transit/keys/sops"
    encrypted = sops.encrypt_bytes(
        b"token: vault-s3cret\n", sops.EncryptOptions(hc_vault_transit=(uri,)), path="v.yaml"
    )
    entry = yaml.safe_load(encrypted)["sops"]["hc_vault"][0]
    assert entry["vault_address"] == vault_env.url
    assert (entry["engine_path"], entry["key_name"]) == ("transit", "sops")
    assert entry["enc"].startswith("vault:v1:")
    assert sops.decrypt_bytes(encrypted, path="v.yaml") == b"token: vault-s3cret\n"
    assert vault_env.request_count("transit/decrypt/sops") == 1


def test_vault_transit_denied_token_is_reported_with_the_key_uri(
    sops_env: SopsEnv, vault_env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    vault_env.enable_transit("transit")
    uri = f"{vault_env.url}/v1/transit/keys/sops"
    encrypted = sops.encrypt_bytes(b"a: b\n", sops.EncryptOptions(hc_vault_transit=(uri,)), path="v.yaml")
    monkeypatch.setenv("VAULT_TOKEN", "not-a-token")
    with pytest.raises(sops.NoKeyError) as caught:
        sops.decrypt_bytes(encrypted, path="v.yaml")
    assert f"hc_vault {uri}" in str(caught.value) and "denied" in str(caught.value)
