"""Reference syntax, as vals (helmfile) defines it: whole and embedded references, the query, the
fragment and the trailing ``+`` terminator; malformed references fail naming themselves."""

from __future__ import annotations

import base64
import pickle

import pytest

from fleet import errors
from fleet.secrets import refs

# (text, expected [(scheme, path, query, fragment)] in order)
FIND_CASES = [
    ("whole-vault", "ref+vault://kv/data/db#/password", [("vault", "kv/data/db", (), ("password",))]),
    ("whole-without-fragment", "ref+vault://kv/data/db/password", [("vault", "kv/data/db/password", (), ())]),
    (
        "embedded-with-terminator",
        "postgres://app:ref+vault://kv/data/db#/password+@db:5432",
        [("vault", "kv/data/db", (), ("password",))],
    ),
    (
        "two-embedded-separated-by-spaces",
        "a ref+echo://x/y b ref+echo://c/d",
        [("echo", "x/y", (), ()), ("echo", "c/d", (), ())],
    ),
    (
        "two-adjacent-with-terminators",
        "ref+echo://x/y+ref+echo://c/d+",
        [("echo", "x/y", (), ()), ("echo", "c/d", (), ())],
    ),
    (
        "query-parameters",
        "ref+awssecrets://app/db?region=eu-west-1&version_stage=AWSPREVIOUS#/user",
        [("awssecrets", "app/db", (("region", "eu-west-1"), ("version_stage", "AWSPREVIOUS")), ("user",))],
    ),
    (
        "vault-version",
        "ref+vault://kv/data/db?version=2#/pw",
        [("vault", "kv/data/db", (("version", "2"),), ("pw",))],
    ),
    (
        "nested-fragment",
        "ref+sops://secrets.enc.yaml#/db/credentials/password",
        [("sops", "secrets.enc.yaml", (), ("db", "credentials", "password"))],
    ),
    (
        "fragment-without-slash",
        "ref+vault://srv/foo/bar#certificate",
        [("vault", "srv/foo/bar", (), ("certificate",))],
    ),
    ("empty-fragment-is-none", "ref+vault://kv/x/y#/", [("vault", "kv/x/y", (), ())]),
    ("pointer-escapes", "ref+file://a.yaml#/a~1b/c~0d", [("file", "a.yaml", (), ("a/b", "c~d"))]),
    (
        "arn-with-colons",
        "ref+awssecrets://arn:aws:secretsmanager:eu-west-1:123456789012:secret:app-AbCdEf?region=eu-west-1#/k",
        [
            (
                "awssecrets",
                "arn:aws:secretsmanager:eu-west-1:123456789012:secret:app-AbCdEf",
                (("region", "eu-west-1"),),
                ("k",),
            )
        ],
    ),
    ("absolute-file", "ref+file:///etc/app/secret.txt", [("file", "/etc/app/secret.txt", (), ())]),
    ("secretref-alias", "secretref+vault://kv/data/db#/pw", [("vault", "kv/data/db", (), ("pw",))]),
    ("ends-before-newline", "ref+vault://kv/a/b\nnext line", [("vault", "kv/a/b", (), ())]),
    ("ends-before-quote-and-comma", '["ref+vault://kv/a/b", "x"]', [("vault", "kv/a/b", (), ())]),
    (
        "template-tags-kept",
        "ref+vault://kv/data/{{name}}/db#/pw",
        [("vault", "kv/data/{{name}}/db", (), ("pw",))],
    ),
    ("percent-decoded-path", "ref+vault://kv/data/my%20app#/pw", [("vault", "kv/data/my app", (), ("pw",))]),
    ("no-reference", "plain text with ref and https://example.com", []),
    ("nginx-is-not-a-reference", "return 301 $scheme://$host:$server_port/remote.php/dav;", []),
]


@pytest.mark.parametrize("text, expected", [c[1:] for c in FIND_CASES], ids=[c[0] for c in FIND_CASES])
def test_references_are_found_as_vals_finds_them(text: str, expected: list[tuple]) -> None:
    found = refs.find_in_string(text)
    assert [(r.scheme, r.path, r.query, r.fragment) for r in found] == expected
    assert refs.contains_reference(text) is bool(expected)


WHOLE_CASES = [
    ("whole", "ref+vault://kv/a#/b", True),
    ("whole-with-terminator", "ref+vault://kv/a#/b+", True),
    ("embedded", "x-ref+vault://kv/a#/b", False),
    ("suffix-after-terminator", "ref+vault://kv/a#/b+@host", False),
    ("not-a-reference", "vault://kv/a", False),
]


@pytest.mark.parametrize("text, whole", [c[1:] for c in WHOLE_CASES], ids=[c[0] for c in WHOLE_CASES])
def test_a_whole_reference_is_told_from_an_embedded_one(text: str, whole: bool) -> None:
    assert refs.is_whole_reference(text) is whole


BAD_CASES = [
    ("no-path", "ref+vault://", "not a reference"),
    ("only-a-query", "ref+vault://?version=1", "has no path"),
    ("bad-scheme", "ref+Vault_X://kv/a", "not a valid scheme"),
    ("empty-fragment-key", "ref+vault://kv/a#/b//c", "empty key"),
    ("not-a-reference-at-all", "vault://kv/a", "not a reference"),
]


@pytest.mark.parametrize("text, message", [c[1:] for c in BAD_CASES], ids=[c[0] for c in BAD_CASES])
def test_malformed_references_fail_with_an_input_error_naming_them(text: str, message: str) -> None:
    with pytest.raises(refs.BadReference) as caught:
        refs.parse(text)
    assert message in str(caught.value)
    assert isinstance(caught.value, errors.InputError)
    assert caught.value.exit_code == errors.ExitCode.BAD_INPUT


def test_credentials_in_the_query_are_masked_when_a_reference_is_named() -> None:
    ref = refs.parse("ref+vault://kv/a?auth_method=approle&role_id=r1&secret_id=s3cr3t-id#/pw")
    assert ref.param("secret_id") == "s3cr3t-id"
    assert "s3cr3t-id" not in ref.display()
    assert "secret_id=***" in str(ref)
    assert "role_id=r1" in str(ref)


def test_the_last_value_of_a_repeated_query_parameter_wins() -> None:
    assert refs.parse("ref+vault://kv/a?version=1&version=3").param("version") == "3"


def test_references_differing_only_in_fragment_share_a_document_key() -> None:
    a, b = refs.parse("ref+vault://kv/a#/user"), refs.parse("ref+vault://kv/a#/password")
    assert a.document_key == b.document_key
    assert a.document_key != refs.parse("ref+vault://kv/a?version=1#/user").document_key


def test_find_references_walks_objects_and_decodes_secret_data() -> None:
    manifest = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s", "annotations": {"a": "ref+echo://meta/x"}},
        "data": {"k": base64.b64encode(b"ref+vault://kv/data/in-base64#/pw").decode(), "plain": "aGVsbG8="},
        "stringData": {"s": "ref+awssecrets://app/db"},
    }
    found = {r.path for r in refs.find_references([manifest, {"values": ["ref+sops://v.yaml#/a"]}])}
    assert found == {"meta/x", "kv/data/in-base64", "app/db", "v.yaml"}
    assert refs.has_references(manifest)
    assert not refs.has_references({"kind": "ConfigMap", "data": {"a": "b"}})


def test_refs_are_frozen_and_picklable() -> None:
    ref = refs.parse("ref+vault://kv/data/db?version=2#/password")
    assert pickle.loads(pickle.dumps(ref)) == ref
    with pytest.raises(AttributeError):
        ref.path = "other"  # type: ignore[misc]
