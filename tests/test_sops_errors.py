"""SOPS files that cannot be decrypted fail with a clear error naming the file, never a value.

Covers the negative vectors, tampered values and MACs, missing keys, keys fleet cannot use,
invalid metadata and invalid syntax. Every message is checked for the plaintext it must not hold.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from fleet import errors as fleet_errors
from fleet.secrets import sops
from fleet.secrets.sops import cipher
from tests.fixtures.sops import SopsEnv


def _replace_value(text: str, key: str, new_value: str) -> str:
    return re.sub(rf"(?m)^({re.escape(key)}: )ENC\[[^\n]*\]$", rf"\g<1>{new_value}", text)


def test_file_without_available_key_lists_the_recipients_tried(sops_env: SopsEnv) -> None:
    with pytest.raises(sops.NoKeyError) as caught:
        sops.decrypt_file(sops_env.vectors / "neg_nokey.config_example.yaml")
    message = str(caught.value)
    assert "neg_nokey.config_example.yaml" in message
    assert "no key could decrypt the data key" in message
    assert "pgp E5297818703249D0C60E19E6824612478D1A4CCD" in message
    assert caught.value.exit_code == fleet_errors.ExitCode.FAILED


def test_plain_file_is_reported_as_not_encrypted(sops_env: SopsEnv) -> None:
    with pytest.raises(sops.NotEncryptedError, match="sops metadata not found") as caught:
        sops.decrypt_file(sops_env.vectors / "neg_plain.plainfile.yaml")
    assert "neg_plain.plainfile.yaml" in str(caught.value)


def test_age_file_without_any_identity_says_where_it_looked(sops_env: SopsEnv) -> None:
    sops_env.use(gnupg=None, age_key_file=None)
    with pytest.raises(sops.NoKeyError) as caught:
        sops.decrypt_file(sops_env.vectors / "age.example.json")
    message = str(caught.value)
    assert "age age1yt3tfqlfrwdwx0z0ynwplcr6qxcxfaqycuprpmy89nr83ltx74tqdpszlw" in message
    assert "age age1tmaae3ld5vpevmsh5yacsauzx8jetg300mpvc4ugp5zr5l6ssq9sla97ep" in message
    assert "SOPS_AGE_KEY_FILE" in message


TAMPERING = [
    pytest.param("value-swapped", id="two-values-swapped-between-keys"),
    pytest.param("value-removed", id="a-value-removed"),
    pytest.param("clear-value-changed", id="a-clear-value-changed"),
    pytest.param("mac-replaced", id="the-mac-replaced"),
    pytest.param("lastmodified-changed", id="lastmodified-changed"),
    pytest.param("mac-removed", id="no-mac"),
]


@pytest.mark.parametrize("how", TAMPERING)
def test_tampered_file_fails_and_the_error_holds_no_plaintext(
    sops_env: SopsEnv, tmp_path: Path, how: str
) -> None:
    original = (sops_env.vectors / "age.example.json").read_text()
    data = json.loads(original)
    if how == "value-swapped":
        data["firstName"], data["lastName"] = data["lastName"], data["firstName"]
    elif how == "value-removed":
        del data["lastName"]
    elif how == "clear-value-changed":
        data["anEmptyValue"] = ""
        data["note_unencrypted"] = "added later"
    elif how == "mac-replaced":
        other = json.loads((sops_env.vectors / "example.json").read_text())
        data["sops"]["mac"] = other["sops"]["mac"]
    elif how == "lastmodified-changed":
        data["sops"]["lastmodified"] = "2030-01-01T00:00:00Z"
    elif how == "mac-removed":
        del data["sops"]["mac"]
    path = tmp_path / "tampered.json"
    path.write_text(json.dumps(data))
    expected_error = sops.DecryptionError if how == "value-swapped" else sops.MacMismatchError
    with pytest.raises(expected_error) as caught:
        sops.decrypt_file(path)
    message = str(caught.value)
    assert "tampered.json" in message
    for plaintext in ("John", "Smith", "New York", "212 555-1234"):
        assert plaintext not in message
    assert caught.value.exit_code == fleet_errors.ExitCode.FAILED


def test_value_altered_in_place_fails_its_authentication(sops_env: SopsEnv, tmp_path: Path) -> None:
    text = (sops_env.vectors / "vault_example.yml").read_text()
    key = bytes.fromhex(
        json.loads((sops_env.vectors / "vault_example.yml.expected.json").read_text())["data_key_hex"]
    )
    forged = cipher.encrypt_value("forged", key, "example_key:")
    path = tmp_path / "forged.yaml"
    path.write_text(_replace_value(text, "example_key", forged))
    with pytest.raises(sops.MacMismatchError, match="MAC mismatch"):
        sops.decrypt_file(path)


def test_ignore_mac_lets_a_mismatching_file_decrypt(sops_env: SopsEnv, tmp_path: Path) -> None:
    data = json.loads((sops_env.vectors / "age.example.json").read_text())
    data["extra_unencrypted"] = "x"
    path = tmp_path / "extra.json"
    path.write_text(json.dumps(data))
    assert b'"extra_unencrypted": "x"' in sops.decrypt_file(path, ignore_mac=True)


def _metadata_only(tmp_path: Path, sops_block: str) -> Path:
    path = tmp_path / "meta.yaml"
    path.write_text(
        "secret: ENC[AES256_GCM,data:oYyi,iv:MyIDYbT718JRr11QtBkcj3Dwm4k1aCGZBVeZf0EyV8o=,tag:t5z2Z023Up0kxwCgw1gNxg==,type:str]\n"
        + sops_block
    )
    return path


GCP_ONLY = """sops:
    gcp_kms:
        - resource_id: projects/p/locations/global/keyRings/r/cryptoKeys/k
          created_at: "2024-01-01T00:00:00Z"
          enc: CiQAx
    lastmodified: "2024-01-01T00:00:00Z"
    mac: ENC[AES256_GCM,data:oYyi,iv:MyIDYbT718JRr11QtBkcj3Dwm4k1aCGZBVeZf0EyV8o=,tag:t5z2Z023Up0kxwCgw1gNxg==,type:str]
    version: 3.13.1
