"""``fleet secrets seal`` / ``unseal`` through the CLI: output, exit codes and messages."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from fleet.cli import app
from fleet.secrets import sealed
from tests.fixtures.sealed import SEALED_DATA, KeyPair

runner = CliRunner()


def _run(args: list[str], stdin: bytes | str | None = None):
    return runner.invoke(app, ["secrets", *args], input=stdin)


@pytest.fixture
def key_files(tmp_path: Path, sealing_key: KeyPair) -> tuple[Path, Path]:
    cert = tmp_path / "cert.pem"
    cert.write_bytes(sealing_key.cert_pem)
    key = tmp_path / "key.yaml"
    key.write_text(sealing_key.secret_yaml)
    return cert, key


def test_seal_then_unseal_through_the_cli_round_trips(key_files: tuple[Path, Path]) -> None:
    cert, key = key_files
    sealed_out = _run(["seal", "--cert", str(cert)], (SEALED_DATA / "secret-from-cluster.yaml").read_text())
    assert sealed_out.exit_code == 0, sealed_out.output
    doc = yaml.safe_load(sealed_out.stdout)
    assert doc["kind"] == "SealedSecret" and "hunter2" not in sealed_out.stdout

    opened = _run(["unseal", "--key", str(key)], sealed_out.stdout)

    assert opened.exit_code == 0, opened.output
    secret = yaml.safe_load(opened.stdout)
    assert base64.b64decode(secret["data"]["password"]) == b"hunter2-sealed"
    assert secret["type"] == "kubernetes.io/basic-auth"


def test_seal_reads_a_file_argument_and_prints_json(key_files: tuple[Path, Path]) -> None:
    cert, _ = key_files
    result = _run(
        [
            "seal",
            "--cert",
            str(cert),
            "--scope",
            "cluster-wide",
            "-o",
            "json",
            str(SEALED_DATA / "secret-minimal.yaml"),
        ]
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["metadata"]["annotations"] == {"sealedsecrets.bitnami.com/cluster-wide": "true"}


def test_a_date_like_label_prints_as_text_in_json(key_files: tuple[Path, Path]) -> None:
    cert, _ = key_files
    secret = yaml.safe_load((SEALED_DATA / "secret-minimal.yaml").read_text())
    secret["metadata"]["labels"] = {"built": "2024-01-01"}
    stream = yaml.safe_dump(secret).replace("'2024-01-01'", "2024-01-01")  # unquoted, as people write it
    result = _run(["seal", "--cert", str(cert), "-o", "json"], stream)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["spec"]["template"]["metadata"]["labels"] == {"built": "2024-01-01"}


def test_several_secrets_in_one_stream_give_several_sealed_secrets(key_files: tuple[Path, Path]) -> None:
    cert, key = key_files
    stream = (
        (SEALED_DATA / "secret-minimal.yaml").read_text()
        + "---\n"
        + (SEALED_DATA / "secret-no-namespace.yaml").read_text()
    )
    result = _run(["seal", "--cert", str(cert), "-n", "apps"], stream)
    assert result.exit_code == 0, result.output
    docs = list(yaml.safe_load_all(result.stdout))
    assert [d["metadata"]["name"] for d in docs] == ["app-config", "no-namespace"]
    opened = _run(["unseal", "--key", str(key), "-o", "json"], result.stdout)
    assert [i["metadata"]["name"] for i in json.loads(opened.stdout)["items"]] == [
        "app-config",
        "no-namespace",
    ]


def test_raw_mode_seals_one_value_from_a_file_or_stdin(tmp_path: Path, key_files: tuple[Path, Path]) -> None:
    cert, key = key_files
    value_file = tmp_path / "value.bin"
    value_file.write_bytes(b"\x00binary\xff")
    from_file = _run(
        ["seal", "--cert", str(cert), "--raw", "--from-file", str(value_file), "-n", "apps", "--name", "db"]
    )
    from_stdin = _run(
        ["seal", "--cert", str(cert), "--raw", "--value-stdin", "--scope", "namespace-wide", "-n", "apps"],
        "text-value",
    )
    assert from_file.exit_code == 0 and from_stdin.exit_code == 0, from_file.output + from_stdin.output

    keys = sealed.load_private_keys_file(key)
    assert sealed.unseal_raw(from_file.stdout.strip(), keys, namespace="apps", name="db") == b"\x00binary\xff"
    assert (
        sealed.unseal_raw(
            from_stdin.stdout.strip(), keys, scope=sealed.Scope.NAMESPACE_WIDE, namespace="apps"
        )
        == b"text-value"
    )
    opened = _run(["unseal", "--raw", "--key", str(key), "-n", "apps", "--name", "db"], from_file.stdout)
    assert opened.exit_code == 0 and opened.stdout_bytes == b"\x00binary\xff"


def test_every_vector_unseals_through_the_cli(sealed_vectors: Path) -> None:
    key = sealed_vectors / "keys" / "sealing_key_a.secret.yaml"
    for vector in ("strict_default_mysecret", "namespace_wide_team_a", "cluster_wide_global_token"):
        result = _run(["unseal", "--key", str(key), str(sealed_vectors / f"{vector}.sealedsecret.yaml")])
        assert result.exit_code == 0, result.output
        secret = yaml.safe_load(result.stdout)
        del secret["metadata"]["ownerReferences"]
        assert secret == yaml.safe_load((sealed_vectors / f"{vector}.expected-secret.yaml").read_text())


def test_unseal_tries_every_key_given(
    key_files: tuple[Path, Path], other_sealing_key: KeyPair, tmp_path: Path
) -> None:
    cert, key = key_files
    other = tmp_path / "other.yaml"
    other.write_text(other_sealing_key.secret_yaml)
    sealed_out = _run(["seal", "--cert", str(cert)], (SEALED_DATA / "secret-minimal.yaml").read_text()).stdout
    assert _run(["unseal", "--key", str(other)], sealed_out).exit_code == 1
    assert _run(["unseal", "--key", str(other), "--key", str(key)], sealed_out).exit_code == 0


FAILURES = [
    (["seal"], "", 2, "give exactly one of --cert FILE or --cluster NAME"),
    (
        ["seal", "--cert", "CERT", "--raw"],
        "",
        2,
        "--raw needs exactly one of --from-file FILE or --value-stdin",
    ),
    (
        ["seal", "--cert", "CERT"],
        "apiVersion: v1\nkind: Secret\nmetadata: {name: e, namespace: a}\n",
        2,
        "has no data and no stringData",
    ),
    (["seal", "--cert", "CERT"], "{not yaml", 2, "<stdin>: is not valid YAML or JSON"),
    (["seal", "--cert", "missing.pem"], "", 2, "missing.pem: cannot be read"),
    (["unseal"], "", 2, "at least one --key is required"),
    (
        ["unseal", "--key", "KEY"],
        "kind: SealedSecret\napiVersion: bitnami.com/v1alpha1\nmetadata: {name: x, namespace: a}\nspec: {encryptedData: {k: AAE=}}\n",
        2,
        "SealedSecret data is too short",
    ),
    (["unseal", "--key", "OTHER"], "SEALED", 1, "no key could decrypt item 'api-key'"),
    (["unseal", "--key", "KEY"], "RENAMED", 1, "label mismatch"),
]


@pytest.mark.parametrize(
    "args, stdin, code, message",
    FAILURES,
    ids=[
        "no-cert",
        "raw-without-value",
        "empty-secret",
        "bad-yaml",
        "missing-cert-file",
        "no-key",
        "too-short",
        "wrong-key",
        "renamed",
    ],
)
def test_failures_exit_with_their_code_and_a_clear_message(
    key_files: tuple[Path, Path],
    other_sealing_key: KeyPair,
    tmp_path: Path,
    args: list[str],
    stdin: str,
    code: int,
    message: str,
) -> None:
    cert, key = key_files
    other = tmp_path / "other.yaml"
    other.write_text(other_sealing_key.secret_yaml)
    if stdin in ("SEALED", "RENAMED"):
        stdin = _run(["seal", "--cert", str(cert)], (SEALED_DATA / "secret-minimal.yaml").read_text()).stdout
        if stdin and args[-1] == "KEY":
            stdin = stdin.replace("name: app-config", "name: renamed", 1)
    subst = {"CERT": str(cert), "KEY": str(key), "OTHER": str(other)}
    result = _run([subst.get(a, a) for a in args], stdin)
    assert result.exit_code == code, result.output
    assert message in result.stderr
    assert result.stdout == ""


def test_an_expired_certificate_is_refused_by_the_cli(tmp_path: Path) -> None:
    import datetime as dt

    from fleet.secrets.sealed import keys

    _, pem = keys.generate_sealing_key(
        bits=2048, now=dt.datetime(2019, 3, 1, tzinfo=dt.UTC), ttl=dt.timedelta(days=1)
    )
    cert = tmp_path / "expired.pem"
    cert.write_bytes(pem)
    result = _run(["seal", "--cert", str(cert)], (SEALED_DATA / "secret-minimal.yaml").read_text())
    assert result.exit_code == 2
    assert "the certificate expired on 2019-03-02 00:00:00 UTC (NotAfter)" in result.stderr


def test_seal_for_a_registry_cluster_uses_its_certificate_annotation(
    tmp_path: Path, key_files: tuple[Path, Path]
) -> None:
    cert, key = key_files
    clusters = tmp_path / "clusters.yaml"
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": "cluster-east",
            "namespace": "argocd",
            "labels": {"argocd.argoproj.io/secret-type": "cluster"},
            "annotations": {sealed.CERT_ANNOTATION: str(cert)},
        },
        "stringData": {"name": "east", "server": "https://east.example", "config": "{}"},
    }
    clusters.write_text(yaml.safe_dump(secret))
    result = _run(
        ["seal", "--cluster", "east", "--clusters", str(clusters)],
        (SEALED_DATA / "secret-minimal.yaml").read_text(),
    )
    assert result.exit_code == 0, result.output
    opened = _run(["unseal", "--key", str(key)], result.stdout)
    assert base64.b64decode(yaml.safe_load(opened.stdout)["data"]["api-key"]) == b"key-0123456789"


def test_the_installed_console_script_seals_and_unseals(key_files: tuple[Path, Path]) -> None:
    cert, key = key_files
    fleet = Path(sys.executable).parent / "fleet"
    sealed_out = subprocess.run(
        [str(fleet), "secrets", "seal", "--cert", str(cert), str(SEALED_DATA / "secret-minimal.yaml")],
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout
    opened = subprocess.run(
        [str(fleet), "secrets", "unseal", "--key", str(key), "-o", "json"],
        input=sealed_out,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert opened.returncode == 0, opened.stderr
    assert base64.b64decode(json.loads(opened.stdout)["data"]["api-key"]) == b"key-0123456789"
