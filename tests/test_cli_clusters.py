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
    result = _run("list", "--clusters", str(DATA / "argocd-secrets.yaml"), "--cluster-list", str(DATA / "cluster-list.yaml"))
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
    result = _run("list", "--cluster-list", str(DATA / "cluster-list.yaml"), "--selector", selector, "-o", "json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert [c["name"] for c in doc] == names
    assert all(set(c) >= {"server", "labels", "credentials", "source"} for c in doc)


def test_list_reads_chosen_kubeconfig_contexts_without_printing_credentials() -> None:
    result = _run("list", "--kubeconfig", str(DATA / "kubeconfig-multi.yaml"), "--contexts", "dev,dev-basic", "-o", "json")
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
        pytest.param(["--kubeconfig", str(DATA / "kubeconfig-a.yaml"), "--contexts", "nope"], "no context named 'nope'", id="unknown-context"),
        pytest.param(["--cluster-list", str(DATA / "argocd-secrets.yaml")], "field apiVersion", id="wrong-file-kind"),
    ],
)
def test_bad_input_exits_2_with_a_message_naming_it(args: list[str], message: str) -> None:
    result = _run("list", *args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert result.stdout == ""
