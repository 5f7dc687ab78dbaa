"""Validation of generated Applications: invalid ones are skipped and reported, the others proceed."""

from __future__ import annotations

from typing import Any

import pytest

from fleet import models
from tests.fixtures import appset as fx


def appset(elements: list[dict[str, Any]], **template_spec: Any) -> dict[str, Any]:
    spec = {
        "project": "{{project}}",
        "destination": {"server": "{{server}}", "name": "{{cluster}}", "namespace": "x"},
    }
    spec.update(template_spec)
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": {"name": "checked", "namespace": "apps"},
        "spec": {
            "generators": [{"list": {"elements": elements}}],
            "template": {"metadata": {"name": "{{name}}"}, "spec": spec},
        },
    }


def ok(name: str, **extra: str) -> dict[str, str]:
    return {"name": name, "project": "default", "server": "", "cluster": "prod-eu", **extra}


INVALID = [
    (
        "empty name",
        ok(""),
        "ApplicationSet checked contains an application with no name; a name must be set in the"
        " template's metadata.name or via a templatePatch",
    ),
    ("empty project", ok("a", project=""), "application has no project (spec.project is empty)"),
    (
        "both server and name",
        ok("a", server="https://prod-eu.example.com:6443"),
        "application destination spec is invalid: application destination can't have both name and server defined:"
        " prod-eu https://prod-eu.example.com:6443",
    ),
    (
        "neither server nor name",
        ok("a", cluster=""),
        "application destination spec is invalid: Destination server missing from app spec",
    ),
    (
        "unknown cluster name",
        ok("a", cluster="nowhere"),
        "application destination spec is invalid: there are no clusters with this name: nowhere",
    ),
    (
        "unknown server",
        ok("a", cluster="", server="https://nowhere.example.com"),
        'application destination spec is invalid: error getting cluster by server "https://nowhere.example.com":'
        ' cluster "https://nowhere.example.com" not found',
    ),
]


@pytest.mark.parametrize("element, message", [c[1:] for c in INVALID], ids=[c[0] for c in INVALID])
def test_an_invalid_application_is_skipped_and_reported_with_its_origin(
    element: dict[str, str], message: str
) -> None:
    result = fx.generate(appset([ok("good"), element]))
    assert result.error is None
    assert [a["metadata"]["name"] for a in result.objects] == ["good"]
    (invalid,) = result.invalid
    assert invalid.message == message
    assert invalid.origin.generator == "generators[0].list"
    assert invalid.origin.params == element
    text = str(invalid)
    assert "ApplicationSet checked" in text and "generators[0].list" in text and "parameter set" in text


def test_every_application_of_a_duplicated_name_is_skipped() -> None:
    result = fx.generate(appset([ok("dup"), ok("other"), ok("dup", cluster="prod-us")]))
    assert [a["metadata"]["name"] for a in result.objects] == ["other"]
    assert [(i.name, i.message) for i in result.invalid] == [
        ("dup", "ApplicationSet checked contains applications with duplicate name: dup"),
        ("dup", "ApplicationSet checked contains applications with duplicate name: dup"),
    ]


VALID_DESTINATIONS = [
    ("a cluster by name", {"cluster": "prod-us"}),
    ("a cluster by server", {"cluster": "", "server": "https://prod-us.example.com:6443"}),
    ("a trailing slash on the server", {"cluster": "", "server": "https://prod-us.example.com:6443/"}),
    ("in-cluster by name", {"cluster": "in-cluster"}),
    ("in-cluster by server", {"cluster": "", "server": "https://kubernetes.default.svc"}),
]


@pytest.mark.parametrize(
    "overrides", [c[1] for c in VALID_DESTINATIONS], ids=[c[0] for c in VALID_DESTINATIONS]
)
def test_known_destinations_are_valid(overrides: dict[str, str]) -> None:
    result = fx.generate(appset([ok("a", **overrides)]))
    assert result.invalid == () and len(result.objects) == 1


def test_without_in_cluster_the_local_cluster_is_unknown() -> None:
    result = fx.generate(appset([ok("a", cluster="in-cluster")]), in_cluster=False)
    assert [i.message for i in result.invalid] == [
        "application destination spec is invalid: there are no clusters with this name: in-cluster"
    ]


def test_two_clusters_of_one_name_make_the_name_ambiguous() -> None:
    twins = [
        models.Cluster(name="twin", server="https://a.example.com"),
        models.Cluster(name="twin", server="https://b.example.com"),
    ]
    result = fx.generate(appset([ok("a", cluster="twin")]), clusters=twins)
    assert [i.message for i in result.invalid] == [
        "application destination spec is invalid: there are 2 clusters with the same name: [https://a.example.com https://b.example.com]"
    ]


def test_projects_are_checked_when_known_and_default_always_exists() -> None:
    elements = [ok("a", project="payments"), ok("b", project="default"), ok("c", project="search")]
    unchecked = fx.generate(appset(elements))
    assert len(unchecked.objects) == 3
    checked = fx.generate(appset(elements), projects=["payments"])
    assert [a["metadata"]["name"] for a in checked.objects] == ["a", "b"]
    assert [i.message for i in checked.invalid] == [
        "application references project search which does not exist"
    ]


def test_generated_applications_are_valid_argo_cd_models() -> None:
    result = fx.generate(
        appset([ok("a")], syncPolicy={"automated": {"prune": True}, "syncOptions": ["CreateNamespace=true"]})
    )
    (app,) = result.applications
    assert app.name == "a" and app.namespace == "apps" and app.project == "default"
    assert app.auto_prune and app.sync_options() == {"CreateNamespace": "true"}
    assert app.metadata.finalizers == ["resources-finalizer.argocd.argoproj.io"]
