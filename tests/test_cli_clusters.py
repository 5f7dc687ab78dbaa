"""``fleet clusters list`` and ``fleet clusters check`` through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fleet.cli import app

DATA = Path(__file__).parent / "data" / "clusters"
runner = CliRunner()


def _run(*args: str):
    return runner.invoke(app, ["--log-format", "text", "clusters", *args])


def test_list_shows_clusters_from_combined_sources_as_a_table() -> None:
    result = _run(
        "list",
        "--clusters",
        str(DATA / "argocd-secrets.yaml"),
        "--cluster-list",
        str(DATA / "cluster-list.yaml"),
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["NAME", "SERVER", "LABELS", "AUTH", "SOURCE"]
    names = [line.split()[0] for line in lines[2:]]
    assert names == ["dev-1", "edge-7", "prod-eu-1", "prod-us-1", "staging-eu-1"]
    prod = next(line for line in lines if line.startswith("prod-eu-1"))
    assert "https://10.0.1.1:6443" in prod  # the cluster list overrides the Argo CD Secret
    assert "argocd-token-for-prod-eu-1" not in result.output


@pytest.mark.parametrize(
    "selector, names",
    [
        pytest.param("env=prod", ["prod-eu-1", "prod-us-1"], id="equals"),
        pytest.param("region in (eu),!canary", ["prod-eu-1"], id="in-and-not"),
        pytest.param("tier!=db,env", ["prod-eu-1", "prod-us-1", "staging-eu-1"], id="not-equals-and-exists"),
    ],
)
def test_list_selects_by_label_and_prints_json(selector: str, names: list[str]) -> None:
    result = _run(
        "list", "--cluster-list", str(DATA / "cluster-list.yaml"), "--selector", selector, "-o", "json"
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert [c["name"] for c in doc] == names
    assert all(set(c) >= {"server", "labels", "credentials", "source"} for c in doc)


def test_list_reads_chosen_kubeconfig_contexts_without_printing_credentials() -> None:
    result = _run(
        "list",
        "--kubeconfig",
        str(DATA / "kubeconfig-multi.yaml"),
        "--contexts",
        "dev,dev-basic",
        "-o",
        "json",
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert [c["name"] for c in doc] == ["dev", "dev-basic"]
    assert doc[0]["credentials"] == {"bearer_token": "***", "insecure": True}
    assert doc[1]["credentials"] == {"password": "***", "username": "admin", "insecure": True}
    assert "dev-static-token-abcdef" not in result.output and "basic-password-xyz" not in result.output


@pytest.mark.parametrize(
    "args, message",
    [
        pytest.param(["--selector", "env in (a"], "--selector", id="bad-selector"),
        pytest.param(["--kubeconfig", "/nonexistent/kubeconfig"], "does not exist", id="missing-kubeconfig"),
        pytest.param(
            ["--kubeconfig", str(DATA / "kubeconfig-a.yaml"), "--contexts", "nope"],
            "no context named 'nope'",
            id="unknown-context",
        ),
        pytest.param(
            ["--cluster-list", str(DATA / "argocd-secrets.yaml")], "field apiVersion", id="wrong-file-kind"
        ),
    ],
)
def test_bad_input_exits_2_with_a_message_naming_it(args: list[str], message: str) -> None:
    result = _run("list", *args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert result.stdout == ""


@pytest.fixture
def check_kubeconfig(sim_module, tmp_path: Path) -> Path:
    sim_module.clear_faults()
    path = tmp_path / "kubeconfig"
    sim_module.write_kubeconfig(path)
    yield path
    sim_module.clear_faults()


def test_check_reports_every_cluster_answering(sim_module, check_kubeconfig: Path) -> None:
    result = _run("check", "--kubeconfig", str(check_kubeconfig), "-o", "json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert [r["name"] for r in doc] == sorted(c.name for c in sim_module.clusters())
    assert all(r["status"] == "ok" and r["version"].startswith("v1.") and r["api_groups"] > 1 for r in doc)
    assert all(r["requests"] == 3 for r in doc)  # /version, /api, /apis


def test_check_isolates_broken_clusters_and_exits_1(sim_module, check_kubeconfig: Path) -> None:
    names = sorted(c.name for c in sim_module.clusters())
    sim_module.set_fault(names[0], unreachable=True)
    sim_module.set_fault(names[1], hang=True)
    result = _run("check", "--kubeconfig", str(check_kubeconfig), "--timeout", "1", "--retries", "1")
    assert result.exit_code == 1, result.output
    rows = {line.split()[0]: line.split()[1] for line in result.stdout.splitlines()[2:]}
    assert rows == {names[0]: "unreachable", names[1]: "unreachable", names[2]: "ok"}
    assert "1/3 clusters answered" in result.stderr


def test_check_reports_refused_credentials_as_unauthorized(sim_module, tmp_path: Path) -> None:
    cluster = sim_module.clusters()[0]
    listing = tmp_path / "clusters.yaml"
    listing.write_text(
        "apiVersion: fleet.gitops/v1\nkind: ClusterList\nclusters:\n"
        f"  - name: wrong-token\n    server: {cluster.server}\n    credentials: {{bearerToken: not-the-token-9999}}\n"
        f"  - name: right-token\n    server: {cluster.server}\n    credentials: {{bearerToken: {cluster.credentials.bearer_token}}}\n"
    )
    result = _run("check", "--cluster-list", str(listing), "-o", "json", "--full-discovery")
    assert result.exit_code == 1
    doc = {r["name"]: r for r in json.loads(result.stdout)}
    assert doc["wrong-token"]["status"] == "unauthorized"
    assert doc["right-token"]["status"] == "ok" and doc["right-token"]["resources"] > 10
    assert "not-the-token-9999" not in result.output and cluster.credentials.bearer_token not in result.output


def test_check_selects_by_label(sim_module, tmp_path: Path) -> None:
    secrets = tmp_path / "secrets.yaml"
    sim_module.write_cluster_secrets(secrets)
    everything = json.loads(_run("check", "--clusters", str(secrets), "-o", "json").stdout)
    first = sim_module.clusters()[0]
    label, value = next(iter(sorted(first.labels.items())))
    chosen = json.loads(
        _run("check", "--clusters", str(secrets), "-o", "json", "-l", f"{label}={value}").stdout
    )
    assert len(everything) == 3
    assert first.name in [r["name"] for r in chosen]
    assert all(r["status"] == "ok" for r in everything)


def test_check_through_the_installed_command(sim_module, check_kubeconfig: Path) -> None:
    import subprocess
    import sys

    fleet = Path(sys.executable).parent / "fleet"
    out = subprocess.run(
        [
            str(fleet),
            "--log-format",
            "json",
            "clusters",
            "check",
            "--kubeconfig",
            str(check_kubeconfig),
            "-o",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert len(json.loads(out.stdout)) == 3


def test_check_resolves_secret_reference_credentials_through_the_secret_layer(
    sim_module, tmp_path: Path
) -> None:
    cluster = sim_module.clusters()[0]
    listing = tmp_path / "clusters.yaml"
    listing.write_text(
        "apiVersion: fleet.gitops/v1\nkind: ClusterList\nclusters:\n"
        f"  - name: by-reference\n    server: {cluster.server}\n"
        f"    credentials: {{bearerToken: 'ref+echo://{cluster.credentials.bearer_token}'}}\n"
    )
    result = _run("check", "--cluster-list", str(listing), "-o", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[0]["status"] == "ok"
