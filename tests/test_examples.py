"""The bundled example fleet (examples/fleet-repo, examples/clusters.yaml) generates cleanly.

``make demo`` prints it; the sync demo builds a git repository from it. This keeps both honest.
"""

from __future__ import annotations

import collections

from fleet import appset
from fleet.clusters import argocd
from tests.conftest import REPO_ROOT

FLEET = REPO_ROOT / "examples" / "fleet-repo"
REPO_URL = "https://git.example.com/platform/fleet.git"


def test_the_example_fleet_expands_without_errors_or_invalid_applications() -> None:
    clusters = argocd.load_cluster_secrets(REPO_ROOT / "examples" / "clusters.yaml")
    assert len(clusters) == 50
    result = appset.expand_fleet(FLEET, clusters=clusters, repo_map={REPO_URL: FLEET})
    assert result.errors == [] and result.invalid == [] and result.warnings == []
    counts = {r.name: len(r.objects) for r in result.results}
    assert counts == {"apps": 150, "dashboards": 16, "greeter": 23, "hello-by-env": 16, "platform": 50}
    apps = result.applications
    assert len(apps) == 256  # with the plain Application
    assert len({a.name for a in apps}) == 256
    destinations = collections.Counter(a.destination.name for a in apps)
    assert set(destinations) == {c.name for c in clusters}
    # Every source points into the example repository, at a path that exists there.
    for app in apps:
        for source in app.sources_list():
            assert source.repo_url == REPO_URL
            assert (FLEET / (source.path or "")).is_dir(), (app.name, source.path)


def test_production_platform_components_sync_by_hand() -> None:
    clusters = argocd.load_cluster_secrets(REPO_ROOT / "examples" / "clusters.yaml")
    result = appset.expand_fleet(FLEET, clusters=clusters, repo_map={REPO_URL: FLEET})
    platform = {a.name: a for a in result.applications if a.name.startswith("platform-")}
    assert platform["platform-c001"].self_heal and platform["platform-c001"].auto_prune
    assert platform["platform-c030"].automated() is None