"""


def test_file_with_only_unusable_keys_fails_cleanly(sops_env: SopsEnv, tmp_path: Path) -> None:
    with pytest.raises(sops.UnusableKeysError) as caught:
        sops.decrypt_file(_metadata_only(tmp_path, GCP_ONLY))
    assert "gcp_kms projects/p/locations/global/keyRings/r/cryptoKeys/k" in str(caught.value)
    assert "not supported" in str(caught.value)


BAD_METADATA = [
    pytest.param(
        GCP_ONLY.replace(
            "version: 3.13.1", "version: 3.13.1\n    encrypted_regex: a\n    unencrypted_suffix: b"
        ),
        "more than one of",
        id="two-crypt-rules",
    ),
    pytest.param(
        'sops:\n    lastmodified: "2024-01-01T00:00:00Z"\n    mac: x\n', "no keys found", id="no-keys"
    ),
    pytest.param(
        GCP_ONLY.replace('"2024-01-01T00:00:00Z"\n    mac', '"yesterday"\n    mac'),
        "lastmodified",
        id="bad-lastmodified",
    ),
    pytest.param("sops: just a string\n", "not a mapping", id="sops-not-a-mapping"),
]


@pytest.mark.parametrize("block, message", BAD_METADATA)
def test_invalid_metadata_is_bad_input_naming_the_field(
    sops_env: SopsEnv, tmp_path: Path, block: str, message: str
) -> None:
    with pytest.raises(sops.MetadataError, match=message) as caught:
        sops.decrypt_file(_metadata_only(tmp_path, block))
    assert "meta.yaml" in str(caught.value)
    assert caught.value.exit_code == fleet_errors.ExitCode.BAD_INPUT


INVALID_SYNTAX = [
    pytest.param("bad.yaml", "a: [unclosed\n", "error unmarshaling input YAML", id="yaml"),
    pytest.param("bad.yaml", "a: 1\na: 2\n", "already defined", id="yaml-duplicate-key"),
    pytest.param("bad.yaml", "- a\n- b\n", "sequences are not supported", id="yaml-sequence-document"),
    pytest.param("bad.json", '{"a": ', "could not unmarshal", id="json"),
    pytest.param("bad.json", "[1, 2]", "top-level object", id="json-array"),
    pytest.param("bad.env", "NOEQUALS\n", "invalid dotenv input line", id="dotenv"),
    pytest.param("bad.ini", "[unclosed\n", "unclosed section", id="ini"),
]


@pytest.mark.parametrize("name, content, message", INVALID_SYNTAX)
def test_invalid_syntax_is_bad_input_naming_the_file(
    sops_env: SopsEnv, tmp_path: Path, name: str, content: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(sops.FormatError, match=message) as caught:
        sops.decrypt_file(path)
    assert name in str(caught.value)
    assert caught.value.exit_code == fleet_errors.ExitCode.BAD_INPUT


def test_unknown_input_type_is_bad_input(sops_env: SopsEnv) -> None:
    with pytest.raises(sops.FormatError, match="unknown format 'toml'"):
        sops.decrypt_file(sops_env.vectors / "format.enc.yaml", fmt="toml")
