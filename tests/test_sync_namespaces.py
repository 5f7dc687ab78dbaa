"""Namespaces of applied objects: namespaced objects without one go to the destination namespace
(or ``default`` when the Application names none), cluster-scoped ones never get one, and the
scope comes from the cluster's discovery, so a cluster-scoped custom resource is recognised too;
either way the next sync finds them in sync."""

from __future__ import annotations

import pytest

CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.com"},
    "spec": {
        "group": "example.com",
        "scope": "Cluster",
        "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "schema": {
                    "openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
                },
            }
        ],
    },
}
WIDGET = {
    "apiVersion": "example.com/v1",
    "kind": "Widget",
    "metadata": {"name": "gear"},
    "spec": {"teeth": 12},
}


def application(namespace: str | None) -> dict:
    destination = {"name": "c001"} | ({"namespace": namespace} if namespace else {})
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "scoped"},
        "spec": {
            "project": "default",
            "destination": destination,
            "source": {"repoURL": "https://git.example.com/fleet.git", "path": "apps/scoped"},
        },
    }


@pytest.mark.parametrize(
    "namespace, lands_in", [("web", "web"), (None, "default")], ids=["destination", "default"]
)
def test_objects_land_in_the_right_namespace_and_stay_in_sync(make_fleet, namespace, lands_in) -> None:
    env = make_fleet("basic", clusters=1)
    env.write("scoped.yaml", application(namespace))
    env.write(
        "apps/scoped/config.yaml",
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "scoped"}, "data": {"a": "b"}},
    )
    env.write(
        "apps/scoped/role.yaml",
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": "scoped-reader"},
            "rules": [],
        },
    )
    assert env.sync("--app", "web-c001").exit_code == 0  # the web app creates namespace web
    first = env.sync("--app", "scoped")
    assert first.exit_code == 0, first.stderr
    assert env.names("c001", lands_in, "ConfigMap").count("scoped") == 1
    assert env.sim.get_object("c001", "rbac.authorization.k8s.io/v1", "ClusterRole", None, "scoped-reader")
    again = env.sync("--app", "scoped")
    assert again.run_result.summary()["changed"] == 0 and again.exit_code == 0


def test_a_cluster_scoped_custom_resource_is_recognised_from_its_crd(make_fleet) -> None:
    env = make_fleet("basic", clusters=1)
    env.write("scoped.yaml", application("web"))
    env.write("apps/scoped/crd.yaml", CRD)
    env.write(
        "apps/scoped/widget.yaml",
        WIDGET | {"metadata": {"name": "gear", "annotations": {"argocd.argoproj.io/sync-wave": "1"}}},
    )
    assert env.sync("--app", "web-c001").exit_code == 0
    first = env.sync("--app", "scoped")
    assert first.exit_code == 0, first.stderr
    (row,) = [r for r in first.app("c001", "scoped").resources if r.kind == "Widget"]
    assert row.namespace == ""
    again = env.sync("--app", "scoped")
    assert again.exit_code == 0 and again.run_result.summary()["changed"] == 0
