"""Diff masking: Secret values and secret-layer paths never appear in a diff, only that they changed."""

from __future__ import annotations

import base64
import uuid
from pathlib import Path
from typing import Any

import yaml

from fleet import diff, redact

DATA = Path(__file__).parent / "data" / "diff"


def load(name: str) -> dict[str, Any]:
    return yaml.safe_load((DATA / f"{name}.yaml").read_text())


def secret_values() -> list[str]:
    values = ["hunter2-new-value", "old-password-value", "secret-token-value", "legacy-value-gone"]
    return values + [base64.b64encode(v.encode()).decode() for v in values]


def test_secret_diff_shows_which_keys_changed_but_no_value() -> None:
    result = diff.diff(load("secret-desired"), load("secret-live"))
    assert result.kind is diff.DiffKind.MODIFIED
    assert result.paths(diff.ChangeOp.CHANGE) == ["data.password"]
    for value in secret_values():
        assert value not in result.text
    assert "+  password: '*** (changed)'" in result.text
    assert "-  password: '***'" in result.text
    # Unchanged keys show masked on both sides, so they are context lines, not changes.
    assert "   token: '***'" in result.text


def test_missing_secret_shows_keys_only() -> None:
    result = diff.diff(load("secret-desired"), None)
    assert result.kind is diff.DiffKind.MISSING
    assert all(v not in result.text for v in secret_values())
    assert "password" in result.text


def test_extra_secret_shows_keys_only() -> None:
    result = diff.diff(None, load("secret-live"))
    assert all(v not in result.text for v in secret_values())
    assert "legacy" in result.text


def test_paths_reported_by_the_secret_layer_are_masked_in_any_kind() -> None:
    desired = {
        "apiVersion": "example.com/v1",
        "kind": "Database",
        "metadata": {"name": "db"},
        "spec": {
            "size": 2,
            "password": "resolved-from-vault",
            "users": [{"name": "a", "token": "tok-new-1234"}],
        },
    }
    live = {
        **desired,
        "spec": {
            "size": 1,
            "password": "previous-vault-value",
            "users": [{"name": "a", "token": "tok-old-1234"}],
        },
    }
    result = diff.diff(desired, live, secret_paths=["/spec/password", ("spec", "users", 0, "token")])
    for value in ("resolved-from-vault", "previous-vault-value", "tok-new-1234", "tok-old-1234"):
        assert value not in result.text
    assert "*** (changed)" in result.text
    assert "+  size: 2" in result.text


def test_registered_secret_values_are_masked_anywhere_in_the_text() -> None:
    # A unique value, left registered: clearing the process-wide mask would unmask other tests' values.
    leaked = f"leaked-{uuid.uuid4().hex}"
    redact.register(leaked)
    desired = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"x": leaked}}
    result = diff.diff(desired, {**desired, "data": {"x": "other"}})
    assert leaked not in result.text
    assert result.paths(diff.ChangeOp.CHANGE) == ["data.x"]
