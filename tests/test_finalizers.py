"""The resources finalizer on generated Applications (Argo CD's RenderTemplateParams rule)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fixtures import appset as fx

FINALIZER = "resources-finalizer.argocd.argoproj.io"

CASES = [
    ("added by default", None, None, [FINALIZER]),
    ("added when preserve is false", None, False, [FINALIZER]),
    ("not added when preserve is true", None, True, None),
    ("template finalizers are kept", ["custom/cleanup"], None, ["custom/cleanup"]),
    ("template finalizers are kept even with preserve", ["custom/cleanup"], True, ["custom/cleanup"]),
    ("an empty list counts as none", [], None, [FINALIZER]),
]


@pytest.mark.parametrize("finalizers, preserve, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_the_resources_finalizer_follows_argo_cd(
    finalizers: list[str] | None, preserve: bool | None, expected: Any
) -> None:
    metadata: dict[str, Any] = {"name": "{{n}}"}
    if finalizers is not None:
        metadata["finalizers"] = finalizers
    spec: dict[str, Any] = {
        "generators": [{"list": {"elements": [{"n": "a"}]}}],
        "template": {
            "metadata": metadata,
            "spec": {"project": "default", "destination": {"name": "in-cluster"}},
        },
    }
    if preserve is not None:
        spec["syncPolicy"] = {"preserveResourcesOnDeletion": preserve}
    result = fx.generate(
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "ApplicationSet",
            "metadata": {"name": "f"},
            "spec": spec,
        }
    )
    (app,) = result.objects
    assert app["metadata"].get("finalizers") == expected
