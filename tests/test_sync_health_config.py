"""How a run gets its health checks: the fleet's ``fleet.yaml`` and the flags are read by the
driver before anything touches a cluster; only the checks for kinds the run applies travel to the
workers, as text (no worker reads a file for them); a bad ``fleet.yaml`` or a path leading out of
the repository is bad input (exit 2) and nothing is applied."""

from __future__ import annotations

import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from fleet import driver, errors
from fleet.health import lua

DATA = Path(__file__).parent / "data" / "health" / "argo"
REPO_URL = "https://git.example.com/fleet.git"


def request(env: Any, **extra: Any) -> driver.RunRequest:
    return driver.RunRequest(
        fleet=str(env.root),
        cluster_files=(str(env.clusters_file),),
        repo_map={REPO_URL: str(env.root)},
        executor="local",
        state_dir=str(env.state_dir),
        **extra,
    )


def test_only_the_checks_for_applied_kinds_travel_and_they_travel_as_text(
    make_fleet: Callable[..., Any], tmp_path: Path
) -> None:
    env = make_fleet("crd-health", clusters=1)
    plan = driver.plan_run(request(env, argocd_cms=(str(DATA / "argocd-cm.yaml"),)), tmp=tmp_path / "work")
    checks = plan.settings.health
    # The argocd-cm holds checks for Certificate, *.aws.crossplane.io/* and PersistentVolumeClaim;
    # the run applies no PersistentVolumeClaim.
    assert [o.key for o in checks.overrides] == ["cert-manager.io/Certificate", "*.aws.crossplane.io/*"]
    assert [c.path for c in checks.customizations] == [
        "argoproj.io/Rollout",
        "cert-manager.io/Certificate",
        "_.crossplane.io/_",
    ]
    shipped = pickle.loads(pickle.dumps(plan.settings))
    for item in (*shipped.health.overrides, *shipped.health.customizations):
        assert isinstance(item.check, lua.LuaCheck) and "return" in item.check.script
    rollout = next(c for c in shipped.health.customizations if c.path == "argoproj.io/Rollout")
    assert (
        rollout.check.script
        == (env.root / "health/resource_customizations/argoproj.io/Rollout/health.lua").read_text()
    )


def test_a_fleet_without_fleet_yaml_ships_no_checks(make_fleet: Callable[..., Any], tmp_path: Path) -> None:
    env = make_fleet("basic", clusters=1)
    assert not driver.plan_run(request(env), tmp=tmp_path / "work").settings.health


BAD_FLEET_FILES = [
    (
        "not-a-fleet-config",
        "apiVersion: v1\nkind: ConfigMap\n",
        "field kind: must be apiVersion fleet.gitops/v1",
    ),
    (
        "unknown-field",
        "apiVersion: fleet.gitops/v1\nkind: FleetConfig\nhealth: {luaScripts: []}\n",
        "field health.luaScripts: unknown field",
    ),
    (
        "a-directory-outside-the-repository",
        "apiVersion: fleet.gitops/v1\nkind: FleetConfig\nhealth: {resourceCustomizations: [../elsewhere]}\n",
        "field health.resourceCustomizations: '../elsewhere' leads outside the repository",
    ),
    (
        "an-absolute-path",
        "apiVersion: fleet.gitops/v1\nkind: FleetConfig\nhealth: {argocdConfigMaps: [/etc/passwd]}\n",
        "field health.argocdConfigMaps: '/etc/passwd' leads outside the repository",
    ),
    (
        "a-missing-file",
        "apiVersion: fleet.gitops/v1\nkind: FleetConfig\nhealth: {argocdConfigMaps: [argocd/argocd-cm.yaml]}\n",
        "field health.argocdConfigMaps: 'argocd/argocd-cm.yaml' is not a file of the repository",
    ),
    (
        "a-bad-expression",
        (
            "apiVersion: fleet.gitops/v1\nkind: FleetConfig\nhealth:\n  healthCheckExprs:\n"
            "    - {apiVersion: cert-manager.io/v1, kind: Certificate, current: 'status.x =='}\n"
        ),
        "health.healthCheckExprs[0]: field current: is not a valid CEL expression",
    ),
]


@pytest.mark.parametrize(("name", "text", "message"), BAD_FLEET_FILES, ids=[c[0] for c in BAD_FLEET_FILES])
def test_a_bad_fleet_yaml_is_bad_input_and_nothing_is_applied(
    make_fleet: Callable[..., Any], name: str, text: str, message: str
) -> None:
    env = make_fleet("crd-health", clusters=1)
    (env.root / "fleet.yaml").write_text(text)
    env.sim.reset_counts()
    run = env.sync()
    assert run.exit_code == 2
    assert "fleet.yaml" in run.stderr and message in run.stderr, run.stderr
    counts = env.sim.request_counts("c001")["verbs"]
    assert not set(counts) - {"list", "get", "discovery"}, counts


def test_a_symlink_out_of_the_repository_is_refused(make_fleet: Callable[..., Any], tmp_path: Path) -> None:
    env = make_fleet("crd-health", clusters=1)
    outside = tmp_path / "outside"
    outside.mkdir()
    (env.root / "elsewhere").symlink_to(outside)
    (env.root / "fleet.yaml").write_text(
        "apiVersion: fleet.gitops/v1\nkind: FleetConfig\nhealth: {resourceCustomizations: [elsewhere]}\n"
    )
    # Refused by the fleet loader (a directory symlinked out of the FLEET directory) or by fleet.yaml's own check.
    with pytest.raises(errors.InputError, match=r"elsewhere\b.*leads outside the repository"):
        driver.plan_run(request(env), tmp=tmp_path / "work")


def test_flags_are_bad_input_before_any_cluster_is_touched(make_fleet: Callable[..., Any]) -> None:
    env = make_fleet("crd-health", clusters=1)
    env.sim.reset_counts()
    run = env.sync("--argocd-cm", str(env.root / "missing.yaml"))
    assert run.exit_code == 2
    assert "missing.yaml: field --argocd-cm: cannot be read" in run.stderr
    assert env.sim.request_counts("c001")["total"] == 0
