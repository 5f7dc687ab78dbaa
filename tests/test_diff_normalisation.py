"""Diff normalisation: desired is a subset of live; server fields, defaults, other managers' items,
quantities and Secret stringData do not count as drift; real edits do."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from fleet import diff, inventory

DATA = Path(__file__).parent / "data" / "diff"


def load(name: str) -> dict[str, Any]:
    return yaml.safe_load((DATA / f"{name}.yaml").read_text())


def edited(obj: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    node = out
    parts = path.split(".")
    for part in parts[:-1]:
        node = node[int(part)] if part.isdigit() else node[part]
    last = parts[-1]
    if value is DELETE:
        del node[int(last) if last.isdigit() else last]
    else:
        node[int(last) if last.isdigit() else last] = value
    return out


DELETE = object()


def test_live_object_with_server_defaults_status_and_injected_sidecar_is_in_sync() -> None:
    result = diff.diff(load("deployment-desired"), load("deployment-live"))
    assert result.kind is diff.DiffKind.UNCHANGED, result.changes
    assert result.text == ""


DRIFT_CASES = [
    (
        "image-edited",
        "spec.template.spec.containers.0.image",
        "nginx:latest",
        diff.ChangeOp.CHANGE,
        "spec.template.spec.containers[name=app].image",
    ),
    ("replicas-scaled", "spec.replicas", 5, diff.ChangeOp.CHANGE, "spec.replicas"),
    ("label-changed", "metadata.labels.app", "other", diff.ChangeOp.CHANGE, "metadata.labels.app"),
    (
        "env-removed-by-hand",
        "spec.template.spec.containers.0.env",
        DELETE,
        diff.ChangeOp.ADD,
        "spec.template.spec.containers[name=app].env",
    ),
    (
        "container-deleted",
        "spec.template.spec.containers.0",
        DELETE,
        diff.ChangeOp.ADD,
        "spec.template.spec.containers[name=app]",
    ),
    (
        "memory-changed",
        "spec.template.spec.containers.0.resources.limits.memory",
        "512Mi",
        diff.ChangeOp.CHANGE,
        "spec.template.spec.containers[name=app].resources.limits.memory",
    ),
]


@pytest.mark.parametrize(
    ("name", "path", "value", "op", "reported"), DRIFT_CASES, ids=[c[0] for c in DRIFT_CASES]
)
def test_manual_edits_are_drift(name: str, path: str, value: Any, op: diff.ChangeOp, reported: str) -> None:
    result = diff.diff(load("deployment-desired"), edited(load("deployment-live"), path, value))
    assert result.kind is diff.DiffKind.MODIFIED
    assert result.changes == (diff.Change(op, reported),)
    assert result.text.startswith("--- live apps/Deployment shop/web")


EQUIVALENT_CASES = [
    ("cpu-decimal-vs-millicores", 0.5, "500m"),
    ("int-vs-string", 1, "1"),
    ("memory-binary-vs-bytes", "1Gi", "1073741824"),
    ("kilo-vs-plain", "1k", 1000),
]


@pytest.mark.parametrize(("name", "want", "have"), EQUIVALENT_CASES, ids=[c[0] for c in EQUIVALENT_CASES])
def test_quantities_compare_by_value(name: str, want: Any, have: Any) -> None:
    desired = {"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "l"}, "spec": {"v": want}}
    live = {**desired, "spec": {"v": have}}
    assert diff.diff(desired, live).in_sync


def test_different_quantities_and_bools_are_not_equal() -> None:
    base = {"apiVersion": "v1", "kind": "X", "metadata": {"name": "l"}}
    assert not diff.diff({**base, "spec": {"v": "500m"}}, {**base, "spec": {"v": "1"}}).in_sync
    assert not diff.diff({**base, "spec": {"v": True}}, {**base, "spec": {"v": "true"}}).in_sync


def test_positional_lists_are_compared_whole() -> None:
    base = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}}
    result = diff.diff({**base, "spec": {"args": ["a", "b"]}}, {**base, "spec": {"args": ["a", "b", "c"]}})
    assert result.changes == (diff.Change(diff.ChangeOp.REMOVE, "spec.args[2]"),)


def test_null_and_empty_desired_values_are_not_drift() -> None:
    base = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "annotations": None}}
    assert diff.diff(
        {**base, "data": {}}, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}
    ).in_sync


def test_missing_and_extra_objects() -> None:
    desired = load("deployment-desired")
    assert diff.diff(desired, None).kind is diff.DiffKind.MISSING
    extra = diff.diff(None, load("deployment-live"))
    assert extra.kind is diff.DiffKind.EXTRA and extra.text.startswith("--- live")


def test_secret_string_data_is_compared_as_the_server_stores_it() -> None:
    desired = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s"},
        "stringData": {"k": "value-1"},
    }
    live = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"k": "dmFsdWUtMQ=="}}
    assert diff.diff(desired, live).in_sync


def test_diff_all_reports_out_of_sync_refs_including_objects_to_prune() -> None:
    desired = load("deployment-desired")
    stale = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "old", "namespace": "shop"}}
    live = {inventory.ObjectRef.from_object(o): o for o in (load("deployment-live"), stale)}
    result = diff.diff_all([desired], live, extra=[inventory.ObjectRef.from_object(stale)])
    assert result.out_of_sync() == [inventory.ObjectRef.from_object(stale)]
    assert not result.in_sync


def test_inputs_are_never_modified() -> None:
    desired, live = load("deployment-desired"), load("deployment-live")
    before = (copy.deepcopy(desired), copy.deepcopy(live))
    rules = diff.parse_ignore_differences(
        [
            {
                "group": "apps",
                "kind": "Deployment",
                "jsonPointers": ["/spec/replicas"],
                "managedFieldsManagers": ["sidecar-injector"],
            }
        ]
    )
    diff.diff(desired, edited(live, "spec.replicas", 9), ignore=rules)
    diff.respect_ignore_differences(desired, live, rules)
    assert (desired, live) == before
