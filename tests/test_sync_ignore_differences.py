"""ignoreDifferences: a field an Application says to ignore (JSON pointer, jq path, or the fields
another manager owns) is not drift: a hand-scaled Deployment stays as it is and the Application
stays Synced; with RespectIgnoreDifferences a Git change elsewhere keeps the live value too."""

from __future__ import annotations

import pytest

RULES = [
    pytest.param({"jsonPointers": ["/spec/replicas"]}, id="json-pointer"),
    pytest.param({"jqPathExpressions": [".spec.replicas"]}, id="jq-path"),
    pytest.param({"managedFieldsManagers": ["manual-edit"]}, id="managed-fields-manager"),
]


def with_rule(env, rule: dict, *options: str) -> None:
    text = (env.root / "appset.yaml").read_text()
    ignore = "      ignoreDifferences:\n        - group: apps\n          kind: Deployment\n"
    for key, values in rule.items():
        ignore += f"          {key}: [{', '.join(repr(v) for v in values)}]\n"
    text = text.replace("      syncPolicy:\n", ignore + "      syncPolicy:\n")
    for option in options:
        text = text.replace(
            "          - CreateNamespace=true", f"          - CreateNamespace=true\n          - {option}"
        )
    (env.root / "appset.yaml").write_text(text)


def replicas(env) -> int:
    return env.sim.get_object("c001", "apps/v1", "Deployment", "web", "web")["spec"]["replicas"]


def scale_by_hand(env, count: int) -> None:
    env.sim.edit_object(
        "c001", "apps/v1", "Deployment", "web", "web", lambda o: o["spec"].update(replicas=count)
    )
    assert env.sim.wait_idle("c001", timeout=10)  # the rollout of the new replicas settles


@pytest.mark.parametrize("rule", RULES)
def test_an_ignored_field_changed_by_hand_is_not_drift(make_fleet, rule: dict) -> None:
    env = make_fleet("basic", clusters=1)
    with_rule(env, rule)
    assert env.sync().exit_code == 0
    scale_by_hand(env, 5)
    assert env.diff().exit_code == 0
    run = env.sync()
    assert run.exit_code == 0, run.stderr
    assert run.run_result.summary()["drifted"] == 0 and replicas(env) == 5


def test_without_the_rule_the_same_change_is_drift(make_fleet) -> None:
    env = make_fleet("basic", clusters=1)
    assert env.sync().exit_code == 0
    scale_by_hand(env, 5)
    assert env.diff().exit_code == 1


def test_respect_ignore_differences_keeps_the_live_value_when_git_changes_the_object(make_fleet) -> None:
    env = make_fleet("basic", clusters=1)
    with_rule(env, {"jsonPointers": ["/spec/replicas"]}, "RespectIgnoreDifferences=true")
    assert env.sync().exit_code == 0
    scale_by_hand(env, 4)
    text = (
        (env.root / "apps/web/deployment.yaml").read_text().replace("image: nginx:1.27", "image: nginx:1.28")
    )
    (env.root / "apps/web/deployment.yaml").write_text(text)
    run = env.sync()
    assert run.exit_code == 0, run.stderr
    live = env.sim.get_object("c001", "apps/v1", "Deployment", "web", "web")
    assert live["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.28"
    assert live["spec"]["replicas"] == 4
