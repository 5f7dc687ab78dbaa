"""Generation builds each template once and shares what no parameter changes between the
Applications it renders (issue 15: 50,000 Applications without a copy of the template each), and
reuses a matrix's second child when nothing of the first reaches it. Nothing one Application or
one combination changes may show in another: a templatePatch over a static part of the
template, the finalizer, and a Go template changing a map of its parameters (Sprig's ``set``)."""

from __future__ import annotations

import copy
from typing import Any

from fleet import templating
from tests.fixtures import appset as fx


def test_a_template_patch_over_static_parts_changes_only_its_own_application() -> None:
    doc: dict[str, Any] = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": {"name": "patched", "namespace": "argocd"},
        "spec": {
            "generators": [
                {"list": {"elements": [{"app": "a", "prune": "true"}, {"app": "b", "prune": "false"}]}}
            ],
            "template": {
                "metadata": {"name": "{{app}}", "labels": {"team": "web"}},
                "spec": {
                    "project": "default",
                    "destination": {"name": "in-cluster", "namespace": "web"},
                    "syncPolicy": {"automated": {"selfHeal": True}, "syncOptions": ["CreateNamespace=true"]},
                },
            },
            "templatePatch": "metadata:\n  labels:\n    app: '{{app}}'\nspec:\n  syncPolicy:\n    automated:\n      prune: {{prune}}\n",
        },
    }
    template = copy.deepcopy(doc["spec"]["template"])
    result = fx.generate(doc)
    assert result.error is None, result.error
    a, b = result.objects
    assert a["metadata"]["labels"] == {"team": "web", "app": "a"}
    assert b["metadata"]["labels"] == {"team": "web", "app": "b"}
    assert a["spec"]["syncPolicy"]["automated"] == {"selfHeal": True, "prune": True}
    assert b["spec"]["syncPolicy"]["automated"] == {"selfHeal": True, "prune": False}
    assert a["metadata"]["finalizers"] == b["metadata"]["finalizers"] == [templating.FINALIZER]
    assert a["metadata"]["finalizers"] is not b["metadata"]["finalizers"]
    assert result.appset.to_dict()["spec"]["template"] == template


def test_a_go_template_changing_a_parameter_map_changes_it_for_its_own_combination_only() -> None:
    doc = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": {"name": "setter", "namespace": "argocd"},
        "spec": {
            "goTemplate": True,
            "generators": [
                {
                    "matrix": {
                        "generators": [
                            {"list": {"elements": [{"app": "a"}, {"app": "b"}, {"app": "c"}]}},
                            {"list": {"elements": [{"env": "dev", "cfg": {"owner": "nobody"}}]}},
                        ]
                    }
                }
            ],
            "template": {
                "metadata": {
                    "name": "{{ .app }}-{{ .env }}",
                    "annotations": {"owner": '{{ .cfg.owner }}{{ $_ := set .cfg "owner" .app }}'},
                },
                "spec": {"project": "default", "destination": {"name": "in-cluster", "namespace": "web"}},
            },
        },
    }
    result = fx.generate(doc)
    assert result.error is None, result.error
    assert [o["metadata"]["annotations"]["owner"] for o in result.objects] == ["nobody"] * 3
