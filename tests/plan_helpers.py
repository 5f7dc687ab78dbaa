"""Helpers for the `fleet plan` tests: Argo CD cluster Secrets for clusters nobody contacts (a plan
needs none without --live), and `fleet plan` through the CLI (`typer.testing.CliRunner` on
`fleet.cli.app`) with its JSON parsed."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from typer.testing import CliRunner

from fleet import models
from fleet.cli import app
from fleet.clusters import argocd

REPO_URL = "https://git.example.com/fleet.git"
ENVS = ("dev", "staging", "prod")


def env_labels(index: int) -> dict[str, str]:
    """dev, staging, prod in turn; core and edge in turn; one region for all."""
    return {"env": ENVS[index % 3], "tier": ("core", "edge")[index % 2], "region": "eu"}


def write_clusters(path: Path, count: int, *, labels: Callable[[int], dict[str, str]] = env_labels) -> Path:
    """Argo CD cluster Secrets of c001..cNNN, at servers that do not exist (a plan never calls them)."""
    docs = [
        argocd.cluster_secret(
            models.Cluster(
                name=f"c{i:03d}",
                server=f"https://c{i:03d}.clusters.invalid",
                labels=labels(i - 1),
                credentials=models.ClusterCredentials(bearer_token="not-used-by-a-plan"),
            ),
            namespace="argocd",
        )
        for i in range(1, count + 1)
    ]
    path.write_text(yaml.safe_dump_all(docs, sort_keys=False))
    return path


@dataclass
class PlanRun:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def doc(self) -> dict[str, Any]:
        found: dict[str, Any] = json.loads(self.stdout)
        return found

    def groups(self, change: str | None = None) -> list[dict[str, Any]]:
        return [g for g in self.doc["groups"] if change is None or g["change"] == change]

    def application(self, cluster: str, name: str) -> dict[str, Any]:
        return next(a for a in self.doc["applications"] if a["cluster"] == cluster and a["app"] == name)


def run_plan(fleet: Path, clusters: Path, *args: str, output: str = "json", repo_map: bool = True) -> PlanRun:
    """`fleet plan FLEET --clusters F [--repo-map REPO_URL=FLEET] ARGS -o OUTPUT`."""
    argv: Sequence[str] = [
        "--log-format",
        "json",
        "plan",
        str(fleet),
        "--clusters",
        str(clusters),
        *(["--repo-map", f"{REPO_URL}={fleet}"] if repo_map else []),
        *args,
        "-o",
        output,
    ]
    result = CliRunner().invoke(app, list(argv))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return PlanRun(result.exit_code, result.stdout, result.stderr)


def appset(name: str, path: str, *, generator: dict[str, Any] | None = None, **spec: Any) -> dict[str, Any]:
    """An ApplicationSet of one Application per cluster, its source at ``path`` in REPO_URL."""
    template_spec: dict[str, Any] = {
        "project": spec.pop("project", "default"),
        "source": {"repoURL": REPO_URL, "targetRevision": "HEAD", "path": path},
        "destination": {"name": "{{name}}", "namespace": spec.pop("namespace", name)},
        "syncPolicy": spec.pop("sync_policy", {"automated": {"prune": True}}),
    }
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": {"name": name, "namespace": "argocd"},
        "spec": {
            "generators": [generator or {"clusters": {}}],
            "template": {"metadata": {"name": f"{name}-{{{{name}}}}"}, "spec": template_spec},
            **spec,
        },
    }


def dump(*docs: dict[str, Any]) -> str:
    return yaml.safe_dump_all(list(docs), sort_keys=False)
