"""The stores read and write files the way upstream sops does: typing, comments, layout.

YAML follows go-yaml v3 (``yes`` is a string, bare timestamps are times, octal ints, anchors
expanded, several documents), JSON keeps order and Go's number rules, dotenv splits at the first
``=``, INI follows go-ini. Each case round-trips a file through encryption and decryption.
"""

from __future__ import annotations

from typing import Any

import pytest

from fleet.secrets import sops
from fleet.secrets.sops import cipher, stores, tree
from fleet.secrets.sops.stores import flatten
from fleet.secrets.sops.stores import yaml as yaml_store
from tests.fixtures.sops import AGE_RECIPIENTS, SopsEnv

YAML_TYPES = [
    pytest.param("yes", "yes", id="yes-is-a-string"),
    pytest.param("on", "on", id="on-is-a-string"),
    pytest.param("True", True, id="True-is-a-bool"),
    pytest.param("0777", 511, id="leading-zero-is-octal"),
    pytest.param("0x1F", 31, id="hex"),
    pytest.param("1_000", 1000, id="underscores"),
    pytest.param("08", 8.0, id="invalid-octal-is-a-float"),
    pytest.param("1e3", 1000.0, id="exponent-float"),
    pytest.param(".5", 0.5, id="dot-float"),
    pytest.param("~", None, id="tilde-null"),
    pytest.param("2024-01-01", tree.GoTime("2024-01-01T00:00:00Z"), id="date-is-a-time"),
    pytest.param(
        "2006-01-02T15:04:05+07:06", tree.GoTime("2006-01-02T15:04:05+07:06"), id="timestamp-with-offset"
    ),
    pytest.param(
        "2024-01-01 10:00:00.500", tree.GoTime("2024-01-01T10:00:00.5Z"), id="space-separated-timestamp"
    ),
    pytest.param("'2024-01-01'", "2024-01-01", id="quoted-date-is-a-string"),
    pytest.param("!!str 12", "12", id="str-tag"),
    pytest.param("!!binary aGVsbG8=", "hello", id="binary-tag"),
]


@pytest.mark.parametrize("text, value", YAML_TYPES)
def test_yaml_scalars_are_typed_like_go_yaml_v3(text: str, value: Any) -> None:
    branch = yaml_store.load(f"key: {text}\n".encode())[0]
    assert branch.get("key") == value
    assert type(branch.get("key")) is type(value)


EMITTED = [
    pytest.param("yes", 'key: "yes"', id="old-bool-quoted"),
    pytest.param("123", 'key: "123"', id="number-like-string-quoted"),
    pytest.param("", 'key: ""', id="empty-string"),
    pytest.param(" lead", "key: ' lead'", id="leading-space-single-quoted"),
    pytest.param("a: b", "key: 'a: b'", id="colon-space-single-quoted"),
    pytest.param("tab\there", 'key: "tab\\there"', id="tab-double-quoted"),
    pytest.param("two\nlines", "key: |-\n    two\n    lines", id="multiline-literal"),
    pytest.param("end\n", "key: |\n    end", id="trailing-newline-literal"),
    pytest.param(1e6, "key: 1e+06", id="float-g-format"),
    pytest.param(25.0, "key: 25", id="integral-float"),
    pytest.param(tree.GoTime("2024-01-01T00:00:00Z"), "key: 2024-01-01T00:00:00Z", id="time"),
    pytest.param(
        "ENC[AES256_GCM,data:x,iv:y,tag:z,type:str]",
        "key: ENC[AES256_GCM,data:x,iv:y,tag:z,type:str]",
        id="enc-plain",
    ),
]


@pytest.mark.parametrize("value, text", EMITTED)
def test_yaml_scalars_are_written_like_go_yaml_v3(value: Any, text: str) -> None:
    assert yaml_store.emit([tree.Branch([tree.Item("key", value)])]).decode() == text + "\n"


def test_yaml_anchors_are_expanded_and_merge_key_kept_as_a_key() -> None:
    branch = yaml_store.load(b"base: &b\n    x: 1\ncopy: *b\nmerged:\n    <<: *b\n")[0]
    assert tree.to_plain(branch) == {"base": {"x": 1}, "copy": {"x": 1}, "merged": {"<<": {"x": 1}}}


def test_yaml_nested_layout_matches_go_yaml_v3() -> None:
    text = b"a:\n    b:\n        - x: 1\n          z:\n            - 2\n        - - nested\n    c: {}\n    d: []\n"
    assert yaml_store.emit(yaml_store.load(text)) == text


def test_yaml_comment_positions_round_trip() -> None:
    text = b"# head\na: 1 # inline\nb:\n    # nested head\n    c: 2\n    # nested foot\nlist:\n    # before item\n    - x\n# foot\n"
    assert yaml_store.emit(yaml_store.load(text)) == text


def test_yaml_multi_document_file_round_trips_with_metadata_in_each_document(sops_env: SopsEnv) -> None:
    text = b"a: one\n---\nb: two\n"
    encrypted = sops.encrypt_bytes(text, sops.EncryptOptions(age=AGE_RECIPIENTS[:1]), path="m.yaml")
    assert encrypted.count(b"\nsops:\n") == 2
    assert sops.decrypt_bytes(encrypted, path="m.yaml") == text


