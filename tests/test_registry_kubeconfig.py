"""Kubeconfig files become one Cluster per context, read the way kubectl reads them.

The merge rules of a KUBECONFIG list are checked against the real kubectl (``kubectl config view
--flatten``), which is the definition of "the way kubectl reads them".
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from fleet import errors, redact
from fleet.clusters import kubeconfig

DATA = Path(__file__).parent / "data" / "clusters"
MULTI = DATA / "kubeconfig-multi.yaml"


def _by_name(paths, **kw):
    return {c.name: c for c in kubeconfig.load(paths, **kw)}


def test_every_context_becomes_a_cluster_named_after_the_context() -> None:
    clusters = kubeconfig.load(MULTI)
    assert [c.name for c in clusters] == ["prod", "staging", "dev", "dev-exec", "dev-basic"]
    assert all(c.source.startswith(f"kubeconfig:{MULTI}:") for c in clusters)


CREDENTIAL_CASES = [
    pytest.param(
        "prod",
        {
            "server": "https://prod.example.com:6443/k8s/prod",
            "ca_contains": "Y2EtZm9yLXByb2Q=",
            "cert_contains": "Y2xpZW50LWNlcnQ=",
            "key_contains": "c2VjcmV0LWtleS1tYXRlcmlhbA==",
            "server_name": "api.prod.internal",
            "proxy_url": "http://proxy.example.com:3128",
        },
        id="data-fields-decoded-and-path-prefix-kept",
    ),
    pytest.param(
        "staging",
        {
            "server": "https://staging.example.com:6443",
            "ca_contains": "Y2EtZnJvbS1maWxl",
            "cert_contains": "Y2VydC1mcm9tLWZpbGU=",
            "key_contains": "a2V5LWZyb20tZmlsZS1zZWNyZXQ=",
            "bearer_token": "token-from-file-0123456789",
        },
        id="files-relative-to-the-kubeconfig-read-into-data",
    ),
    pytest.param(
        "dev",
        {"server": "https://dev.example.com", "insecure": True, "bearer_token": "dev-static-token-abcdef"},
        id="token-and-insecure",
    ),
    pytest.param("dev-basic", {"username": "admin", "password": "basic-password-xyz"}, id="basic-auth"),
]


@pytest.mark.parametrize("context, expected", CREDENTIAL_CASES)
def test_context_credentials_are_read_from_data_and_files(context: str, expected: dict) -> None:
    cluster = _by_name(MULTI)[context]
    creds = cluster.credentials
    for key, want in expected.items():
        if key == "server":
            assert cluster.server == want
        elif key.endswith("_contains"):
            field = {
                "ca_contains": "ca_data",
                "cert_contains": "client_cert_data",
                "key_contains": "client_key_data",
            }[key]
            assert want in (getattr(creds, field) or "")
            assert getattr(creds, field).startswith("-----BEGIN")
        else:
            assert getattr(creds, key) == want


def test_exec_plugin_is_kept_with_env_args_and_command_relative_to_the_file() -> None:
    exec_cfg = _by_name(MULTI)["dev-exec"].credentials.exec
    assert exec_cfg is not None
    assert exec_cfg.command == str(DATA / "bin" / "get-token")
    assert exec_cfg.args == ("--cluster", "dev")
    assert exec_cfg.env == {"REGION": "eu-west-1"}
    assert exec_cfg.api_version == "client.authentication.k8s.io/v1"
    assert exec_cfg.install_hint == "install get-token from the platform team"
    assert exec_cfg.model_extra == {"provideClusterInfo": True}


def test_secret_values_read_from_a_kubeconfig_are_masked_from_then_on() -> None:
    kubeconfig.load(MULTI)
    text = "token dev-static-token-abcdef password basic-password-xyz file token-from-file-0123456789"
    assert redact.mask(text) == "token *** password *** file ***"


def test_chosen_contexts_are_returned_in_the_order_asked() -> None:
    assert [c.name for c in kubeconfig.load(MULTI, contexts=["dev", "prod"])] == ["dev", "prod"]


@pytest.mark.parametrize(
    "order, shared_server, shared_token",
    [
        pytest.param(["a", "b"], "https://shared-from-a.example.com", "token-from-a-0001", id="a-first"),
        pytest.param(["b", "a"], "https://shared-from-b.example.com", "token-from-b-0003", id="b-first"),
    ],
)
def test_kubeconfig_list_merges_with_the_first_definition_winning(order, shared_server, shared_token) -> None:
    files = [DATA / f"kubeconfig-{x}.yaml" for x in order]
    env = {"KUBECONFIG": ":".join(str(f) for f in files)}
    clusters = _by_name(None, env=env)
    assert set(clusters) == {"alpha", "beta", "shared"}
    assert clusters["shared"].server == shared_server
    # The context "shared" comes from the first file: in a it uses shared-user, in b beta-user.
    assert clusters["shared"].credentials.bearer_token == shared_token


@pytest.mark.skipif(
    shutil.which("kubectl") is None, reason="kubectl is not installed, so there is nothing to compare with"
)
@pytest.mark.parametrize("order", [["a", "b"], ["b", "a"], ["multi", "a", "b"]], ids="+".join)
def test_kubeconfig_merge_agrees_with_kubectl(order: list[str], tmp_path: Path) -> None:
    files = [DATA / f"kubeconfig-{x}.yaml" for x in order]
    env = {
        "KUBECONFIG": ":".join(str(f) for f in files),
        "HOME": str(tmp_path),
        "PATH": "/usr/bin:/bin:/usr/local/bin",
    }
    out = subprocess.run(
        ["kubectl", "config", "view", "--flatten", "-o", "json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    view = json.loads(out)
    ours = _by_name(None, env=env)
    users = {u["name"]: u["user"] for u in view["users"]}
    servers = {c["name"]: c["cluster"]["server"] for c in view["clusters"]}
    assert set(ours) == {c["name"] for c in view["contexts"]}
    for ctx in view["contexts"]:
        name, body = ctx["name"], ctx["context"]
        assert ours[name].server == servers[body["cluster"]], name
        user = users.get(body.get("user"), {})
        token = user.get("token") or (
            (MULTI.parent / user["tokenFile"]).read_text().strip() if "tokenFile" in user else None
        )
        assert ours[name].credentials.bearer_token == token, name


def test_missing_files_in_a_kubeconfig_list_are_skipped_like_kubectl(tmp_path: Path) -> None:
    env = {"KUBECONFIG": f"{tmp_path / 'absent.yaml'}:{DATA / 'kubeconfig-a.yaml'}"}
    assert set(_by_name(None, env=env)) == {"alpha", "shared"}


def test_an_explicit_kubeconfig_that_does_not_exist_is_an_input_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(errors.InputError, match="does not exist") as info:
        kubeconfig.load(missing)
    assert info.value.file == str(missing)


def test_a_pathsep_list_given_as_one_argument_merges_like_kubeconfig() -> None:
    joined = f"{DATA / 'kubeconfig-b.yaml'}:{DATA / 'kubeconfig-a.yaml'}"
    assert _by_name(joined)["shared"].server == "https://shared-from-b.example.com"
