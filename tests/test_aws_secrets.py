"""AWS Secrets Manager through boto3 against moto's server mode: string, JSON (``#/key``) and
binary secrets, versions and stages, the region per reference, an assumed role, ARNs, errors."""

from __future__ import annotations

import base64
import json
import socket

import pytest

from fleet import errors
from fleet.secrets import providers, resolver
from tests.fixtures.aws import MotoServer


@pytest.fixture
def seeded(moto_server: MotoServer) -> dict[str, str]:
    sm = moto_server.client("secretsmanager")
    sm.create_secret(Name="app/api-key", SecretString="plain-api-key")
    first = sm.create_secret(Name="app/db", SecretString=json.dumps({"user": "app", "password": "pw-v1"}))
    second = sm.put_secret_value(
        SecretId="app/db", SecretString=json.dumps({"user": "app", "password": "pw-v2"})
    )
    third = sm.put_secret_value(
        SecretId="app/db",
        SecretString=json.dumps({"user": "app", "password": "pw-canary"}),
        VersionStages=["CANARY"],
    )
    sm.create_secret(Name="app/config", SecretString="tls:\n  enabled: true\n  ports: [443, 8443]\n")
    sm.create_secret(Name="app/keystore", SecretBinary=b"\x00\x01binary\xff")
    moto_server.client("secretsmanager", region="eu-west-1").create_secret(
        Name="app/api-key", SecretString="eu-api-key"
    )
    arn = sm.describe_secret(SecretId="app/api-key")["ARN"]
    return {"v1": first["VersionId"], "v2": second["VersionId"], "canary": third["VersionId"], "arn": arn}


def resolve(text: str) -> object:
    return resolver.Resolver().for_cluster(None).resolve_value(text)


READ_CASES = [
    ("string", "ref+awssecrets://app/api-key", "plain-api-key"),
    ("json-key", "ref+awssecrets://app/db#/password", "pw-v2"),
    ("json-whole-object", "ref+awssecrets://app/db", json.dumps({"user": "app", "password": "pw-v2"})),
    ("yaml-nested", "ref+awssecrets://app/config#/tls/enabled", True),
    ("yaml-list-index", "ref+awssecrets://app/config#/tls/ports/1", 8443),
    ("stage-current", "ref+awssecrets://app/db?version_stage=AWSCURRENT#/password", "pw-v2"),
    ("stage-previous", "ref+awssecrets://app/db?version_stage=AWSPREVIOUS#/password", "pw-v1"),
    ("stage-custom", "ref+awssecrets://app/db?version_stage=CANARY#/password", "pw-canary"),
    ("region-per-reference", "ref+awssecrets://app/api-key?region=eu-west-1", "eu-api-key"),
]


@pytest.mark.parametrize("text, expected", [c[1:] for c in READ_CASES], ids=[c[0] for c in READ_CASES])
def test_secrets_are_read_as_vals_reads_them(seeded: dict[str, str], text: str, expected: object) -> None:
    assert resolve(text) == expected


@pytest.mark.parametrize("version", ["v1", "v2", "canary"])
def test_a_version_id_reads_that_version(seeded: dict[str, str], version: str) -> None:
    expected = {"v1": "pw-v1", "v2": "pw-v2", "canary": "pw-canary"}[version]
    assert resolve(f"ref+awssecrets://app/db?version_id={seeded[version]}#/password") == expected


def test_an_arn_reference_takes_its_region_from_the_arn(seeded: dict[str, str]) -> None:
    assert resolve(f"ref+awssecrets://{seeded['arn']}") == "plain-api-key"


def test_a_binary_secret_goes_into_secret_data_byte_for_byte(seeded: dict[str, str]) -> None:
    manifest = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "ks"},
        "data": {"keystore": "ref+awssecrets://app/keystore"},
    }
    resolved, paths = resolver.Resolver().for_cluster(None).resolve_object(manifest)
    assert base64.b64decode(resolved["data"]["keystore"]) == b"\x00\x01binary\xff"
    assert paths == {("data", "keystore")}


def test_a_binary_secret_cannot_be_embedded_in_text(seeded: dict[str, str]) -> None:
    with pytest.raises(providers.ProviderError, match="is binary"):
        resolver.Resolver().for_cluster(None).resolve_string("key=ref+awssecrets://app/keystore")


def test_an_assumed_role_reads_through_sts(seeded: dict[str, str], moto_server: MotoServer) -> None:
    iam = moto_server.client("iam")
    role = iam.create_role(
        RoleName="fleet-reader",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
    )
    text = f"ref+awssecrets://app/db?role_arn={role['Role']['Arn']}#/user"
    assert resolve(text) == "app"


def test_the_endpoint_can_come_from_settings(
    seeded: dict[str, str], moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    monkeypatch.delenv("AWS_ENDPOINT_URL_SECRETSMANAGER")
    settings = providers.ProviderSettings(
        options={"awssecrets": {"endpoint_url": moto_server.endpoint, "region": "eu-west-1"}}
    )
    context = resolver.Resolver(settings=settings).for_cluster(None)
    assert context.resolve_string("ref+awssecrets://app/api-key") == "eu-api-key"
    assert context.resolve_string("ref+awssecrets://app/api-key?region=us-east-1") == "plain-api-key"


ERROR_CASES = [
    (
        "missing-secret",
        "ref+awssecrets://app/nothing",
        providers.SecretNotFound,
        "not found in AWS Secrets Manager",
    ),
    ("missing-key", "ref+awssecrets://app/db#/token", providers.SecretNotFound, "has no key #/token"),
    ("missing-stage", "ref+awssecrets://app/db?version_stage=GONE", providers.SecretNotFound, "not found"),
    (
        "fragment-into-plain-string",
        "ref+awssecrets://app/api-key#/x",
        providers.ProviderError,
        "not a YAML or JSON object",
    ),
]


@pytest.mark.parametrize("text, kind, message", [c[1:] for c in ERROR_CASES], ids=[c[0] for c in ERROR_CASES])
def test_failures_name_the_reference_never_the_value(
    seeded: dict[str, str], text: str, kind: type, message: str
) -> None:
    with pytest.raises(kind, match=message) as caught:
        resolve(text)
    assert text.split("?")[0].split("#")[0] in str(caught.value)
    for value in ("plain-api-key", "pw-v2", "pw-v1"):
        assert value not in str(caught.value)


def test_a_secret_marked_for_deletion_is_not_found(seeded: dict[str, str], moto_server: MotoServer) -> None:
    moto_server.client("secretsmanager").delete_secret(SecretId="app/api-key", RecoveryWindowInDays=7)
    with pytest.raises(providers.SecretNotFound, match="deleted"):
        resolve("ref+awssecrets://app/api-key")


def test_an_unreachable_endpoint_is_temporary(
    moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETSMANAGER", f"http://127.0.0.1:{port}")
    with pytest.raises(providers.ProviderUnavailable) as caught:
        resolve("ref+awssecrets://app/db")
    assert isinstance(caught.value, errors.TemporaryError) and caught.value.retry_after


def test_no_credentials_is_access_denied(moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(providers.AccessDenied, match="no AWS credentials"):
        resolve("ref+awssecrets://app/db")
