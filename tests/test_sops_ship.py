"""ref+sops:// files travel with the work: the driver ships their ciphertext, the worker reads it."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from fleet.secrets import providers
from fleet.secrets.sops import provider


def source(tmp_path: Path) -> Path:
    (tmp_path / "app" / "secrets").mkdir(parents=True)
    (tmp_path / "app" / "secrets" / "a.enc.yaml").write_bytes(b"ciphertext-bytes")
    (tmp_path / "outside.yaml").write_bytes(b"not in the source")
    return tmp_path / "app"


def configmap(value: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": value}}


@pytest.mark.parametrize(
    "written, shipped",
    [
        ("ref+sops://secrets/a.enc.yaml#/x", "ref+sops://secrets/a.enc.yaml?shipped={d}#/x"),
        (
            "pre ref+sops://secrets/a.enc.yaml#/x+ post",
            "pre ref+sops://secrets/a.enc.yaml?shipped={d}#/x+ post",
        ),
        (
            "ref+sops://secrets/a.enc.yaml?format=yaml",
            "ref+sops://secrets/a.enc.yaml?format=yaml&shipped={d}",
        ),
        ("ref+vault://kv/data/x#/y", "ref+vault://kv/data/x#/y"),
        ("ref+sops:///etc/absolute.yaml#/x", "ref+sops:///etc/absolute.yaml#/x"),
    ],
    ids=[
        "whole",
        "embedded-with-terminator",
        "with-query",
        "other-scheme-untouched",
        "absolute-path-untouched",
    ],
)
def test_relative_sops_references_are_marked_with_the_digest_of_the_shipped_file(
    tmp_path, written, shipped
) -> None:
    base = source(tmp_path)
    out, files = provider.ship([configmap(written)], base_dir=base)
    digest = next(iter(files), "")
    assert out[0]["data"]["k"] == shipped.format(d=digest)
    if "{d}" in shipped:
        assert files == {digest: b"ciphertext-bytes"}
    else:
        assert files == {}


def test_references_inside_secret_data_are_shipped_and_re_encoded(tmp_path) -> None:
    base = source(tmp_path)
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s"},
        "data": {"k": base64.b64encode(b"ref+sops://secrets/a.enc.yaml#/x").decode()},
    }
    out, files = provider.ship([secret], base_dir=base)
    (digest,) = files
    assert (
        base64.b64decode(out[0]["data"]["k"]).decode() == f"ref+sops://secrets/a.enc.yaml?shipped={digest}#/x"
    )
    assert secret["data"]["k"] != out[0]["data"]["k"]  # the input (possibly a cached render) is untouched


def test_objects_without_sops_references_are_returned_as_they_are(tmp_path) -> None:
    obj = configmap("plain")
    out, files = provider.ship([obj], base_dir=source(tmp_path))
    assert out[0] is obj and files == {}


@pytest.mark.parametrize(
    "written, error, message",
    [
        ("ref+sops://../outside.yaml#/x", providers.AccessDenied, "outside the source"),
        (
            "ref+sops://secrets/missing.yaml#/x",
            providers.SecretNotFound,
            "no such file in the Application's source",
        ),
    ],
    ids=["outside-the-source", "missing-file"],
)
def test_a_file_that_cannot_be_shipped_fails_naming_the_reference(tmp_path, written, error, message) -> None:
    with pytest.raises(error) as caught:
        provider.ship([configmap(written)], base_dir=source(tmp_path))
    assert message in str(caught.value) and written.split("#")[0] in str(caught.value)


def test_a_shipped_reference_reads_the_registered_bytes_never_the_workers_disk(tmp_path, monkeypatch) -> None:
    from fleet.secrets import refs

    monkeypatch.chdir(tmp_path)
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "a.enc.yaml").write_bytes(b"a file on the worker")
    ref = refs.parse("ref+sops://secrets/a.enc.yaml?shipped=feedface#/x")
    with pytest.raises(providers.SecretNotFound, match="was not shipped"):
        provider.SopsProvider()._read(ref)
    provider.register_shipped({"feedface": b"shipped ciphertext"})
    assert provider.SopsProvider()._read(ref) == (b"shipped ciphertext", "secrets/a.enc.yaml")
