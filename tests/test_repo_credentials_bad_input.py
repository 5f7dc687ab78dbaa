"""A repository Secret or ConfigMap fleet cannot read is bad input: `fleet generate` and `fleet sync`
exit 2 before touching anything, naming the file, the object and the field, never a value."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from fleet.cli import app
from tests.conftest import REPO_ROOT

FLEET = REPO_ROOT / "examples" / "fleet-repo"
SECRET_VALUE = "s3cret-Value-91x"


def _secret(**data: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": "private-repo",
            "namespace": "argocd",
            "labels": {"argocd.argoproj.io/secret-type": "repository"},
        },
        "stringData": {"password": SECRET_VALUE, **data},
    }


# (id, objects, words in the message)
CASES = [
    ("missing-url", [_secret()], ["Secret private-repo", "field data.url", "is missing or empty"]),
    (
        "unknown-type",
        [_secret(url="https://git.example.com/a", type="svn")],
        ["Secret private-repo", "field data.type", "git, helm, oci"],
    ),
    (
        "flag-that-is-not-a-boolean",
        [_secret(url="https://git.example.com/a", enableOCI="yes please")],
        ["Secret private-repo", "field data.enableOCI", "must be true or false"],
    ),
    (
        "data-that-is-not-base64",
        [{**_secret(url="https://git.example.com/a"), "data": {"username": "%%%"}}],
        ["Secret private-repo", "field data.username", "base64"],
    ),
    (
        "ca-that-is-not-pem",
        [
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "argocd-tls-certs-cm", "namespace": "argocd"},
                "data": {"git.example.com": SECRET_VALUE},
            }
        ],
        ["ConfigMap argocd-tls-certs-cm", "field data.git.example.com", "PEM"],
    ),
]


@pytest.mark.parametrize(("objects", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_an_unreadable_repository_secret_is_bad_input_naming_its_field(tmp_path, objects, words) -> None:
    creds = tmp_path / "repo-creds.yaml"
    creds.write_text(yaml.safe_dump_all(objects))
    result = CliRunner().invoke(
        app,
        ["--log-format", "text", "generate", str(FLEET / "appsets/apps.yaml"), "--repo-creds", str(creds)],
    )
    assert result.exit_code == 2, result.stderr
    for word in [str(creds), *words]:
        assert word in result.stderr
    assert SECRET_VALUE not in result.stderr and SECRET_VALUE not in result.stdout


def test_fleet_sync_refuses_them_before_touching_a_cluster(make_fleet, tmp_path) -> None:
    env = make_fleet("basic", clusters=1)
    creds = tmp_path / "repo-creds.yaml"
    creds.write_text(yaml.safe_dump(_secret(url="https://git.example.com/a", insecure="maybe")))
    env.sim.reset_counts()
    run = env.sync("--repo-creds", str(creds))
    assert run.exit_code == 2
    assert "field data.insecure" in run.stderr and SECRET_VALUE not in run.stderr
    assert env.sim.request_counts(env.cluster_names[0])["total"] == 0
