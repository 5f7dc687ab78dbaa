"""Server-side apply against the simulator: create, update, no-op, field removal, conflicts, dry-run."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from fleet import errors
from fleet.clusters import client
from tests.fixtures.kubefake import SimTarget

OBJECTS = Path(__file__).parent / "data" / "clusters" / "objects"


def _configmap(namespace: str, **data: str) -> dict:
    obj = yaml.safe_load((OBJECTS / "configmap-settings.yaml").read_text())
    obj["metadata"]["namespace"] = namespace
    if data:
        obj["data"] = data
    return obj


def test_apply_creates_then_updates_the_object(sim_target: SimTarget) -> None:
    api = sim_target.connect()
    created = api.apply(_configmap(sim_target.namespace))
    assert created["data"] == {"colour": "blue", "size": "large"}
    assert created["metadata"]["uid"] and created["metadata"]["resourceVersion"]
    updated = api.apply(_configmap(sim_target.namespace, colour="green", size="large"))
    assert updated["data"]["colour"] == "green"
    assert updated["metadata"]["uid"] == created["metadata"]["uid"]
    assert int(updated["metadata"]["resourceVersion"]) > int(created["metadata"]["resourceVersion"])


def test_applying_the_same_object_again_changes_nothing(sim_target: SimTarget) -> None:
    api = sim_target.connect()
    first = api.apply(_configmap(sim_target.namespace))
    again = api.apply(_configmap(sim_target.namespace))
    assert again["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]


def test_apply_sends_one_patch_with_the_apply_content_type_and_field_manager(sim_target: SimTarget) -> None:
    api = sim_target.connect(field_manager="fleet-test")
    api.resource("v1", "ConfigMap")
    api.reset_stats()
    api.apply(_configmap(sim_target.namespace))
    assert api.stats().by_verb == {"apply": 1}
    live = api.get("v1", "ConfigMap", "settings", sim_target.namespace)
    managers = {(m["manager"], m["operation"]) for m in live["metadata"].get("managedFields", [])}
    assert ("fleet-test", "Apply") in managers


def test_a_field_removed_from_the_applied_configuration_is_removed_from_the_object(
    sim_target: SimTarget,
) -> None:
    api = sim_target.connect()
    api.apply(_configmap(sim_target.namespace))
    after = api.apply(_configmap(sim_target.namespace, colour="blue"))
    assert after["data"] == {"colour": "blue"}


def test_a_field_owned_by_another_manager_conflicts_unless_forced(sim_target: SimTarget) -> None:
    ours = sim_target.connect(field_manager="fleet")
    theirs = sim_target.connect(field_manager="kubectl-edit")
    ours.apply(_configmap(sim_target.namespace))
    theirs.apply(_configmap(sim_target.namespace, colour="red"), force=True)  # takes data.colour
    with pytest.raises(client.Conflict) as info:
        ours.apply(_configmap(sim_target.namespace, colour="blue", size="large"))
    err = info.value
    assert err.code == 409 and not err.retryable and isinstance(err, errors.PermanentError)
    assert any("colour" in f for f in err.field_conflicts), err.status.causes
    assert str(err).startswith(
        f"cluster {sim_target.cluster.name}: apply v1 ConfigMap {sim_target.namespace}/settings failed: 409 Conflict"
    )
    forced = ours.apply(_configmap(sim_target.namespace, colour="blue", size="large"), force=True)
    assert forced["data"]["colour"] == "blue"


def test_dry_run_apply_returns_the_result_without_persisting_it(sim_target: SimTarget) -> None:
    api = sim_target.connect()
    preview = api.apply(_configmap(sim_target.namespace), dry_run=True)
    assert preview["data"]["colour"] == "blue"
    assert api.get("v1", "ConfigMap", "settings", sim_target.namespace) is None
    api.apply(_configmap(sim_target.namespace))
    api.apply(_configmap(sim_target.namespace, colour="pink"), dry_run=True)
    assert api.get("v1", "ConfigMap", "settings", sim_target.namespace)["data"]["colour"] == "blue"


def test_a_namespaced_object_in_a_missing_namespace_is_not_found(sim_target: SimTarget) -> None:
    api = sim_target.connect()
    with pytest.raises(client.NotFound, match="no-such-namespace"):
        api.apply(_configmap("no-such-namespace"))


def test_apply_of_a_deployment_keeps_the_callers_object_untouched(sim_target: SimTarget) -> None:
    api = sim_target.connect()
    obj = yaml.safe_load((OBJECTS / "deployment-web.yaml").read_text())
    obj["metadata"]["namespace"] = sim_target.namespace
    before = copy.deepcopy(obj)
    live = api.apply(obj)
    assert obj == before
    assert live["spec"]["replicas"] == 2 and live["metadata"]["generation"] >= 1


@pytest.mark.parametrize("missing", ["apiVersion", "kind", "name"])
def test_an_object_without_identity_is_an_input_error(sim_target: SimTarget, missing: str) -> None:
    obj = _configmap(sim_target.namespace)
    if missing == "name":
        del obj["metadata"]["name"]
    else:
        del obj[missing]
    with pytest.raises(errors.InputError, match="is missing"):
        sim_target.connect().apply(obj)
