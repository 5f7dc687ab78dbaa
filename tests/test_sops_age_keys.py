"""age identities are found where sops looks for them, and each place works on its own.

``SOPS_AGE_KEY`` (several keys, whitespace-separated), ``SOPS_AGE_KEY_FILE``, ``SOPS_AGE_KEY_CMD``,
``$XDG_CONFIG_HOME/sops/age/keys.txt`` and ``~/.config/sops/age/keys.txt``, SSH keys
(``SOPS_AGE_SSH_PRIVATE_KEY_FILE``, ``~/.ssh/id_ed25519``) and passphrase-protected identity files.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import pyrage
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from fleet.secrets import sops
from tests.fixtures.sops import AGE_RECIPIENTS, SopsEnv

PLAIN = b"token: age-s3cret\n"


@pytest.fixture
def encrypted(sops_env: SopsEnv) -> bytes:
    return sops.encrypt_bytes(PLAIN, sops.EncryptOptions(age=AGE_RECIPIENTS[1:]), path="a.yaml")


def _keys_file(sops_env: SopsEnv, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(sops_env.age_keys.read_text())
    return path


def test_sops_age_key_takes_several_keys_separated_by_whitespace(sops_env: SopsEnv, encrypted: bytes) -> None:
    first, second = sops_env.age_identities()
    sops_env.use(gnupg=None, age_key=f"  {first}\n\t{second} ")
    assert sops.decrypt_bytes(encrypted, path="a.yaml") == PLAIN


def test_xdg_config_home_keys_file_is_read(sops_env: SopsEnv, encrypted: bytes, tmp_path: Path) -> None:
    sops_env.use(gnupg=None)
    config = tmp_path / "xdg"
    _keys_file(sops_env, config / "sops" / "age" / "keys.txt")
    sops_env.monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    assert sops.decrypt_bytes(encrypted, path="a.yaml") == PLAIN


def test_home_config_keys_file_is_read_without_xdg(sops_env: SopsEnv, encrypted: bytes) -> None:
    sops_env.use(gnupg=None)
    _keys_file(sops_env, sops_env.home / ".config" / "sops" / "age" / "keys.txt")
    assert sops.decrypt_bytes(encrypted, path="a.yaml") == PLAIN


def test_sops_age_key_cmd_output_is_read(sops_env: SopsEnv, encrypted: bytes) -> None:
    sops_env.use(gnupg=None)
    command = f"{shlex.quote(sys.executable)} -c 'import sys; sys.stdout.write(open(sys.argv[1]).read())' {shlex.quote(str(sops_env.age_keys))}"
    sops_env.monkeypatch.setenv("SOPS_AGE_KEY_CMD", command)
    assert sops.decrypt_bytes(encrypted, path="a.yaml") == PLAIN


def _ssh_key(path: Path) -> str:
    key = ed25519.Ed25519PrivateKey.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
        )
    )
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        .decode()
    )


@pytest.mark.parametrize("where", ["env-file", "home-id_ed25519"])
def test_ssh_ed25519_identities_decrypt_files_for_ssh_recipients(
    sops_env: SopsEnv, tmp_path: Path, where: str
) -> None:
    sops_env.use(gnupg=None)
    if where == "env-file":
        public = _ssh_key(tmp_path / "deploy_key")
        sops_env.monkeypatch.setenv("SOPS_AGE_SSH_PRIVATE_KEY_FILE", str(tmp_path / "deploy_key"))
    else:
        public = _ssh_key(sops_env.home / ".ssh" / "id_ed25519")
    encrypted = sops.encrypt_bytes(PLAIN, sops.EncryptOptions(age=(public,)), path="s.yaml")
    assert b"recipient: ssh-ed25519 " in encrypted
    assert sops.decrypt_bytes(encrypted, path="s.yaml") == PLAIN


def test_passphrase_protected_identity_file_needs_the_passphrase(
    sops_env: SopsEnv, encrypted: bytes, tmp_path: Path
) -> None:
    protected = tmp_path / "keys.age"
    protected.write_bytes(pyrage.passphrase.encrypt(sops_env.age_keys.read_bytes(), "correct horse"))
    sops_env.use(gnupg=None, age_key_file=protected)
    with pytest.raises(sops.NoKeyError, match="passphrase-protected; set FLEET_SOPS_AGE_PASSPHRASE"):
        sops.decrypt_bytes(encrypted, path="a.yaml")
    sops_env.monkeypatch.setenv("FLEET_SOPS_AGE_PASSPHRASE", "wrong")
    with pytest.raises(sops.NoKeyError, match="incorrect passphrase"):
        sops.decrypt_bytes(encrypted, path="a.yaml")
    sops_env.monkeypatch.setenv("FLEET_SOPS_AGE_PASSPHRASE", "correct horse")
    assert sops.decrypt_bytes(encrypted, path="a.yaml") == PLAIN


def test_malformed_identity_is_reported_without_echoing_it(
    sops_env: SopsEnv, encrypted: bytes, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text("AGE-SECRET-KEY-1NOTAREALKEYATALL\n")
    sops_env.use(gnupg=None, age_key_file=bad)
    with pytest.raises(sops.NoKeyError) as caught:
        sops.decrypt_bytes(encrypted, path="a.yaml")
    assert "malformed age X25519 identity" in str(caught.value)
    assert "NOTAREALKEY" not in str(caught.value)
