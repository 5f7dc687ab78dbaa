"""Re-encrypting a vector with its own data key reproduces its leaf, AAD and MAC structure.

Each vector is decrypted, then encrypted again by ``core.encrypt_branches`` with the data key
and rules from its ``expected.json``; every leaf must come out encrypted (or not) exactly as the
vector lists it, with the same type, opening with the listed AAD to the listed MAC input, and the
new MAC must equal the vector's computed MAC. This checks fleet's encryption against what real
sops wrote, not against fleet's own decryption.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from fleet.secrets import sops
from fleet.secrets.sops import cipher, core, tree
from tests.fixtures.sops import SopsEnv
from tests.test_sops_vectors import DECRYPTABLE


def _leaves(branches: list[tree.Branch]) -> list[tuple[str, Any, bool]]:
    found: list[tuple[str, Any, bool]] = []

    def collect(leaf: tree.Leaf) -> Any:
        found.append((leaf.aad, leaf.value, leaf.is_comment))
        return leaf.value

    tree.walk(branches, tree.CryptRule(tree.RuleKind.ENCRYPTED_SUFFIX, "\0"), collect)
    return found


@pytest.mark.parametrize("name", DECRYPTABLE)
def test_reencrypting_a_vector_with_its_data_key_matches_its_structure(sops_env: SopsEnv, name: str) -> None:
    expected = json.loads((sops_env.vectors / f"{name}.expected.json").read_text())
    data_key = bytes.fromhex(expected["data_key_hex"])
    decrypted = sops.decrypt_document((sops_env.vectors / name).read_bytes(), file=name)
    result = core.encrypt_branches(
        decrypted.branches,
        data_key,
        rule=decrypted.metadata.crypt_rule(),
        mac_only_encrypted=decrypted.metadata.mac_only_encrypted,
        lastmodified=expected["lastmodified"],
    )
    assert result.mac == expected["mac_computed"] == expected["mac_stored"]
    assert (
        cipher.decrypt_value(result.encrypted_mac, data_key, expected["lastmodified"])
        == expected["mac_computed"]
    )

    leaves = _leaves(decrypted.branches)
    values = [(aad, value) for aad, value, is_comment in leaves if not is_comment]
    assert len(values) == len(expected["leaves_in_mac_order"])
    for (aad, value), leaf in zip(values, expected["leaves_in_mac_order"], strict=True):
        assert aad == leaf["aad"]
        is_enc = cipher.is_encrypted_value(value)
        assert is_enc == (leaf["encrypted"] and leaf["mac_input"] != ""), leaf["path"]
        if is_enc:
            assert value.endswith(f",type:{leaf['type']}]")
            opened = cipher.decrypt_value(value, data_key, leaf["aad"])
            assert cipher.to_bytes(opened).decode() == leaf["mac_input"]

    comments = [(aad, value) for aad, value, is_comment in leaves if is_comment]
    encrypted_comments = [(aad, c) for aad, c in comments if cipher.is_encrypted_value(c.value)]
    opened_comments = [
        (aad, cipher.decrypt_value(c.value, data_key, aad).value) for aad, c in encrypted_comments
    ]
    assert len(encrypted_comments) == len(comments), "every comment is encrypted now"
    if expected["comments"]:
        assert opened_comments == [(comment["aad"], comment["plaintext"]) for comment in expected["comments"]]
    else:  # an old file whose comments were left in clear: encrypted now, as current sops does
        assert all(aad == ":" for aad, _ in opened_comments)
