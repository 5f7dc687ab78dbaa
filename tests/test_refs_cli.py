"""``fleet secrets resolve`` (masked unless ``--reveal``) and ``fleet secrets refresh`` (refresh
generation for long-running syncs, plus a per-cluster check of a file's references), via the CLI."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from fleet.cli import app
from fleet.secrets import resolver
from tests.servers.vault_server import VaultServer

DATA = Path(__file__).parent / "data" / "secrets"
VALUES = DATA / "values.yaml"
CLUSTERS = DATA / "clusters.yaml"


@pytest.fixture
def vault(vault_env: VaultServer) -> VaultServer:
    vault_env.put_secret("secret", "prod/db", {"password": "Prod-cli-pw"})
    vault_env.put_secret("secret", "staging/db", {"password": "Staging-cli-pw"})
    return vault_env


def run(*args: str, input: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["--log-format", "text", "secrets", *args], input=input)
    return result.exit_code, result.stdout, result.stderr


def test_resolve_masks_values_by_default(vault: VaultServer) -> None:
    code, out, err = run("resolve", str(VALUES), "--cluster", "prod", "--cluster-list", str(CLUSTERS))
    assert code == 0, err
    doc = yaml.safe_load(out)
    assert doc["database"] == {"host": "db.{{not-a-reference-template}}.svc", "password": "***", "url": "***"}
    assert "Prod-cli-pw" not in out + err


@pytest.mark.parametrize("cluster, password", [("prod", "Prod-cli-pw"), ("staging", "Staging-cli-pw")])
def test_resolve_reveal_shows_the_clusters_own_values(
    vault: VaultServer, cluster: str, password: str
) -> None:
    code, out, err = run(
        "resolve",
        str(VALUES),
        "--cluster",
        cluster,
        "--cluster-list",
        str(CLUSTERS),
        "--reveal",
        "-o",
        "json",
    )
    assert code == 0, err
    assert json.loads(out)["database"] == {
        "host": "db.{{not-a-reference-template}}.svc",
        "password": password,
        "url": f"postgres://app:{password}@db:5432/app",
    }


def test_resolve_reads_secret_manifests_from_stdin(vault: VaultServer) -> None:
    manifest = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db"},
        "data": {"pw": base64.b64encode(b"ref+vault://secret/data/prod/db#/password").decode()},
    }
    code, out, _ = run("resolve", "-", input=yaml.safe_dump(manifest))
    assert code == 0 and yaml.safe_load(out)["data"] == {"pw": "***"}
    code, out, _ = run("resolve", "-", "--reveal", input=yaml.safe_dump(manifest))
    assert base64.b64decode(yaml.safe_load(out)["data"]["pw"]) == b"Prod-cli-pw"


def test_resolve_prints_what_resolved_and_fails_naming_the_reference(
    vault: VaultServer, tmp_path: Path
) -> None:
    manifests = tmp_path / "m.yaml"
    manifests.write_text(
        "kind: ConfigMap\nmetadata: {name: ok}\ndata: {a: ref+vault://secret/data/prod/db#/password}\n---\n"
        "kind: ConfigMap\nmetadata: {name: broken}\ndata: {a: ref+vault://secret/data/nope/db#/password}\n"
    )
    code, out, err = run("resolve", str(manifests))
    assert code == 1
    assert yaml.safe_load(out)["metadata"]["name"] == "ok"
    assert "ConfigMap broken field data.a: ref+vault://secret/data/nope/db#/password: not found" in err


def test_resolve_without_a_cluster_rejects_cluster_templates(vault: VaultServer) -> None:
    code, _, err = run("resolve", str(VALUES))
    assert code == 2
    assert "no cluster was given" in err


def test_resolve_of_an_unknown_cluster_or_bad_file_is_bad_input(vault: VaultServer, tmp_path: Path) -> None:
    code, _, err = run("resolve", str(VALUES), "--cluster", "nope", "--cluster-list", str(CLUSTERS))
    assert code == 2 and "nope" in err
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [unclosed\n")
    code, _, err = run("resolve", str(bad))
    assert code == 2 and "bad.yaml" in err and "not valid YAML" in err


def test_resolve_reads_file_references_next_to_the_file(tmp_path: Path) -> None:
    (tmp_path / "creds.yaml").write_text("db: {password: From-file-pw}\n")
    (tmp_path / "values.yaml").write_text("pw: ref+file://creds.yaml#/db/password\n")
    code, out, _ = run("resolve", str(tmp_path / "values.yaml"), "--reveal")
    assert code == 0 and yaml.safe_load(out) == {"pw": "From-file-pw"}


def test_refresh_bumps_the_generation_that_long_running_resolvers_watch(
    vault: VaultServer, tmp_path: Path
) -> None:
    long_running = resolver.Resolver(ttl=3600, generation_file=resolver.generation_path(tmp_path))
    prod = long_running.for_cluster(None)
    ref = "ref+vault://secret/data/prod/db#/password"
    assert prod.resolve_string(ref) == "Prod-cli-pw"
    vault.put_secret("secret", "prod/db", {"password": "Rotated-cli-pw"})
    assert long_running.for_cluster(None).resolve_string(ref) == "Prod-cli-pw"  # cached
    code, out, err = run("refresh", "--state-dir", str(tmp_path))
    assert code == 0, err
    assert "refresh generation 1" in out
    assert long_running.for_cluster(None).resolve_string(ref) == "Rotated-cli-pw"
    assert "Rotated-cli-pw" not in (tmp_path / resolver.GENERATION_FILE).read_text()


def test_refresh_checks_every_reference_of_a_file_for_every_cluster(
    vault: VaultServer, tmp_path: Path
) -> None:
    code, out, err = run(
        "refresh", str(VALUES), "--cluster-list", str(CLUSTERS), "--state-dir", str(tmp_path), "-o", "json"
    )
    assert code == 0, err
    report = json.loads(out)
    assert report["generation"] == 1
    assert sorted((r["cluster"], r["status"]) for r in report["references"]) == [
        ("prod", "ok"),
        ("prod", "ok"),
        ("staging", "ok"),
        ("staging", "ok"),
    ]
    assert "cli-pw" not in out


def test_refresh_reports_references_that_no_longer_resolve(vault: VaultServer, tmp_path: Path) -> None:
    vault.put_secret("secret", "staging/db", {"other": "x"})  # the rotation dropped the key
    code, out, err = run(
        "refresh", str(VALUES), "--cluster-list", str(CLUSTERS), "--state-dir", str(tmp_path)
    )
    assert code == 1
    lines = [line.split() for line in out.splitlines()[1:]]
    assert ["staging", "ref+vault://secret/data/{{name}}/db#/password", "not-found"] in lines
    assert ["prod", "ref+vault://secret/data/{{name}}/db#/password", "ok"] in lines
    assert "cluster staging" in err and "has no key #/password" in err
    assert "cli-pw" not in out + err
