"""CEL health checks with Flux's ``healthCheckExprs`` semantics: the evaluation order
(observedGeneration, inProgress, failed, current; none true is in progress), kind entries over
group entries, evaluation errors as Unknown, the language features Flux enables, and bad entries
as input errors naming file, entry and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from fleet import errors, health
from fleet.health import cel, config

H = health.Health
DATA = Path(__file__).parent / "data" / "health" / "argo"


def widget(generation: int = 1, **status: object) -> dict[str, object]:
    return {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w", "generation": generation},
        "spec": {"replicas": 2},
        "status": status,
    }


ENTRY = {
    "apiVersion": "example.com/v1",
    "kind": "Widget",
    "inProgress": "status.phase == 'Working'",
    "failed": "status.phase == 'Broken' || status.phase == 'Working'",
    "current": "status.phase == 'Done' || status.phase == 'Broken' || status.phase == 'Working'",
}

ORDER = [
    ("in-progress-is-tried-first", widget(phase="Working"), H.PROGRESSING, "inProgress expression is true"),
    ("failed-before-current", widget(phase="Broken"), H.DEGRADED, "failed expression is true"),
    ("current-last", widget(phase="Done"), H.HEALTHY, "current expression is true"),
    ("none-true-is-in-progress", widget(phase="Queued"), H.PROGRESSING, "no health expression is true yet"),
    (
        "an-unobserved-generation-is-in-progress",
        widget(generation=3, observedGeneration=2, phase="Done"),
        H.PROGRESSING,
        "status.observedGeneration differs from metadata.generation",
    ),
    (
        "an-observed-generation-goes-on-to-the-expressions",
        widget(generation=3, observedGeneration=3, phase="Done"),
        H.HEALTHY,
        "current expression is true",
    ),
    (
        "a-string-observed-generation-is-not-compared",
        widget(generation=3, observedGeneration="2", phase="Done"),
        H.HEALTHY,
        "current expression is true",
    ),
]


@pytest.mark.parametrize(("name", "obj", "status", "message"), ORDER, ids=[c[0] for c in ORDER])
def test_expressions_are_evaluated_in_fluxs_order(name: str, obj: dict, status: H, message: str) -> None:
    (check,) = cel.checks_from_entries([ENTRY], file="exprs.yaml")
    assert check(obj) == health.HealthStatus(status, message)


def test_an_expression_that_fails_to_evaluate_is_unknown_and_keeps_a_wave_waiting() -> None:
    (check,) = cel.checks_from_entries(
        [{"apiVersion": "example.com/v1", "kind": "Widget", "current": "status.ready == true"}],
        file="exprs.yaml",
    )
    result = check(widget())
    assert result.status is H.UNKNOWN and not result.status.is_settled()
    assert result.message.startswith(
        "exprs.yaml: healthCheckExprs[0] (example.com/v1 Widget).current: failed to"
    )
    assert "ready" in result.message


def test_a_non_boolean_result_is_unknown() -> None:
    (check,) = cel.checks_from_entries(
        [{"apiVersion": "example.com/v1", "kind": "Widget", "current": "status.phase"}], file="exprs.yaml"
    )
    assert check(widget(phase="Done")).message.endswith("current: evaluates to string, not a boolean")


LANGUAGE = [
    ("macros", "status.conditions.filter(e, e.type == 'Ready').all(e, e.status == 'True')", True),
    ("has", "has(status.conditions) && !has(status.missing)", True),
    ("optional-field-access", "status.?missing.orValue([]).size() == 0", True),
    ("optional-index", "status.conditions[?0].hasValue()", True),
    ("strings-extension", "status.conditions[0].type.lowerAscii() == 'ready'", True),
    ("encoders-extension", "base64.encode(b'hi') == 'aGk='", True),
    ("cross-type-numeric-comparison", "spec.replicas > 1.5 && spec.replicas == 2.0", True),
    ("sets-contains", "sets.contains(status.conditions.map(c, c.type), ['Ready'])", True),
    ("sets-intersects", "sets.intersects(['a', 'Ready'], status.conditions.map(c, c.type))", True),
    ("sets-equivalent", "sets.equivalent([1, 2, 2], [2, 1])", True),
    ("top-level-fields-are-variables", "metadata.name == 'w' && kind == 'Widget'", True),
]


@pytest.mark.parametrize(("name", "expression", "expected"), LANGUAGE, ids=[c[0] for c in LANGUAGE])
def test_the_language_is_the_one_flux_enables(name: str, expression: str, expected: bool) -> None:
    (check,) = cel.checks_from_entries(
        [{"apiVersion": "example.com/v1", "kind": "Widget", "current": expression}], file="exprs.yaml"
    )
    result = check(widget(conditions=[{"type": "Ready", "status": "True"}]))
    assert (result.status is H.HEALTHY) is expected, result.message


def test_a_kind_entry_wins_over_a_group_entry_and_the_version_is_ignored() -> None:
    checks = cel.checks_from_entries(
        [
            {"apiVersion": "example.com/v1", "current": "true"},
            {"apiVersion": "example.com/v2beta1", "kind": "Widget", "current": "false", "failed": "true"},
        ],
        file="exprs.yaml",
    )
    cfg = config.HealthConfig(cel_checks=checks)
    assert health.resolve("example.com", "Widget", cfg)[0] == "cel"
    assert health.check(widget(), config=cfg).status is H.DEGRADED
    gadget = dict(widget(), kind="Gadget")
    assert health.resolve("example.com", "Gadget", cfg)[0] == "cel-group"
    assert health.check(gadget, config=cfg).status is H.HEALTHY
    dict(widget(), apiVersion="other.example.com/v1")
    assert health.resolve("other.example.com", "Widget", cfg)[0] == "generic"


BAD = [
    (
        "no-api-version",
        {"kind": "Widget", "current": "true"},
        "healthCheckExprs[0]: field apiVersion: is required",
    ),
    (
        "no-current",
        {"apiVersion": "example.com/v1", "kind": "Widget", "failed": "true"},
        "healthCheckExprs[0]: field current: is required",
    ),
    (
        "not-an-expression",
        {"apiVersion": "example.com/v1", "current": "status.phase =="},
        "healthCheckExprs[0]: field current: is not a valid CEL expression",
    ),
    (
        "not-a-string",
        {"apiVersion": "example.com/v1", "current": "true", "inProgress": 3},
        "healthCheckExprs[0]: field inProgress: must be a CEL expression",
    ),
    ("not-a-mapping", "current: true", "healthCheckExprs[0]: must be a mapping"),
]


@pytest.mark.parametrize(("name", "entry", "message"), BAD, ids=[c[0] for c in BAD])
def test_a_bad_entry_is_bad_input_naming_file_entry_and_field(name: str, entry: object, message: str) -> None:
    with pytest.raises(errors.InputError) as caught:
        cel.checks_from_entries([entry], file="exprs.yaml")
    assert str(caught.value).startswith(f"exprs.yaml: {message}")
    assert caught.value.exit_code == 2


def test_two_entries_for_one_group_and_kind_are_bad_input() -> None:
    entries = [{"apiVersion": "example.com/v1", "kind": "Widget", "current": "true"}] * 2
    with pytest.raises(
        errors.InputError, match=r"healthCheckExprs\[1\]: a second health check for example.com/Widget"
    ):
        cel.checks_from_entries(entries, file="exprs.yaml")


def test_flux_kustomizations_are_read_unchanged() -> None:
    cfg = config.from_paths(health_exprs=[DATA / "flux-kustomization.yaml"])
    assert [(c.group, c.kind) for c in cfg.cel_checks] == [
        ("cert-manager.io", "Certificate"),
        ("argoproj.io", "Rollout"),
        ("s3.aws.crossplane.io", ""),
    ]


def test_a_check_is_plain_data_that_pickles() -> None:
    import pickle

    (check,) = cel.checks_from_entries([ENTRY], file="exprs.yaml")
    copy = pickle.loads(pickle.dumps(check))
    assert copy == check and copy(widget(phase="Done")).status is H.HEALTHY
