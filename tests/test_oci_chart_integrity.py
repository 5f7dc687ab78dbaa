"""What an OCI registry serves is checked before it is used, and kept like charts from HTTP
repositories: a chart layer whose bytes no longer match its digest (changed in the registry's
storage behind its back), an artifact that is not a Helm chart, and an archive that would write
outside the chart are refused and leave nothing in the cache; a chart already unpacked in
``$FLEET_CACHE_DIR/helm`` is reused by the next run, which reads tags and the manifest but
downloads no layer."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from fleet import repocreds
from fleet.render import helmrepo
from tests.fixtures.helmrepo import make_archive


@pytest.fixture
def registry(oci_registry) -> Any:
    oci_registry.digests = oci_registry.publish_podinfo(("6.5.0", "6.5.1"))
    return oci_registry


def _fetcher(registry: Any) -> helmrepo.ChartFetcher:
    creds = repocreds.RepoCredentials.from_objects(
        [registry.repo_secret(kind="repo-creds", url=registry.host)]
    )
    return helmrepo.ChartFetcher(credentials=creds)


def _cached_charts() -> list[Path]:
    root = Path(os.environ["FLEET_CACHE_DIR"]) / "helm" / "charts"
    return list(root.rglob("Chart.yaml")) if root.exists() else []


def _layer_digest(registry: Any, version: str) -> str:
    manifest = registry.request(
        "GET",
        f"/v2/charts/podinfo/manifests/{version}",
        repository="charts/podinfo",
        headers={"Accept": "application/vnd.oci.image.manifest.v1+json"},
    )[2]
    return json.loads(manifest)["layers"][0]["digest"]


def test_a_layer_changed_in_the_registry_storage_is_refused(registry) -> None:
    digest = _layer_digest(registry, "6.5.1").removeprefix("sha256:")
    blob = registry.root / "storage/docker/registry/v2/blobs/sha256" / digest[:2] / digest / "data"
    data = bytearray(blob.read_bytes())
    data[-1] ^= 0xFF  # same size, other bytes
    blob.write_bytes(bytes(data))
    with pytest.raises(helmrepo.DigestMismatchError) as caught:
        _fetcher(registry).fetch(f"{registry.host}/charts", "podinfo", "6.5.1", app="web")
    assert f"sha256:{digest}" in str(caught.value) and "refusing it" in str(caught.value)
    assert _cached_charts() == []


def test_an_artifact_that_is_not_a_helm_chart_is_refused(registry) -> None:
    archive = registry.root / "x.tgz"
    archive.write_bytes(make_archive([("podinfo/Chart.yaml", b"name: podinfo\nversion: 9.0.0\n")]))
    registry.push_chart_archive(
        "charts/podinfo",
        archive.read_bytes(),
        tag="9.0.0",
        config={"os": "linux"},
        config_type="application/vnd.oci.image.config.v1+json",
        layer_type="application/vnd.oci.image.layer.v1.tar+gzip",
    )
    with pytest.raises(helmrepo.RepoRefusedError) as caught:
        _fetcher(registry).fetch(f"{registry.host}/charts", "podinfo", "9.0.0")
    assert "is not a Helm chart" in str(caught.value)
    assert registry.served("/blobs/") == 0


def test_an_archive_that_leaves_the_chart_is_refused(registry) -> None:
    evil = make_archive(
        [
            ("podinfo/Chart.yaml", b"apiVersion: v2\nname: podinfo\nversion: 9.0.1\n"),
            ("podinfo/../../escaped.yaml", b"kind: Oops\n"),
        ]
    )
    registry.push_chart_archive(
        "charts/podinfo",
        evil,
        tag="9.0.1",
        config={"apiVersion": "v2", "name": "podinfo", "version": "9.0.1"},
    )
    with pytest.raises(helmrepo.UnsafeChartError) as caught:
        _fetcher(registry).fetch(f"oci://{registry.host}/charts/podinfo", "", "9.0.1")
    assert "outside the chart" in str(caught.value)
    assert _cached_charts() == []
    assert not list(Path(os.environ["FLEET_CACHE_DIR"]).parent.rglob("escaped.yaml"))


def test_the_next_run_reuses_the_unpacked_chart_and_downloads_no_layer(registry) -> None:
    first = _fetcher(registry).fetch(f"{registry.host}/charts", "podinfo", "6.5.*")
    assert first.downloaded and registry.served("/blobs/") == 1
    again = _fetcher(registry).fetch(f"{registry.host}/charts", "podinfo", "6.5.*")  # a new run
    assert not again.downloaded and again.path == first.path
    assert registry.served("/blobs/") == 1
    assert registry.served("/tags/list") == 2 and registry.served("/manifests/6.5.1") == 2
    # Within one run, a second Application on the same chart costs no request at all.
    fetcher = _fetcher(registry)
    fetcher.fetch(f"{registry.host}/charts", "podinfo", "6.5.*")
    before = fetcher.registry_requests
    fetcher.fetch(f"oci://{registry.host}/charts/podinfo", "", "6.5.*")
    assert fetcher.registry_requests == before
    assert helmrepo.archive_digest(first.path) == _layer_digest(registry, "6.5.1").removeprefix("sha256:")
