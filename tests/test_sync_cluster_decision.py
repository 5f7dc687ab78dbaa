"""``fleet sync --argocd-context`` with a clusterDecisionResource generator: the Applications go
to the clusters a PlacementDecision-like resource on the management cluster decides, and when the
decision moves, the next run follows it (the Applications left behind are deleted)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests import argocd_namespace

MANAGEMENT = "c001"
LABELS = {"cluster.open-cluster-management.io/placement": "web"}


def decide(env: Any, *clusters: str) -> None:
    argocd_namespace.placement_decision(
        env.sim,
        MANAGEMENT,
        "web-decision-1",
        [{"clusterName": c, "reason": ""} for c in clusters],
        labels=LABELS,
    )


def test_applications_follow_the_placement_decision(make_fleet: Callable[..., Any], tmp_path: Any) -> None:
    env = make_fleet("decisions", clusters=3)
    kubeconfig = str(env.sim.write_kubeconfig(tmp_path / "kubeconfig"))
    argocd_namespace.config_map(
        env.sim,
        MANAGEMENT,
        "ocm-placement",
        {
            "apiVersion": "cluster.open-cluster-management.io/v1beta1",
            "kind": "placementdecisions",
            "statusListKey": "decisions",
            "matchKey": "clusterName",
        },
    )
    decide(env, "c002", "c003")
    flags = ("--argocd-context", MANAGEMENT, "--kubeconfig", kubeconfig)

    first = env.sync(*flags)
    assert first.exit_code == 0, first.stderr
    assert sorted((a.cluster, a.name) for a in first.run_result.apps()) == [
        ("c002", "web-c002"),
        ("c003", "web-c003"),
    ]
    assert [env.names(c, "web", "ConfigMap") for c in ("c001", "c002", "c003")] == [
        [],
        ["web-settings"],
        ["web-settings"],
    ]

    decide(env, "c001")
    # c002 and c003 lose every Application the fleet has there: the deletion guard wants that said.
    second = env.sync(*flags, "--allow-mass-delete")
    assert second.exit_code == 0, second.stderr
    assert [env.names(c, "web", "ConfigMap") for c in ("c001", "c002", "c003")] == [["web-settings"], [], []]
