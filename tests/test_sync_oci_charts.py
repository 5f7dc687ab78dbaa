"""`fleet sync` of Applications whose chart comes from an OCI registry, on simulated clusters, with
the registry's credentials in an Argo CD repository Secret passed with ``--repo-creds``: both
source forms render with the Application's values (a values file inside the chart, valuesObject
per cluster, ``$values/...`` from a git ``ref`` source), are applied, and record their revision
(the chart version for ``chart`` sources, the manifest digest for ``oci://`` sources, as in Argo
CD). Each chart layer is downloaded once per run and not at all by the next run, and the
password is in no output, log line, cached file or the status store."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from fleet import redact
from tests.fixtures.oci_registry import PASSWORD, USER


@pytest.fixture
def env(make_fleet, oci_registry_factory, tmp_path):
    registry = oci_registry_factory(auth="htpasswd")
    registry.digests = registry.publish_podinfo(("6.4.0", "6.5.0", "6.5.1"))
    fleet = make_fleet("ocirepo", clusters=2)
    appset = fleet.root / "appset.yaml"
    appset.write_text(appset.read_text().replace("REGISTRY", registry.host))
    creds = tmp_path / "repo-creds.yaml"
    # A template for the whole registry: the scheme-less and the oci:// forms both match it.
    creds.write_text(
        yaml.safe_dump(
            registry.repo_secret(
                kind="repo-creds", url=f"oci://{registry.host}", username=USER, password=PASSWORD
            )
        )
    )
    fleet.registry = registry
    fleet.creds = creds
    return fleet


def _config_map(env: Any, cluster: str, name: str) -> dict[str, Any]:
    return next(o for o in env.objects(cluster, "charts", "ConfigMap") if o["metadata"]["name"] == name)


def _files_mentioning(root: Path, *needles: str) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and any(n.encode() in p.read_bytes() for n in needles)]


def test_charts_from_an_oci_registry_sync_with_their_values_and_revision(env, tmp_path) -> None:
    run = env.run(
        "--verbose", "--log-format", "json", "sync", *env.args("--repo-creds", str(env.creds)), "-o", "json"
    )
    assert run.exit_code == 0, run.stderr
    for cluster in env.cluster_names:
        podinfo = run.app(cluster, f"podinfo-{cluster}")
        assert podinfo.ok and podinfo.revision == "6.5.1", podinfo.message
        assert _config_map(env, cluster, "web-podinfo")["data"] == {
            "chartVersion": "6.5.1",
            "message": f"hello from {cluster}",
            "color": "green",
            "namespace": "charts",
        }
        pinned = run.app(cluster, f"pinned-{cluster}")
        assert pinned.ok and pinned.revision == env.registry.digests["6.4.0"], pinned.message
        assert _config_map(env, cluster, "pinned-podinfo")["data"]["color"] == "red"
    # Four Applications on two charts: one layer download per chart version in the run.
    assert env.registry.served("/blobs/") == 2
    texts = (run.stdout, run.stderr, json.dumps([env.objects(c) for c in env.cluster_names]))
    for text in texts:
        assert PASSWORD not in text and redact.MASK not in text
    assert _files_mentioning(tmp_path / "cache", PASSWORD) == []
    assert _files_mentioning(env.state_dir, PASSWORD) == []


def test_the_next_run_downloads_no_chart_layer(env) -> None:
    assert env.sync("--repo-creds", str(env.creds)).exit_code == 0
    env.sim.reset_counts()
    run = env.sync("--repo-creds", str(env.creds))
    assert run.exit_code == 0, run.stderr
    assert run.run_result.summary()["changed"] == 0
    assert env.registry.served("/blobs/") == 2  # the first run's two, none since


def test_without_the_credentials_only_the_chart_applications_fail(env, tmp_path) -> None:
    flags_only = tmp_path / "flags-only.yaml"
    flags_only.write_text(yaml.safe_dump(env.registry.repo_secret(kind="repo-creds", url=env.registry.host)))
    run = env.sync("--repo-creds", str(flags_only))
    assert run.exit_code == 1
    for cluster in env.cluster_names:
        for name in (f"podinfo-{cluster}", f"pinned-{cluster}"):
            app = run.app(cluster, name)
            assert app.reason.value == "SourceFailed" and "needs credentials" in app.message, app.message
