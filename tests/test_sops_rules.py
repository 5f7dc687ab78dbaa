"""Crypt rules: which values are encrypted, for every rule sops knows, and the MAC modes.

Each case encrypts the same document under one rule, checks which leaves came out as ENC
values and that fleet decrypts the file back; ``mac_only_encrypted`` is checked by changing a
clear value afterwards (allowed) and an encrypted one (refused).
"""

from __future__ import annotations

import re

import pytest
import yaml

from fleet.secrets import sops
from fleet.secrets.sops import tree
from tests.fixtures.sops import AGE_RECIPIENTS, SopsEnv

DOCUMENT = b"""\
name: web
password: hunter22
db_unencrypted:
    host: db.local
    secret: also-clear
api:
    token_enc: tok-123
    url: https://api
# sops:enc
signing_key: k-456
public_key: pk-789
"""

RULES = [
    pytest.param(
        None,
        {"name", "password", "api.token_enc", "api.url", "signing_key", "public_key"},
        id="default-unencrypted-suffix",
    ),
    pytest.param(
        sops.CryptRule(sops.RuleKind.UNENCRYPTED_SUFFIX, "_url"),
        {
            "name",
            "password",
            "db_unencrypted.host",
            "db_unencrypted.secret",
            "api.token_enc",
            "api.url",
            "signing_key",
            "public_key",
        },
        id="unencrypted-suffix",
    ),
    pytest.param(
        sops.CryptRule(sops.RuleKind.ENCRYPTED_SUFFIX, "_enc"), {"api.token_enc"}, id="encrypted-suffix"
    ),
    pytest.param(
        sops.CryptRule(sops.RuleKind.ENCRYPTED_REGEX, "^(password|api|signing_key)$"),
        {"password", "api.token_enc", "api.url", "signing_key"},
        id="encrypted-regex-whole-subtree",
    ),
    pytest.param(
        sops.CryptRule(sops.RuleKind.UNENCRYPTED_REGEX, "^(name|public_.*|db_.*)$"),
        {"password", "api.token_enc", "api.url", "signing_key"},
        id="unencrypted-regex",
    ),
    pytest.param(
        sops.CryptRule(sops.RuleKind.ENCRYPTED_COMMENT_REGEX, "sops:enc"),
        {"signing_key"},
        id="encrypted-comment-regex",
    ),
    pytest.param(
        sops.CryptRule(sops.RuleKind.UNENCRYPTED_COMMENT_REGEX, "sops:enc"),
        {
            "name",
            "password",
            "db_unencrypted.host",
            "db_unencrypted.secret",
            "api.token_enc",
            "api.url",
            "public_key",
        },
        id="unencrypted-comment-regex",
    ),
]


def _encrypted_paths(text: str) -> set[str]:
    doc = yaml.safe_load(text)
    doc.pop("sops")
    found = set()

    def walk(value: object, path: str) -> None:
        if isinstance(value, dict):
            for key, element in value.items():
                walk(element, f"{path}.{key}" if path else key)
        elif isinstance(value, str) and value.startswith("ENC[AES256_GCM,"):
            found.add(path)

    walk(doc, "")
    return found


@pytest.mark.parametrize("rule, encrypted", RULES)
def test_rule_encrypts_exactly_the_selected_values(
    sops_env: SopsEnv, rule: sops.CryptRule | None, encrypted: set[str]
) -> None:
    out = sops.encrypt_bytes(
        DOCUMENT, sops.EncryptOptions(age=AGE_RECIPIENTS[:1], rule=rule), path="r.yaml"
    ).decode()
    assert _encrypted_paths(out) == encrypted
    meta = yaml.safe_load(out)["sops"]
    expected_rule = rule or sops.CryptRule()
    assert meta[expected_rule.kind.value] == expected_rule.value
    assert [name for name in meta if name in {kind.value for kind in sops.RuleKind}] == [
        expected_rule.kind.value
    ]
    assert sops.decrypt_bytes(out.encode(), path="r.yaml") == DOCUMENT


def test_comment_that_enables_encryption_stays_in_clear(sops_env: SopsEnv) -> None:
    rule = sops.CryptRule(sops.RuleKind.ENCRYPTED_COMMENT_REGEX, "sops:enc")
    out = sops.encrypt_bytes(
        DOCUMENT, sops.EncryptOptions(age=AGE_RECIPIENTS[:1], rule=rule), path="r.yaml"
    ).decode()
    assert "\n# sops:enc\nsigning_key: ENC[" in out


def test_inline_comment_selects_the_value_it_follows(sops_env: SopsEnv) -> None:
    rule = sops.CryptRule(sops.RuleKind.ENCRYPTED_COMMENT_REGEX, "sops:enc")
    out = sops.encrypt_bytes(
        b"a: 1\nb: two # sops:enc\nc: 3\n",
        sops.EncryptOptions(age=AGE_RECIPIENTS[:1], rule=rule),
        path="i.yaml",
    )
    assert _encrypted_paths(out.decode()) == {"b"}
    assert sops.decrypt_bytes(out, path="i.yaml") == b"a: 1\nb: two # sops:enc\nc: 3\n"


@pytest.mark.parametrize(
    "mac_only_encrypted, clear_change_allowed",
    [(False, False), (True, True)],
    ids=["mac-over-all", "mac-only-encrypted"],
)
def test_mac_covers_clear_values_unless_mac_only_encrypted(
    sops_env: SopsEnv, mac_only_encrypted: bool, clear_change_allowed: bool
) -> None:
    options = sops.EncryptOptions(age=AGE_RECIPIENTS[:1], mac_only_encrypted=mac_only_encrypted)
    out = sops.encrypt_bytes(DOCUMENT, options, path="m.yaml").decode()
    assert ("mac_only_encrypted: true" in out) is mac_only_encrypted
    edited = out.replace("    host: db.local", "    host: db.other")
    if clear_change_allowed:
        assert b"host: db.other" in sops.decrypt_bytes(edited.encode(), path="m.yaml")
    else:
        with pytest.raises(sops.MacMismatchError):
            sops.decrypt_bytes(edited.encode(), path="m.yaml")
    # moving an encrypted value to another key is always refused
    value = re.search(r"(?m)^password: (ENC\[.*\])$", out).group(1)  # type: ignore[union-attr]
    swapped = re.sub(r"(?m)^name: .*$", f"name: {value}", out)
    with pytest.raises(sops.DecryptionError, match="at name"):
        sops.decrypt_bytes(swapped.encode(), path="m.yaml")


def test_mac_only_encrypted_starts_from_the_fixed_prefix(sops_env: SopsEnv) -> None:
    import hashlib

    from fleet.secrets.sops import cipher

    mac = cipher.Mac(only_encrypted=True)
    mac.add("secret", encrypted=True)
    mac.add("clear", encrypted=False)
    expected = hashlib.sha512(hashlib.sha256(b"sops").digest() + b"secret").hexdigest().upper()
    assert mac.hexdigest() == expected


def test_two_rules_are_refused_on_the_command_line_and_in_files(sops_env: SopsEnv) -> None:
    assert tree.CryptRule().kind is sops.RuleKind.UNENCRYPTED_SUFFIX
    with pytest.raises(sops.MetadataError, match="more than one"):
        sops.decrypt_bytes(
            b"a: 1\nsops:\n    lastmodified: '2024-01-01T00:00:00Z'\n    encrypted_regex: a\n    encrypted_suffix: b\n"
            b"    age:\n        - recipient: age1x\n          enc: x\n",
            path="two.yaml",
        )
