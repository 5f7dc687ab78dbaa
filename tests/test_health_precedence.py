"""The documented order between health checks (``fleet.health.config.Source``): argocd-cm Lua
(exact, then glob), CEL (kind, then group), Python checks, resource_customizations Lua (exact,
then ``_`` wildcard), the built-in check, the generic one. Each case configures every source from
one level down and expects that level to decide."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fleet import health
from fleet.health import cel, config, custom, lua

Source = config.Source
DEPLOYMENT = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "generation": 1},
    "spec": {"replicas": 1},
    "status": {"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1, "availableReplicas": 1},
}


def says(source: Source) -> lua.LuaCheck:
    return lua.LuaCheck(f'return {{status = "Suspended", message = "{source.value}"}}', origin=source.value)


def cel_entry(source: Source) -> cel.CelCheck:
    return cel.CelCheck(
        group="apps", kind="Deployment" if source is Source.CEL else "", current="true", origin=source.value
    )


def python_check(obj: object) -> health.HealthStatus:
    return health.HealthStatus(health.Health.SUSPENDED, Source.PYTHON.value)


LEVELS = list(Source)


def configured_from(level: Source) -> config.HealthConfig:
    """Every configured source at ``level`` and below."""
    below = LEVELS[LEVELS.index(level) :]
    overrides = []
    if Source.ARGOCD_CM in below:
        overrides.append(lua.Override("apps/Deployment", says(Source.ARGOCD_CM)))
    if Source.ARGOCD_CM_WILDCARD in below:
        overrides.append(lua.Override("apps/*", says(Source.ARGOCD_CM_WILDCARD)))
    customizations = []
    if Source.CUSTOMIZATIONS in below:
        customizations.append(lua.Customization("apps/Deployment", says(Source.CUSTOMIZATIONS)))
    if Source.CUSTOMIZATIONS_WILDCARD in below:
        customizations.append(lua.Customization("apps/_", says(Source.CUSTOMIZATIONS_WILDCARD)))
    return config.HealthConfig(
        overrides=tuple(overrides),
        cel_checks=tuple(cel_entry(s) for s in (Source.CEL, Source.CEL_GROUP) if s in below),
        customizations=tuple(customizations),
    )


@pytest.fixture
def python_registered() -> Iterator[None]:
    saved = dict(custom.CUSTOM_CHECKS)
    yield
    custom.CUSTOM_CHECKS.clear()
    custom.CUSTOM_CHECKS.update(saved)


@pytest.mark.parametrize("level", LEVELS[:-1], ids=[s.value for s in LEVELS[:-1]])
def test_the_first_configured_source_in_the_documented_order_decides(
    level: Source, python_registered: None
) -> None:
    if LEVELS.index(level) <= LEVELS.index(Source.PYTHON):
        custom.register("apps", "Deployment", python_check)
    cfg = configured_from(level)
    source, _ = health.resolve("apps", "Deployment", cfg)
    assert source == level.value
    result = health.check(DEPLOYMENT, config=cfg)
    if level in (Source.CEL, Source.CEL_GROUP):
        assert result == health.HealthStatus(health.Health.HEALTHY, "current expression is true")
    elif level is Source.BUILT_IN:
        assert result.status is health.Health.HEALTHY
    else:
        assert result == health.HealthStatus(health.Health.SUSPENDED, level.value)


def test_a_kind_without_any_check_gets_the_generic_one() -> None:
    assert (
        health.resolve("example.com", "Widget", configured_from(Source.ARGOCD_CM))[0] == Source.GENERIC.value
    )


def test_flags_win_over_the_fleet_file_for_the_same_key() -> None:
    fleet_file = config.HealthConfig(
        overrides=(lua.Override("apps/Deployment", says(Source.ARGOCD_CM_WILDCARD)),),
        cel_checks=(cel.CelCheck("apps", "Deployment", current="false", origin="fleet"),),
    )
    flags = config.HealthConfig(
        overrides=(lua.Override("apps/Deployment", says(Source.ARGOCD_CM)),),
        cel_checks=(cel.CelCheck("apps", "Deployment", current="true", origin="flag"),),
    )
    merged = flags.over(fleet_file)
    assert [o.check.origin for o in merged.overrides] == [Source.ARGOCD_CM.value]
    assert [c.origin for c in merged.cel_checks] == ["flag"]


def test_only_checks_for_the_runs_kinds_are_kept_for_the_workers() -> None:
    everything = configured_from(Source.ARGOCD_CM)
    other = config.HealthConfig(
        overrides=(lua.Override("batch/Job", says(Source.ARGOCD_CM)),),
        cel_checks=(cel.CelCheck("example.com", "", current="true"),),
        customizations=(lua.Customization("_.crossplane.io/_", says(Source.CUSTOMIZATIONS)),),
    )
    kept = other.over(everything).for_kinds({("apps", "Deployment"), ("s3.aws.crossplane.io", "Bucket")})
    assert kept.overrides == everything.overrides
    assert kept.cel_checks == everything.cel_checks
    assert [c.path for c in kept.customizations] == ["apps/Deployment", "_.crossplane.io/_", "apps/_"]
    assert not config.HealthConfig().for_kinds({("apps", "Deployment")})
