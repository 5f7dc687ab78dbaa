"""``fleet secrets decrypt`` and ``fleet secrets encrypt``: outputs, files, exit codes, messages.

Through ``typer.testing.CliRunner`` on ``fleet.cli.app``, plus one real subprocess of the
installed ``fleet`` command so the console entry point is covered too.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from fleet.cli import app
from tests.fixtures.sops import AGE_RECIPIENTS, K1, SopsEnv

runner = CliRunner()


def _run(*args: str, stdin: bytes | None = None) -> object:
    return runner.invoke(app, ["secrets", *args], input=stdin)


def test_decrypt_prints_the_plaintext_in_the_files_own_format(sops_env: SopsEnv) -> None:
    result = _run("decrypt", str(sops_env.vectors / "format.enc.json"))
    assert result.exit_code == 0, result.stderr
    assert result.stdout_bytes == (sops_env.vectors / "format.enc.json.expected-output").read_bytes()


def test_decrypt_writes_output_file_readable_only_by_its_owner(sops_env: SopsEnv, tmp_path: Path) -> None:
    target = tmp_path / "plain.yaml"
    result = _run("decrypt", str(sops_env.vectors / "format.enc.yaml"), "--output", str(target))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert target.read_bytes() == b"foo: bar\n"
    assert target.stat().st_mode & 0o777 == 0o600


def test_decrypt_reads_stdin_with_an_input_type(sops_env: SopsEnv) -> None:
    data = (sops_env.vectors / "age.example.json").read_bytes()
    result = _run("decrypt", "-", "--input-type", "json", stdin=data)
    assert result.exit_code == 0, result.stderr
    assert '"firstName": "John"' in result.stdout


FAILURES = [
    pytest.param("neg_nokey.config_example.yaml", 1, "no key could decrypt the data key", id="no-key"),
    pytest.param("neg_plain.plainfile.yaml", 2, "sops metadata not found", id="not-encrypted"),
    pytest.param("missing.yaml", 2, "no such file", id="missing-file"),
]


@pytest.mark.parametrize("name, code, message", FAILURES)
def test_decrypt_failures_exit_with_a_clear_message(
    sops_env: SopsEnv, name: str, code: int, message: str
) -> None:
    result = _run("decrypt", str(sops_env.vectors / name))
    assert result.exit_code == code
    assert message in result.stderr
    assert result.stderr.startswith("error: ")
    assert result.stdout == ""


def test_decrypt_mac_mismatch_exits_1_without_plaintext(sops_env: SopsEnv, tmp_path: Path) -> None:
    text = (
        (sops_env.vectors / "vault_example.yml")
        .read_text()
        .replace("example_booleans:", "extra_unencrypted: 1\nexample_booleans:")
    )
    path = tmp_path / "altered.yml"
    path.write_text(text)
    result = _run("decrypt", str(path))
    assert result.exit_code == 1
    assert "MAC mismatch" in result.stderr and "altered.yml" in result.stderr
    assert "Welcome to SOPS" not in result.stderr + result.stdout


def test_encrypt_then_decrypt_round_trips_through_files(sops_env: SopsEnv, tmp_path: Path) -> None:
    source = tmp_path / "secret.yaml"
    source.write_text("user: admin\npassword: pa55\n")
    encrypted = tmp_path / "secret.enc.yaml"
    result = _run(
        "encrypt", str(source), "--age", ",".join(AGE_RECIPIENTS), "--pgp", K1, "--output", str(encrypted)
    )
    assert result.exit_code == 0, result.stderr
    meta = yaml.safe_load(encrypted.read_text())["sops"]
    assert [entry["recipient"] for entry in meta["age"]] == list(AGE_RECIPIENTS)
    assert [entry["fp"] for entry in meta["pgp"]] == [K1]
    assert "pa55" not in encrypted.read_text()
    result = _run("decrypt", str(encrypted))
    assert result.stdout == "user: admin\npassword: pa55\n"


def test_encrypt_in_place_with_rule_and_key_groups(sops_env: SopsEnv, tmp_path: Path) -> None:
    source = tmp_path / "app.env"
    source.write_text("DB_PASSWORD=s3cr3t\nDB_HOST=db.local\n")
    result = _run(
        "encrypt", str(source), "--in-place", "--encrypted-regex", "PASSWORD",
        "--key-group", f"age:{AGE_RECIPIENTS[0]}", "--key-group", f"pgp:{K1},age:{AGE_RECIPIENTS[1]}",
        "--shamir-secret-sharing-threshold", "2",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    text = source.read_text()
    assert "DB_HOST=db.local\n" in text and "DB_PASSWORD=ENC[AES256_GCM," in text
    assert "sops_shamir_threshold=2\n" in text and "sops_encrypted_regex=PASSWORD\n" in text
    assert _run("decrypt", str(source)).stdout == "DB_PASSWORD=s3cr3t\nDB_HOST=db.local\n"


@pytest.mark.parametrize(
    "args, message",
    [
        pytest.param(
            ["--encrypted-regex", "a", "--unencrypted-suffix", "b"], "at most one of", id="two-rules"
        ),
        pytest.param([], "no recipients", id="no-recipient"),
        pytest.param(["--key-group", "ssh:x"], "is not TYPE:RECIPIENT", id="bad-key-group"),
        pytest.param(["--encrypted-regex", "("], "invalid regular expression", id="bad-regex"),
        pytest.param(["--age", "age1notarecipient"], "failed to parse age recipient", id="bad-age-recipient"),
        pytest.param(
            ["--age", "bogus", "-i"], "unknown age recipient type: 'bogus'", id="unknown-age-recipient"
        ),
        pytest.param(["--kms", "not-an-arn"], "no valid ARN found in 'not-an-arn'", id="bad-kms-arn"),
        pytest.param(
            ["--hc-vault-transit", "vault/transit/x"], "missing scheme in Vault URL", id="bad-vault-uri"
        ),
    ],
)
def test_encrypt_bad_options_exit_2(sops_env: SopsEnv, tmp_path: Path, args: list[str], message: str) -> None:
    source = tmp_path / "a.yaml"
    source.write_text("a: b\n")
    result = _run("encrypt", str(source), *args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert source.read_text() == "a: b\n"


def test_encrypt_refuses_an_already_encrypted_file(sops_env: SopsEnv) -> None:
    result = _run("encrypt", str(sops_env.vectors / "format.enc.yaml"), "--age", AGE_RECIPIENTS[0])
    assert result.exit_code == 2
    assert "already encrypted" in result.stderr


def test_installed_fleet_command_decrypts_with_keys_from_the_environment(sops_env: SopsEnv) -> None:
    fleet = Path(sys.executable).parent / "fleet"
    completed = subprocess.run(
        [str(fleet), "secrets", "decrypt", str(sops_env.vectors / "age.example.json")],
        capture_output=True,
        env=dict(os.environ),
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    assert b'"lastName": "Smith"' in completed.stdout
