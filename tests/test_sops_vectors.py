"""Every decryptable SOPS vector decrypts to its expected plaintext, with each recipient alone.

The ``X.expected.json`` files list each leaf (path, AAD, type, value) in MAC order; the tests
compare the decrypted tree against them leaf by leaf, and the two byte-exact ``expected-output``
files against ``sops -d``'s output.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from fleet.secrets import sops
from fleet.secrets.sops import cipher, core, tree
from tests.fixtures.sops import AGE_RECIPIENTS, SopsEnv

DECRYPTABLE = [
    "format.enc.yaml",
    "format.enc.json",
    "multiple_keys.yaml",
    "comments.enc.yaml",
    "comments_unencrypted_comments.yaml",
    "all_in_one.secret.enc.json",
    "example.json",
    "age.example.json",
    "vault_example.yml",
    "legacy_v1.6.example.json",
]


def _leaves(decrypted: core.Decrypted) -> list[tuple[tuple[str, ...], Any]]:
    found: list[tuple[tuple[str, ...], Any]] = []

    def collect(leaf: tree.Leaf) -> Any:
        if not leaf.is_comment:
            found.append((leaf.path, leaf.value))
        return leaf.value

    tree.walk(decrypted.branches, tree.CryptRule(), collect)
    return found


@pytest.mark.parametrize("name", DECRYPTABLE)
def test_vector_decrypts_to_the_leaves_its_expected_json_lists(sops_env: SopsEnv, name: str) -> None:
    expected = json.loads((sops_env.vectors / f"{name}.expected.json").read_text())
    decrypted = sops.decrypt_document((sops_env.vectors / name).read_bytes(), file=name)
    assert decrypted.mac_verified
    leaves = _leaves(decrypted)
    assert [path for path, _ in leaves] == [tuple(leaf["path"]) for leaf in expected["leaves_in_mac_order"]]
    for (path, value), leaf in zip(leaves, expected["leaves_in_mac_order"], strict=True):
        assert value == leaf["value"], path
        assert cipher.to_bytes(value).decode() == leaf["mac_input"], path


@pytest.mark.parametrize("name", ["format.enc.yaml", "format.enc.json"])
def test_sops_decrypt_output_is_byte_exact(sops_env: SopsEnv, name: str) -> None:
    expected = (sops_env.vectors / f"{name}.expected-output").read_bytes()
    assert sops.decrypt_file(sops_env.vectors / name) == expected


@pytest.mark.parametrize("name", ["comments.enc.yaml", "comments_unencrypted_comments.yaml"])
def test_comments_come_back_in_clear_in_the_output(sops_env: SopsEnv, name: str) -> None:
    plain = (sops_env.vectors / "comments.plain.yaml").read_text()
    assert sops.decrypt_file(sops_env.vectors / name).decode() == plain.rstrip("\n") + "\n"


def test_encrypted_comments_decrypt_with_the_aad_of_their_mapping(sops_env: SopsEnv) -> None:
    expected = json.loads((sops_env.vectors / "comments.enc.yaml.expected.json").read_text())
    decrypted = sops.decrypt_document((sops_env.vectors / "comments.enc.yaml").read_bytes(), file="c.yaml")
    comments = [item.key.value for item in decrypted.branches[0] if isinstance(item.key, tree.Comment)]
    assert comments == [comment["plaintext"] for comment in expected["comments"]]


def test_vault_example_types_floats_bools_and_lists(sops_env: SopsEnv) -> None:
    decrypted = sops.decrypt_document((sops_env.vectors / "vault_example.yml").read_bytes(), file="v.yml")
    plain = decrypted.to_plain()[0]
    assert plain["example_number"] == 1234.5679
    assert plain["example_booleans"] == [True, False]
    assert plain["example_array"] == ["example_value1", "example_value2", "asdf"]
    assert "# Example comment\n" in decrypted.emit().decode()


# Each recipient alone: (file, gnupg home or None, age identity index or None)
ALONE = [
    pytest.param("multiple_keys.yaml", "k1", None, id="multiple_keys-K1-alone"),
    pytest.param("multiple_keys.yaml", "k2", None, id="multiple_keys-K2-alone"),
    pytest.param("example.json", "k1", None, id="example-K1-alone"),
    pytest.param("example.json", "k2", None, id="example-K2-alone"),
    pytest.param("all_in_one.secret.enc.json", "k1", None, id="all_in_one-K1-alone"),
    pytest.param("all_in_one.secret.enc.json", "k2", None, id="all_in_one-K2-alone"),
    pytest.param("vault_example.yml", "k2", None, id="vault_example-K2-alone"),
    pytest.param("age.example.json", None, 0, id="age-first-identity-alone"),
    pytest.param("age.example.json", None, 1, id="age-second-identity-alone"),
    pytest.param("legacy_v1.6.example.json", "legacy", None, id="legacy-2015-key-alone"),
]


@pytest.mark.parametrize("name, gnupg, age_index", ALONE)
def test_vector_decrypts_with_each_recipient_alone(
    sops_env: SopsEnv, tmp_path: Path, name: str, gnupg: str | None, age_index: int | None
) -> None:
    age_file = None
    if age_index is not None:
        age_file = tmp_path / "one-identity.txt"
        age_file.write_text(sops_env.age_identities()[age_index] + "\n")
    sops_env.use(gnupg=gnupg, age_key_file=age_file)
    expected = json.loads((sops_env.vectors / f"{name}.expected.json").read_text())
    decrypted = sops.decrypt_document((sops_env.vectors / name).read_bytes(), file=name)
    assert [value for _, value in _leaves(decrypted)] == [
        leaf["value"] for leaf in expected["leaves_in_mac_order"]
    ]


def test_age_recipients_of_the_age_vector_are_the_identities_of_the_key_file(sops_env: SopsEnv) -> None:
    _, _, meta = core.load_encrypted((sops_env.vectors / "age.example.json").read_bytes(), file="a.json")
    assert tuple(key.recipient for key in meta.groups()[0].age) == AGE_RECIPIENTS
    assert meta.groups()[0].pgp == []


@pytest.mark.parametrize("case", [0, 1], ids=["good-aad-decrypts", "empty-aad-fails"])
def test_aes_value_vector(sops_vectors: Path, case: int) -> None:
    vector = json.loads((sops_vectors / "aes_value_vectors.json").read_text())[case]
    key = bytes.fromhex(vector["key_hex"])
    if vector["plaintext"] is not None:
        assert cipher.decrypt_value(vector["value"], key, vector["aad"]) == vector["plaintext"]
    else:
        with pytest.raises(cipher.CipherError):
            cipher.decrypt_value(vector["value"], key, vector["aad"])


@pytest.mark.parametrize(
    "identity, opens",
    [("x25519_identity.txt", True), ("x25519_other_identity.txt", False)],
    ids=["own", "other"],
)
def test_age_unit_vector_opens_only_with_its_identity(sops_vectors: Path, identity: str, opens: bool) -> None:
    from fleet.secrets.sops.keys import KeyOptions, KeySourceError
    from fleet.secrets.sops.keys.age import AgeSource
    from fleet.secrets.sops.metadata import AgeKey

    unit = sops_vectors / "age-unit"
    source = AgeSource(KeyOptions(use_environment=False, age_identity_files=(str(unit / identity),)))
    key = AgeKey(
        recipient=(unit / "x25519_recipient.txt").read_text().strip(),
        enc=(unit / "x25519_encrypted_datakey.age").read_text(),
    )
    if opens:
        assert source.decrypt(key) == (unit / "x25519_encrypted_datakey.plain").read_bytes()
    else:
        with pytest.raises(KeySourceError, match="no matching age identity"):
            source.decrypt(key)
