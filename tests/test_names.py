"""One meaning per name: the names that once meant several things (issue 9) are defined once.

`Settings` was the worker's run settings, the notification targets and the secret providers'
options; `Output` and `OutputFormat` were five table/json/yaml enums; `Reason` was a sync result's
reason and two of the simulator's; `PropagationPolicy` existed in two casings.
"""

from __future__ import annotations

import ast
import functools
from collections import defaultdict

import pytest

from tests.conftest import REPO_ROOT

FOLDERS = ("fleet", "generators", "secrets", "clusters")


@functools.cache
def class_definitions() -> dict[str, list[str]]:
    found: dict[str, list[str]] = defaultdict(list)
    for folder in FOLDERS:
        for path in (REPO_ROOT / folder).rglob("*.py"):
            if path.relative_to(REPO_ROOT).parts[1:2] in (("generators",), ("secrets",), ("clusters",)):
                continue  # fleet/generators etc. are links to the top-level folders
            for node in ast.parse(path.read_text()).body:
                if isinstance(node, ast.ClassDef):
                    found[node.name].append(str(path.relative_to(REPO_ROOT)))
    return found


@pytest.mark.parametrize("name", ["Settings", "Output", "OutputFormat", "Reason", "PropagationPolicy"])
def test_a_name_that_once_meant_several_things_is_defined_at_most_once(name: str) -> None:
    assert len(class_definitions().get(name, [])) <= 1, class_definitions()[name]
