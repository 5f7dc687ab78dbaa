"""templatePatch: rendered per parameter set, parsed as YAML or JSON, applied as a strategic merge.

These cases use fasttemplate; conditional patches with Go templates are in test_gotemplate_mode.
"""

from __future__ import annotations

from typing import Any

import pytest

from fleet import templating
from tests.fixtures import appset as fx

TEMPLATE = {
    "metadata": {"name": "{{name}}", "labels": {"keep": "yes"}, "finalizers": ["custom/finalizer"]},
    "spec": {
        "project": "default",
        "source": {
            "repoURL": "https://git.example.com/r.git",
            "path": "p",
            "helm": {"valueFiles": ["a.yaml", "b.yaml"]},
        },
        "destination": {"name": "in-cluster", "namespace": "ns"},
        "syncPolicy": {"syncOptions": ["CreateNamespace=true"]},
    },
}


def appset(patch: str | None) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "generators": [{"list": {"elements": [{"name": "app", "ns": "patched"}]}}],
        "template": TEMPLATE,
    }
    if patch is not None:
        spec["templatePatch"] = patch
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": {"name": "patched"},
        "spec": spec,
    }


def patched(patch: str) -> dict[str, Any]:
    result = fx.generate(appset(patch))
    assert result.error is None, str(result.error)
    (app,) = result.objects
    return app


def test_maps_merge_and_new_keys_are_added() -> None:
    app = patched(
        "spec:\n  syncPolicy:\n    automated: {prune: true, selfHeal: true}\n  destination: {namespace: '{{ns}}'}\n"
    )
    assert app["spec"]["syncPolicy"] == {
        "syncOptions": ["CreateNamespace=true"],
        "automated": {"prune": True, "selfHeal": True},
    }
    assert app["spec"]["destination"] == {"name": "in-cluster", "namespace": "patched"}


def test_lists_are_replaced() -> None:
    app = patched("spec:\n  source:\n    helm:\n      valueFiles: [c.yaml]\nmetadata:\n  finalizers: []\n")
    assert app["spec"]["source"]["helm"]["valueFiles"] == ["c.yaml"]
    assert app["metadata"]["finalizers"] == []


def test_null_deletes_a_key() -> None:
    app = patched("metadata:\n  labels:\n    keep: null\nspec:\n  syncPolicy: null\n")
    assert app["metadata"]["labels"] == {}
    assert "syncPolicy" not in app["spec"]


def test_an_empty_spec_clears_it_but_the_project_stays() -> None:
    app = {"metadata": {"name": "a"}, "spec": {"project": "default", "destination": {"name": "in-cluster"}}}
    assert templating.apply_template_patch(app, "spec:\n")["spec"] == {
        "destination": {},
        "project": "default",
    }
    # Through the engine, the cleared destination then fails validation (issue argo-cd#17040).
    result = fx.generate(appset("spec:\n"))
    assert result.error is None and result.objects == ()
    assert [i.message for i in result.invalid] == [
        "application destination spec is invalid: Destination server missing from app spec"
    ]


def test_the_project_cannot_be_changed() -> None:
    app = patched('{"spec": {"project": "admin", "destination": {"namespace": "x"}}}')
    assert app["spec"]["project"] == "default"
    assert app["spec"]["destination"]["namespace"] == "x"


def test_the_namespace_is_always_the_application_sets() -> None:
    assert patched("metadata: {namespace: kube-system}")["metadata"]["namespace"] == "argocd"


def test_patch_replace_directive_replaces_a_map() -> None:
    app = patched(
        "spec:\n  source:\n    $patch: replace\n    repoURL: https://other.example.com/x.git\n    chart: nginx\n"
    )
    assert app["spec"]["source"] == {"repoURL": "https://other.example.com/x.git", "chart": "nginx"}


def test_the_finalizer_rule_runs_before_the_patch() -> None:
    doc = appset("metadata:\n  labels: {patched: 'yes'}\n")
    doc["spec"]["template"] = {**TEMPLATE, "metadata": {"name": "{{name}}"}}
    (app,) = fx.generate(doc).objects
    assert app["metadata"]["finalizers"] == ["resources-finalizer.argocd.argoproj.io"]
    assert app["metadata"]["labels"] == {"patched": "yes"}


ERRORS = [
    ("not YAML", "spec: [unclosed", "error while converting template to json"),
    ("not a mapping", "- a\n- b", "must render to a mapping"),
    (
        "a field of the wrong type",
        "spec:\n  syncPolicy:\n    automated:\n      prune: 'yes'\n",
        "invalid templatePatch: spec.syncPolicy.automated.prune",
    ),
    ("an unclosed tag", "metadata: {name: '{{name}}-{{oops'}", "cannot find end tag"),
]


@pytest.mark.parametrize("patch, message", [c[1:] for c in ERRORS], ids=[c[0] for c in ERRORS])
def test_a_bad_patch_fails_the_application_set(patch: str, message: str) -> None:
    result = fx.generate(appset(patch))
    assert result.objects == ()
    assert message in str(result.error)
    assert "templatePatch" in str(result.error) and "ApplicationSet patched" in str(result.error)


STRATEGIC = [
    ("nested merge", {"a": {"b": 1, "c": 2}}, {"a": {"c": 3}}, {"a": {"b": 1, "c": 3}}),
    ("delete", {"a": 1, "b": 2}, {"a": None}, {"b": 2}),
    ("new map without nulls", {}, {"a": {"b": None, "c": 1}}, {"a": {"c": 1}}),
    ("map over scalar", {"a": "x"}, {"a": {"b": 1}}, {"a": {"b": 1}}),
    ("delete directive", {"a": {"b": 1}, "c": 1}, {"a": {"$patch": "delete"}}, {"c": 1}),
    ("retainKeys", {"a": 1, "b": 2, "c": 3}, {"$retainKeys": ["a", "c"], "c": 4}, {"a": 1, "c": 4}),
]


@pytest.mark.parametrize(
    "original, patch, expected", [c[1:] for c in STRATEGIC], ids=[c[0] for c in STRATEGIC]
)
def test_strategic_merge(original: dict[str, Any], patch: dict[str, Any], expected: dict[str, Any]) -> None:
    before = repr(original)
    assert templating.strategic_merge(original, patch) == expected
    assert repr(original) == before  # inputs are not changed
