"""The list generator: elements and elementsYaml, in fasttemplate mode (goTemplate: test_gotemplate_mode)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.fixtures import appset as fx


@pytest.mark.parametrize("name", fx.case_names("list-"))
def test_list_generator_case(name: str, run_case: Callable[[str], Any]) -> None:
    case, result = run_case(name)
    fx.check_case(case, result)


def test_list_elements_keep_their_order_and_each_yields_one_application() -> None:
    appset = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": {"name": "order"},
        "spec": {
            "generators": [{"list": {"elements": [{"n": str(i)} for i in range(20)]}}],
            "template": {
                "metadata": {"name": "app-{{n}}"},
                "spec": {"project": "default", "destination": {"name": "in-cluster", "namespace": "x"}},
            },
        },
    }
    result = fx.generate(appset)
    assert [a["metadata"]["name"] for a in result.objects] == [f"app-{i}" for i in range(20)]


def test_an_element_that_is_not_an_object_is_an_error() -> None:
    result = fx.generate(
        """
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {name: scalar}
spec:
  generators: [{list: {elements: [plain-string]}}]
  template: {metadata: {name: x}, spec: {project: default, destination: {name: in-cluster}}}
"""
    )
    assert "elements[0]: error unmarshalling list element: must be an object, not str" in str(result.error)