def test_yaml_comment_in_a_list_is_encrypted_as_a_list_item_and_left_out_of_the_mac(
    sops_env: SopsEnv,
) -> None:
    text = b"items:\n    # - commented@example.com\n    - real@example.com\n"
    encrypted = sops.encrypt_bytes(text, sops.EncryptOptions(age=AGE_RECIPIENTS[:1]), path="l.yaml")
    assert b"    - ENC[AES256_GCM," in encrypted and b"type:comment]" in encrypted
    assert sops.decrypt_bytes(encrypted, path="l.yaml") == text


JSON_NUMBERS = [
    pytest.param("3", 3, id="int"),
    pytest.param("1.0", 1.0, id="one-point-zero-is-a-float"),
    pytest.param("1e2", 100.0, id="exponent"),
    pytest.param("9223372036854775808", 9.223372036854776e18, id="beyond-int64-is-a-float"),
]


@pytest.mark.parametrize("text, value", JSON_NUMBERS)
def test_json_numbers_follow_go_rules(text: str, value: Any) -> None:
    branch = stores.store_for(stores.Format.JSON).load(f'{{"n": {text}}}'.encode(), file=None)[0]
    assert branch.get("n") == value and type(branch.get("n")) is type(value)


def test_json_output_escapes_like_go_and_keeps_order() -> None:
    branch = tree.Branch([tree.Item("z", "<a&b>"), tree.Item("a", 1.0), tree.Item("m", [])])
    assert (
        stores.store_for(stores.Format.JSON).emit_plain([branch])
        == b'{\n\t"z": "\\u003ca\\u0026b\\u003e",\n\t"a": 1,\n\t"m": []\n}\n'
    )


def test_dotenv_splits_at_the_first_equals_without_trimming() -> None:
    branch = stores.store_for(stores.Format.DOTENV).load(b"KEY =x\nB= y=z\n#c\nM=a\\nb\n", file=None)[0]
    assert [(item.key, item.value) for item in branch] == [
        ("KEY ", "x"),
        ("B", " y=z"),
        (tree.Comment("c"), None),
        ("M", "a\nb"),
    ]


def test_ini_reads_go_ini_syntax() -> None:
    text = b'top = 1\n; section note\n[s]\nk1: v1\nk2 = "quoted"\nk3 = a # trailing\nk4 = `raw # kept`\n'
    branch = stores.store_for(stores.Format.INI).load(text, file=None)[0]
    plain = tree.to_plain(branch)
    assert plain == {
        "DEFAULT": {"top": "1"},
        "s": {"k1": "v1", "k2": "quoted", "k3": "a", "k4": "raw # kept"},
    }
    section = branch.get("s")
    assert section[0].key == tree.Comment("section note")
    assert (section[3].key, section[4].key) == ("k3", tree.Comment("trailing"))


def test_ini_round_trip_keeps_sections_and_alignment(sops_env: SopsEnv) -> None:
    text = b"[db]\nuser     = admin\npassword = s3cr3t\n\n[api]\n; the token\ntoken = tok-123\n"
    encrypted = sops.encrypt_bytes(text, sops.EncryptOptions(age=AGE_RECIPIENTS[:1]), path="a.ini")
    assert b"\n[sops]\n" in encrypted and b"; ENC[AES256_GCM," in encrypted
    assert sops.decrypt_bytes(encrypted, path="a.ini") == text


def test_flattened_metadata_round_trips_and_rejects_gaps() -> None:
    nested = tree.from_plain({"pgp": [{"enc": "E", "fp": "F"}], "mac": "M"})
    flat = flatten.flatten(nested)
    assert [item.key for item in flat] == ["pgp__list_0__map_enc", "pgp__list_0__map_fp", "mac"]
    assert tree.to_plain(flatten.unflatten(flat)) == {"mac": "M", "pgp": [{"enc": "E", "fp": "F"}]}
    with pytest.raises(flatten.FlattenError, match="incomplete list"):
        flatten.unflatten(tree.Branch([tree.Item("pgp__list_1__map_fp", "F")]))


def test_binary_file_keeps_every_byte(sops_env: SopsEnv) -> None:
    data = bytes(range(256))
    encrypted = sops.encrypt_bytes(data, sops.EncryptOptions(age=AGE_RECIPIENTS[:1]), path="blob.bin")
    assert encrypted.startswith(b'{\n\t"data": "ENC[AES256_GCM,')
    assert sops.decrypt_bytes(encrypted, path="blob.bin") == data


FLOATS = [
    (25.4, "25.4"),
    (1e9, "1000000000"),
    (1234.5679, "1234.5679"),
    (1e16, "10000000000000000"),
    (1e-7, "0.0000001"),
    (-0.0, "-0"),
]


@pytest.mark.parametrize("value, text", FLOATS, ids=[text for _, text in FLOATS])
def test_floats_are_hashed_and_encrypted_in_go_f_format(value: float, text: str) -> None:
    assert cipher.to_bytes(value) == text.encode()
