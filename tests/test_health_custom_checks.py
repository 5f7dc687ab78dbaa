"""Pluggable health checks: Python registration, entry points and a declarative jq rules file."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from fleet import errors, health
from fleet.health import custom

H = health.Health
RULES = Path(__file__).parent / "data" / "health" / "custom"


@pytest.fixture(autouse=True)
def clean_registry() -> Iterator[None]:
    saved = dict(custom.CUSTOM_CHECKS)
    yield
    custom.CUSTOM_CHECKS.clear()
    custom.CUSTOM_CHECKS.update(saved)


def widget(**status: object) -> dict[str, object]:
    return {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "status": status}


RULE_CASES = [
    ("ready", widget(state="Ready"), H.HEALTHY, ""),
    ("error-with-message", widget(state="Error", error="disk full"), H.DEGRADED, "disk full"),
    ("no-rule-matches-uses-default", widget(state="Busy"), H.PROGRESSING, "no health rule matched"),
]


@pytest.mark.parametrize(("name", "obj", "expected", "message"), RULE_CASES, ids=[c[0] for c in RULE_CASES])
def test_rules_file_decides_health_with_jq(name: str, obj: dict, expected: H, message: str) -> None:
    assert custom.load_rules_file(RULES / "widget-rules.yaml") == [
        ("example.com", "Widget"),
        ("example.com", "Gadget"),
    ]
    result = health.check(obj)
    assert (result.status, message in result.message) == (expected, True)


def test_rules_without_default_fall_back_to_generic_check() -> None:
    custom.load_rules_file(RULES / "widget-rules.yaml")
    gadget = {"apiVersion": "example.com/v1", "kind": "Gadget", "spec": {"paused": True}}
    assert health.check(gadget) == health.HealthStatus(H.SUSPENDED, "paused by its owner")
    gadget["spec"] = {}
    gadget["status"] = {"conditions": [{"type": "Ready", "status": "False", "reason": "Broken"}]}
    assert health.check(gadget).status is H.DEGRADED


@pytest.mark.parametrize(
    ("fixture", "field"), [("bad-status.yaml", "rules[0].status"), ("bad-jq.yaml", "rules[0]")]
)
def test_bad_rules_file_is_an_input_error_naming_file_and_field(fixture: str, field: str) -> None:
    with pytest.raises(errors.InputError) as caught:
        custom.load_rules_file(RULES / fixture)
    assert caught.value.file == str(RULES / fixture)
    assert caught.value.field == field
    assert custom.CUSTOM_CHECKS.get(("example.com", "Widget")) is None


def test_registered_check_overrides_the_built_in_one() -> None:
    custom.register("apps", "Deployment", lambda obj: health.HealthStatus(H.DEGRADED, "policy says no"))
    assert health.check({"apiVersion": "apps/v1", "kind": "Deployment"}).message == "policy says no"


def test_entry_point_checks_are_registered_by_group_and_kind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "widget_health.py").write_text(
        textwrap.dedent(
            """
            from fleet import health

            def check(obj):
                return health.HealthStatus(health.Health.HEALTHY, "checked by plugin")
            """
        )
    )
    dist = tmp_path / "widget_health-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: widget-health\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[fleet.health_checks]\nexample.com/Widget = widget_health:check\nConfigMap = widget_health:check\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    added = custom.load_entry_points()
    sys.modules.pop("widget_health", None)
    assert set(added) == {("example.com", "Widget"), ("", "ConfigMap")}
    assert health.check(widget(state="Error")).message == "checked by plugin"
