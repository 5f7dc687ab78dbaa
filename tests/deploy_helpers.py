"""Helpers for the deployment tests: the chart rendered by fleet's own Helm engine, and lookups.

``render_chart(values)`` renders ``deploy/chart`` through ``fleet.render`` (helm-python-sdk, the
engine `fleet sync` uses for Helm sources, values checked against ``values.schema.json``) for the
release ``fleet`` in ``fleet-system``. ``pod_specs(objects)`` finds every pod spec the chart
creates, including the ones inside KubeRay objects and the RayJob template.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from fleet import render
from fleet.render import cache
from tests.conftest import REPO_ROOT

CHART = REPO_ROOT / "deploy" / "chart"
DATA = REPO_ROOT / "tests" / "data" / "deploy"
RELEASE = "fleet"
NAMESPACE = "fleet-system"
REPO_URL = "https://git.example.com/platform/fleet.git"

# The smallest valid set of values: every other value keeps its default.
MINIMAL: dict[str, Any] = {"fleet": {"repository": REPO_URL}}
# The store on PostgreSQL, its URL from an existing Secret.
POSTGRES: dict[str, Any] = {
    "store": {"type": "postgresql", "postgresql": {"urlSecret": {"name": "fleet-store-url"}}}
}


def merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def render_chart(values: Mapping[str, Any], *, namespace: str = NAMESPACE) -> list[dict[str, Any]]:
    """The chart's objects for these values (raises fleet.render.RenderError on bad values)."""
    return render.render_source(
        {"path": "deploy/chart", "helm": {"valuesObject": dict(values), "releaseName": RELEASE}},
        source_dir=REPO_ROOT,
        app_name=RELEASE,
        namespace=namespace,
        revision="deploy-tests",
        cache=cache.NO_CACHE,
    )


def find(objects: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    for obj in objects:
        if obj["kind"] == kind and (name is None or obj["metadata"]["name"] == name):
            return obj
    raise AssertionError(f"no {kind} {name or ''} among {[o['kind'] for o in objects]}")


def kinds(objects: list[dict[str, Any]]) -> list[str]:
    return sorted(o["kind"] for o in objects)


def rayjob_template(objects: list[dict[str, Any]]) -> dict[str, Any]:
    """The RayJob the CronJob creates on each run (kept in a ConfigMap)."""
    config_map = find(objects, "ConfigMap", f"{RELEASE}-rayjob")
    loaded: dict[str, Any] = yaml.safe_load(config_map["data"]["rayjob.yaml"])
    return loaded


def _ray_cluster_pods(where: str, spec: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    yield f"{where} head", spec["headGroupSpec"]["template"]["spec"]
    for group in spec.get("workerGroupSpecs", []):
        yield f"{where} workers {group['groupName']}", group["template"]["spec"]


def pod_specs(objects: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """(where, pod spec) for every pod the chart can start."""
    found: list[tuple[str, dict[str, Any]]] = []
    for obj in objects:
        kind, name = obj["kind"], obj["metadata"]["name"]
        if kind == "CronJob":
            found.append((f"CronJob {name}", obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]))
        elif kind == "Deployment":
            found.append((f"Deployment {name}", obj["spec"]["template"]["spec"]))
        elif kind == "RayCluster":
            found.extend(_ray_cluster_pods(f"RayCluster {name}", obj["spec"]))
        elif kind == "ConfigMap" and name.endswith("-rayjob"):
            job = rayjob_template(objects)
            found.append(("RayJob submitter", job["spec"]["submitterPodTemplate"]["spec"]))
            found.extend(_ray_cluster_pods("RayJob", job["spec"]["rayClusterSpec"]))
    return found


def dump(objects: list[dict[str, Any]], path: Path) -> Path:
    path.write_text(yaml.safe_dump_all(objects, sort_keys=False))
    return path
