"""Files made by ``fleet.secrets.sops`` encryption have the layout FORMATS.md describes.

Each encrypted file is checked by an independent reading here (PyYAML / json / line parsing and
``cryptography``'s AES-GCM, not fleet's stores or cipher): metadata fields and their order, the
``ENC[...]`` format with 32-byte IVs and 16-byte tags, the AAD of every value (its key path),
the MAC (SHA-512 of the plaintexts in order, upper-case hex, AAD = lastmodified), and then that
fleet decrypts the file back to the input — for every store, age and PGP.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import subprocess
from typing import Any

import pyrage
import pytest
import yaml
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pyrage import x25519

from fleet.secrets import sops
from tests.fixtures.sops import AGE_RECIPIENTS, K1, SopsEnv

ENC = re.compile(
    r"^ENC\[AES256_GCM,data:([A-Za-z0-9+/=]*),iv:([A-Za-z0-9+/=]+),tag:([A-Za-z0-9+/=]+),type:(str|int|float|bool|time|comment|bytes)\]$"
)

YAML_INPUT = """\
# top comment
db:
    user: admin
    password: s3cr3t-pass
    port: 5432
    ratio: 0.75
    enabled: true
    since: 2024-01-01
hosts:
    - alpha
    - beta
empty: ""
note_unencrypted: visible
"""
JSON_INPUT = '{"db": {"user": "admin", "password": "s3cr3t", "port": 5432, "ratio": 0.75, "enabled": true}, "hosts": ["a", "b"], "empty": "", "note_unencrypted": "visible"}'
DOTENV_INPUT = "DB_PASSWORD=s3cr3t\n# a comment\nAPI_TOKEN=tok-123\nMULTI=line1\\nline2\n"
INI_INPUT = "[db]\nuser     = admin\npassword = s3cr3t\n\n[api]\n; the token\ntoken = tok-123\n"
BINARY_INPUT = b"\x00\x01binary\xffdata\n"

# (file name, input bytes, [(path, plaintext bytes, type)] in walk order, comment count)
CASES = [
    pytest.param(
        "app.yaml",
        YAML_INPUT.encode(),
        [
            (("db", "user"), b"admin", "str"),
            (("db", "password"), b"s3cr3t-pass", "str"),
            (("db", "port"), b"5432", "int"),
            (("db", "ratio"), b"0.75", "float"),
            (("db", "enabled"), b"True", "bool"),
            (("db", "since"), b"2024-01-01T00:00:00Z", "time"),
            (("hosts",), b"alpha", "str"),
            (("hosts",), b"beta", "str"),
            (("empty",), b"", None),
            (("note_unencrypted",), b"visible", None),
        ],
        id="yaml",
    ),
    pytest.param(
        "app.json",
        JSON_INPUT.encode(),
        [
            (("db", "user"), b"admin", "str"),
            (("db", "password"), b"s3cr3t", "str"),
            (("db", "port"), b"5432", "int"),
            (("db", "ratio"), b"0.75", "float"),
            (("db", "enabled"), b"True", "bool"),
            (("hosts",), b"a", "str"),
            (("hosts",), b"b", "str"),
            (("empty",), b"", None),
            (("note_unencrypted",), b"visible", None),
        ],
        id="json",
    ),
    pytest.param(
        "app.env",
        DOTENV_INPUT.encode(),
        [
            (("DB_PASSWORD",), b"s3cr3t", "str"),
            (("API_TOKEN",), b"tok-123", "str"),
            (("MULTI",), b"line1\nline2", "str"),
        ],
        id="dotenv",
    ),
    pytest.param(
        "app.ini",
        INI_INPUT.encode(),
        [
            (("db", "user"), b"admin", "str"),
            (("db", "password"), b"s3cr3t", "str"),
            (("api", "token"), b"tok-123", "str"),
        ],
        id="ini",
    ),
    pytest.param("app.bin", BINARY_INPUT, [(("data",), BINARY_INPUT, "str")], id="binary"),
]


def _read_encrypted(
    name: str, data: bytes
) -> tuple[list[tuple[tuple[str, ...], Any]], dict[str, Any], list[str]]:
    """Independent reading: (leaves in order, metadata dict, top-level metadata key order)."""
    if name.endswith(".yaml"):
        doc = yaml.load(data, Loader=yaml.BaseLoader)  # every scalar as text
        meta = doc.pop("sops")
        order = [
            line.split(":")[0].strip()
            for line in data.decode().split("sops:\n", 1)[1].splitlines()
            if re.match(r"^    \w", line)
        ]
        return list(_walk(doc, ())), meta, order
    if name.endswith((".json", ".bin")):
        doc = json.loads(data)
        meta = doc.pop("sops")
        return list(_walk(doc, ())), meta, list(meta)
    if name.endswith(".env"):
        leaves, flat = [], {}
        for line in data.decode().splitlines():
            if line.startswith("#"):
                continue
            key, _, value = line.partition("=")
            if key.startswith("sops_"):
                flat[key[5:]] = value.replace("\\n", "\n")
            else:
                leaves.append(((key,), value))
        return leaves, _unflatten(flat), _top_order(flat)
    leaves, flat, section = [], {}, None
    for line in data.decode().splitlines():
        if line.startswith("["):
            section = line.strip("[]")
        elif line and not line.startswith(";"):
            key, _, value = line.partition(" = ")
            if section == "sops":
                flat[key.strip()] = value.replace("\\n", "\n")
            else:
                leaves.append(((section, key.strip()), value))
    return leaves, _unflatten(flat), _top_order(flat)


def _top_order(flat: dict[str, str]) -> list[str]:
    order: list[str] = []
    for key in flat:
        top = key.split("__")[0]
        if top not in order:
            order.append(top)
    return order


def _unflatten(flat: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in flat.items():
        parts = re.split(r"__(?:map|list)_", key)
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    for name in ("age", "pgp"):
        if name in out:
            out[name] = [out[name][index] for index in sorted(out[name], key=int)]
    return out


def _walk(value: Any, path: tuple[str, ...]) -> Any:
    if isinstance(value, dict):
        for key, element in value.items():
            yield from _walk(element, (*path, key))
    elif isinstance(value, list):
        for element in value:
            yield from _walk(element, path)
    else:
        yield path, value


def _data_key(meta: dict[str, Any], sops_env: SopsEnv) -> bytes:
    if meta.get("age"):
        identities = [x25519.Identity.from_str(text) for text in sops_env.age_identities()]
        return pyrage.decrypt(meta["age"][0]["enc"].encode(), identities)
    out = subprocess.run(
        ["gpg", "--homedir", str(sops_env.gnupg_homes["all"]), "--batch", "--quiet", "--decrypt"],
        input=meta["pgp"][0]["enc"].encode(),
        capture_output=True,
        check=True,
    )
    return out.stdout


def _open(value: str, key: bytes, aad: str) -> tuple[bytes, str, bytes]:
    match = ENC.match(value)
    assert match, value
    data, iv, tag = (base64.b64decode(match.group(i)) for i in (1, 2, 3))
    assert len(iv) == 32, "sops uses 32-byte IVs"
    assert len(tag) == 16
    return AESGCM(key).decrypt(iv, data + tag, aad.encode()), match.group(4), iv


@pytest.mark.parametrize("recipient", ["age", "pgp"])
@pytest.mark.parametrize("name, data, expected", CASES)
def test_encrypted_file_has_the_sops_layout_and_decrypts_back(
    sops_env: SopsEnv,
    name: str,
    data: bytes,
    expected: list[tuple[tuple[str, ...], bytes, str | None]],
    recipient: str,
) -> None:
    options = (
        sops.EncryptOptions(age=AGE_RECIPIENTS) if recipient == "age" else sops.EncryptOptions(pgp=(K1,))
    )
    encrypted = sops.encrypt_bytes(data, options, path=name)
    leaves, meta, order = _read_encrypted(name, encrypted)

    # metadata: fields, sorted like upstream writes them, recipients
    assert order == sorted(order)
    assert set(meta) >= {"lastmodified", "mac", "version", "unencrypted_suffix"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", meta["lastmodified"])
    assert meta["unencrypted_suffix"] == "_unencrypted"
    if recipient == "age":
        assert [entry["recipient"] for entry in meta["age"]] == list(AGE_RECIPIENTS)
        assert all(entry["enc"].startswith("-----BEGIN AGE ENCRYPTED FILE-----\n") for entry in meta["age"])
    else:
        assert [entry["fp"] for entry in meta["pgp"]] == [K1]
        assert meta["pgp"][0]["enc"].startswith("-----BEGIN PGP MESSAGE-----")
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", meta["pgp"][0]["created_at"])

    # values: ENC format, fresh 32-byte IVs, AAD = key path, types; the MAC over all plaintexts
    key = _data_key(meta, sops_env)
    assert len(key) == 32
    mac = hashlib.sha512()
    ivs = set()
    assert [path for path, _ in leaves] == [path for path, _, _ in expected]
    for (path, value), (_, plaintext, datatype) in zip(leaves, expected, strict=True):
        if datatype is None:
            assert value == plaintext.decode()  # left in clear (empty, or _unencrypted)
        else:
            opened, found_type, iv = _open(value, key, ":".join(path) + ":")
            assert (opened, found_type) == (plaintext, datatype)
            ivs.add(iv)
        mac.update(plaintext)
    assert len(ivs) == len([e for e in expected if e[2]]), "every value gets its own IV"
    stored_mac, mac_type, _ = _open(meta["mac"], key, meta["lastmodified"])
    assert (stored_mac.decode(), mac_type) == (mac.hexdigest().upper(), "str")

    # and fleet reads it back to the same content
    plain = sops.decrypt_bytes(encrypted, path=name)
    if name.endswith(".yaml"):
        # go-yaml v3 writes a bare date back as a full timestamp (functional test test_yaml_time)
        assert plain == data.replace(b"since: 2024-01-01", b"since: 2024-01-01T00:00:00Z")
    elif name.endswith(".json"):
        assert json.loads(plain) == json.loads(data)
    else:
        assert plain == data


def test_yaml_comments_are_encrypted_with_the_aad_of_their_mapping(sops_env: SopsEnv) -> None:
    encrypted = sops.encrypt_bytes(
        b"# top\na:\n    # inner\n    b: 1\n", sops.EncryptOptions(age=AGE_RECIPIENTS[:1]), path="c.yaml"
    )
    text = encrypted.decode()
    meta = yaml.safe_load(text)["sops"]
    key = _data_key(meta, sops_env)
    comments = re.findall(r"(?m)^\s*#(ENC\[[^\]]+\])$", text)
    assert len(comments) == 2
    assert _open(comments[0], key, ":")[:2] == (b" top", "comment")
    assert _open(comments[1], key, "a:")[:2] == (b" inner", "comment")


def test_json_output_of_encryption_is_tab_indented(sops_env: SopsEnv) -> None:
    encrypted = sops.encrypt_bytes(
        b'{"foo": "bar"}', sops.EncryptOptions(age=AGE_RECIPIENTS[:1]), path="f.json"
    )
    assert encrypted.startswith(b'{\n\t"foo": "ENC[AES256_GCM,data:')
    assert b'\n\t"sops": {\n\t\t"age": [\n' in encrypted
    assert encrypted.endswith(b"\n}\n")


def test_ini_metadata_written_by_sops_3_13_1_as_multiline_blocks_is_read(sops_env: SopsEnv) -> None:
    from fleet.secrets.sops import core, metadata, stores
    from fleet.secrets.sops.stores import ini

    encrypted = sops.encrypt_bytes(
        INI_INPUT.encode(), sops.EncryptOptions(age=AGE_RECIPIENTS[:1]), path="a.ini"
    )
    _, branches, meta = core.load_encrypted(encrypted, file="a.ini")
    legacy = ini.IniStore().emit_encrypted(branches, metadata.to_branch(meta), legacy_multiline=True)
    assert re.search(rb'\nage__list_0__map_enc +=\s"""-----BEGIN AGE ENCRYPTED FILE-----\n', legacy)
    assert b"\\n" not in legacy
    assert sops.decrypt_bytes(legacy, fmt=stores.Format.INI) == INI_INPUT.encode()
