"""Render-time decryption (like Flux) and the ``ref+sops://`` provider.

Manifests without SOPS metadata pass through untouched; encrypted ones come back as plaintext
with every decrypted value registered with ``fleet.redact``; a reference reads one value of a
SOPS file relative to the source directory, through the resolver like any other scheme.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fleet import redact
from fleet.secrets import providers, refs, resolver, sops
from fleet.secrets.sops import provider as sops_provider
from tests.fixtures.sops import AGE_RECIPIENTS, SopsEnv

SECRET_MANIFEST = b"""\
apiVersion: v1
kind: Secret
metadata:
    name: db
    namespace: apps
type: Opaque
stringData:
    password: render-time-s3cret
"""
ONLY_DATA = sops.CryptRule(sops.RuleKind.ENCRYPTED_REGEX, "^(data|stringData)$")


@pytest.fixture
def encrypted_manifest(sops_env: SopsEnv) -> str:
    options = sops.EncryptOptions(age=AGE_RECIPIENTS[:1], rule=ONLY_DATA)
    return sops.encrypt_bytes(SECRET_MANIFEST, options, path="secret.yaml").decode()


PLAIN_TEXTS = [
    pytest.param("apiVersion: v1\nkind: ConfigMap\ndata:\n  a: b\n", "cm.yaml", id="yaml-manifest"),
    pytest.param(
        '{"kind": "ConfigMap", "data": {"sops": "not metadata"}}', "cm.json", id="json-with-sops-word"
    ),
    pytest.param(
        "key: ENC[AES256_GCM,looks-like-but-no-metadata]\n", "x.yaml", id="enc-text-without-metadata"
    ),
    pytest.param("", "empty.yaml", id="empty"),
]


@pytest.mark.parametrize("text, path", PLAIN_TEXTS)
def test_files_without_sops_metadata_come_back_unchanged(sops_env: SopsEnv, text: str, path: str) -> None:
    assert sops.decrypt_if_encrypted(text, path=path) is text
    assert not sops.is_encrypted(text)


def test_encrypted_manifest_is_decrypted_and_its_values_registered(
    sops_env: SopsEnv, encrypted_manifest: str
) -> None:
    redact.forget_all()
    assert sops.is_encrypted(encrypted_manifest)
    assert "render-time-s3cret" not in encrypted_manifest
    plain = sops.decrypt_if_encrypted(encrypted_manifest, path="apps/db/secret.yaml")
    assert plain == SECRET_MANIFEST.decode()
    assert redact.mask("leaked render-time-s3cret here") == "leaked *** here"
    assert redact.mask("name: db") == "name: db"  # clear values are not secrets


def test_encrypted_manifest_with_unknown_extension_is_read_as_yaml(
    sops_env: SopsEnv, encrypted_manifest: str
) -> None:
    assert (
        sops.decrypt_if_encrypted(encrypted_manifest, path="manifests/secret.txt") == SECRET_MANIFEST.decode()
    )


def test_parsed_manifest_with_sops_metadata_is_recognised(sops_env: SopsEnv, encrypted_manifest: str) -> None:
    import yaml

    assert sops.is_encrypted(yaml.safe_load(encrypted_manifest))
    assert not sops.is_encrypted({"kind": "Secret", "sops": "no"})


def test_encrypted_manifest_without_a_key_fails_instead_of_passing_ciphertext(
    sops_env: SopsEnv, encrypted_manifest: str
) -> None:
    sops_env.use(gnupg=None, age_key_file=None)
    with pytest.raises(sops.NoKeyError, match="apps/db/secret.yaml"):
        sops.decrypt_if_encrypted(encrypted_manifest, path="apps/db/secret.yaml")


@pytest.fixture
def source_dir(sops_env: SopsEnv, tmp_path: Path) -> Path:
    source = tmp_path / "source"
    (source / "secrets").mkdir(parents=True)
    options = sops.EncryptOptions(age=AGE_RECIPIENTS[:1])
    (source / "secrets" / "db.yaml").write_bytes(
        sops.encrypt_bytes(b"db:\n    password: ref-s3cret\n    port: 5432\n", options, path="db.yaml")
    )
    (source / "secrets" / "app.env").write_bytes(
        sops.encrypt_bytes(b"TOKEN=env-t0ken\n", options, path="app.env")
    )
    (source / "secrets" / "db.txt").write_bytes(
        sops.encrypt_bytes(b'{"password": "json-in-binary"}', options, path="db.txt")
    )
    return source


REFERENCES = [
    pytest.param("ref+sops://secrets/db.yaml#/db/password", "ref-s3cret", id="yaml-fragment"),
    pytest.param("ref+sops://secrets/db.yaml#/db/port", "5432", id="yaml-number-as-text"),
    pytest.param("ref+sops://secrets/app.env#/TOKEN", "env-t0ken", id="dotenv"),
    pytest.param(
        "ref+sops://secrets/db.txt?format=binary#/password", "json-in-binary", id="binary-with-format-hint"
    ),
    pytest.param("ref+sops://secrets/app.env", "TOKEN=env-t0ken\n", id="whole-file"),
]


@pytest.mark.parametrize("reference, value", REFERENCES)
def test_sops_reference_resolves_one_value_through_the_resolver(
    source_dir: Path, reference: str, value: str
) -> None:
    resolution = resolver.Resolver(settings=providers.ProviderSettings(base_dir=str(source_dir))).for_cluster(
        None
    )
    assert resolution.resolve_string(f"v={reference}+") == f"v={value}"


def test_sops_reference_outside_the_base_directory_is_refused(source_dir: Path) -> None:
    provider = sops_provider.SopsProvider(providers.ProviderSettings(base_dir=str(source_dir / "secrets")))
    with pytest.raises(providers.AccessDenied, match="outside"):
        provider.get_document(refs.parse("ref+sops://../../etc/passwd#/x"))


def test_sops_reference_without_a_key_is_access_denied_naming_the_reference(
    source_dir: Path, sops_env: SopsEnv
) -> None:
    sops_env.use(gnupg=None, age_key_file=None)
    provider = sops_provider.SopsProvider(providers.ProviderSettings(base_dir=str(source_dir)))
    with pytest.raises(providers.AccessDenied, match="ref\\+sops://secrets/db.yaml") as caught:
        provider.get_document(refs.parse("ref+sops://secrets/db.yaml#/db/password"))
    assert "ref-s3cret" not in str(caught.value)


def test_fetch_helper_reads_one_value(source_dir: Path) -> None:
    assert sops_provider.fetch("secrets/db.yaml", "/db/password", base_dir=str(source_dir)) == "ref-s3cret"
    with pytest.raises(providers.SecretNotFound, match="#/db/user"):
        sops_provider.fetch("secrets/db.yaml", "db/user", base_dir=str(source_dir))


def test_sops_scheme_is_registered_with_the_provider_registry() -> None:
    assert isinstance(providers.create("sops"), sops_provider.SopsProvider)


def test_manifest_object_reserialised_as_json_decrypts_like_flux_after_a_build(
    sops_env: SopsEnv, encrypted_manifest: str
) -> None:
    """The render engine decrypts each object after the build: ``json.dumps`` of the parsed object."""
    import json

    import yaml

    text = json.dumps(yaml.safe_load(encrypted_manifest))
    assert sops.is_encrypted(text)
    decrypted = json.loads(sops.decrypt_if_encrypted(text, path="apps#Secret/db.json"))
    assert decrypted["stringData"] == {"password": "render-time-s3cret"}
    assert "sops" not in decrypted
