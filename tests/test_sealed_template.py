"""``spec.template.data`` is rendered as the controller renders it: Go templates with Sprig's
generic functions (minus env, expandenv and getHostByName) over the decrypted items (FORMATS.md B.4)."""

from __future__ import annotations

import base64

import pytest
import yaml

from fleet import errors
from fleet.secrets import sealed
from tests.fixtures.sealed import SEALED_DATA, KeyPair

ITEMS = {"user": "app-user", "password": "s3cr3t-pw"}


def _templated(pair: KeyPair, data: dict | None = None) -> dict:
    doc = yaml.safe_load((SEALED_DATA / "sealedsecret-templated.yaml").read_text())
    doc["spec"]["encryptedData"] = {
        key: sealed.seal_raw(value, pair.cert, namespace="apps", name="db") for key, value in ITEMS.items()
    }
    if data is not None:
        doc["spec"]["template"]["data"] = data
    return doc


def _plain(secret: dict) -> dict[str, str]:
    return {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}


def test_template_data_is_rendered_over_the_decrypted_items(sealing_key: KeyPair) -> None:
    secret = sealed.unseal(_templated(sealing_key), sealing_key.unseal_keys)
    assert _plain(secret) == {
        "dsn": "postgres://app-user:s3cr3t-pw@db:5432/app",
        "password": "s3cr3t-pw",
        "upper": "APP-USER",
    }
    assert secret["metadata"]["labels"] == {"app": "db"}
    assert secret["metadata"]["annotations"] == {"note": "rendered"}


TEMPLATES = [
    ({"x": "{{ .password | b64enc }}"}, base64.b64encode(b"s3cr3t-pw").decode()),
    ({"x": '{{ printf "%s@%s" .user "db" }}'}, "app-user@db"),
    ({"x": "{{ .nothing }}"}, "<no value>"),
    ({"x": '{{ default "fallback" .nothing }}'}, "fallback"),
    ({"x": '{{ index . "user" | trunc 3 }}'}, "app"),
    ({"x": "plain text"}, "plain text"),
    (
        {"x": '{"auths":{"reg":{"auth":"{{ printf "%s:%s" .user .password | b64enc }}"}}}'},
        '{"auths":{"reg":{"auth":"' + base64.b64encode(b"app-user:s3cr3t-pw").decode() + '"}}}',
    ),
]


@pytest.mark.parametrize(
    "data, expected",
    TEMPLATES,
    ids=["b64enc", "printf", "missing-key", "default", "index-trunc", "no-actions", "dockerconfigjson"],
)
def test_sprig_functions_and_go_semantics_in_templates(
    sealing_key: KeyPair, data: dict, expected: str
) -> None:
    secret = sealed.unseal(_templated(sealing_key, data), sealing_key.unseal_keys)
    assert _plain(secret)["x"] == expected


@pytest.mark.parametrize("func", ["env", "expandenv", "getHostByName"])
def test_functions_that_reveal_the_environment_are_not_available(sealing_key: KeyPair, func: str) -> None:
    with pytest.raises(
        errors.InputError,
        match=f'field spec.template.data.x: template failed: .*function "{func}" not defined',
    ):
        sealed.unseal(_templated(sealing_key, {"x": f'{{{{ {func} "HOME" }}}}'}), sealing_key.unseal_keys)


def test_a_failing_template_names_its_field_and_masks_values(sealing_key: KeyPair) -> None:
    with pytest.raises(errors.InputError) as caught:
        sealed.unseal(
            _templated(sealing_key, {"bad": "{{ fail .password }}"}), sealing_key.unseal_keys, where="s.yaml"
        )
    message = str(caught.value)
    assert message.startswith("s.yaml: SealedSecret apps/db: field spec.template.data.bad: template failed")
    assert "s3cr3t-pw" not in message


def test_a_template_that_does_not_parse_is_bad_input(sealing_key: KeyPair) -> None:
    with pytest.raises(
        errors.InputError, match="field spec.template.data.x: template failed: template: x:1:"
    ):
        sealed.unseal(_templated(sealing_key, {"x": "{{ .user "}), sealing_key.unseal_keys)


def test_template_rendering_keeps_binary_items_intact(sealing_key: KeyPair) -> None:
    doc = _templated(sealing_key, {"copy": "{{ .blob }}"})
    doc["spec"]["encryptedData"]["blob"] = sealed.seal_raw(
        b"\xff\x00\xfe", sealing_key.cert, namespace="apps", name="db"
    )
    secret = sealed.unseal(doc, sealing_key.unseal_keys)
    assert (
        base64.b64decode(secret["data"]["copy"])
        == base64.b64decode(secret["data"]["blob"])
        == b"\xff\x00\xfe"
    )


def test_the_cli_prints_the_rendered_secret(sealing_key: KeyPair, tmp_path) -> None:
    from typer.testing import CliRunner

    from fleet.cli import app

    key = tmp_path / "key.yaml"
    key.write_text(sealing_key.secret_yaml)
    result = CliRunner().invoke(
        app, ["secrets", "unseal", "--key", str(key)], input=yaml.safe_dump(_templated(sealing_key))
    )
    assert result.exit_code == 0, result.output
    assert _plain(yaml.safe_load(result.stdout))["dsn"] == "postgres://app-user:s3cr3t-pw@db:5432/app"
