"""Two Applications that render the same object: as in Argo CD, the one that has it (or, before
anyone applied it, the first by name) keeps it; the other gets a SharedResourceWarning, stays
OutOfSync (exit 1) and never overwrites it, so the object no longer changes hands at every sync.
With FailOnSharedResource=true the other one's sync fails instead (issue 8, item 5)."""

from __future__ import annotations

import pytest

from fleet import inventory
from fleet.status import OperationPhase, Reason, SyncStatus

REPO = "https://git.example.com/fleet.git"


def application(name: str, options: list[str]) -> dict:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name},
        "spec": {
            "project": "default",
            "destination": {"name": "c001", "namespace": "shared"},
            "source": {"repoURL": REPO, "path": f"apps/{name}"},
            "syncPolicy": {"syncOptions": ["CreateNamespace=true", *options]},
        },
    }


def configmap(name: str, value: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"owner": value}}


CASES = [
    pytest.param([], OperationPhase.SUCCEEDED, True, "SharedResourceWarning", id="warning"),
    pytest.param(
        ["FailOnSharedResource=true"], OperationPhase.FAILED, False, "FailOnSharedResource", id="fail"
    ),
]


@pytest.mark.parametrize("options, phase, rest_applied, says", CASES)
def test_an_object_two_applications_render_is_kept_by_one_and_never_overwritten(
    make_fleet, options, phase, rest_applied, says
) -> None:
    env = make_fleet("basic", clusters=1)
    env.write("first.yaml", application("first", []))
    env.write("second.yaml", application("second", options))
    env.write("apps/first/same.yaml", configmap("same", "first"))
    env.write("apps/second/same.yaml", configmap("same", "second"))
    env.write("apps/second/own.yaml", configmap("second-only", "second"))
    versions = []
    for _ in range(2):  # the second run must not take the object over either
        run = env.sync("--app", "first", "--app", "second")
        assert run.exit_code == 1, run.stderr
        first, second = run.app("c001", "first"), run.app("c001", "second")
        assert (first.sync_status, first.reason) == (SyncStatus.SYNCED, Reason.SUCCEEDED), first.message
        assert (second.sync_status, second.reason, second.phase) == (
            SyncStatus.OUT_OF_SYNC,
            Reason.SHARED_RESOURCE,
            phase,
        )
        assert (
            says in second.message and "ConfigMap shared/same" in second.message and "first" in second.message
        )
        live = env.sim.get_object("c001", "v1", "ConfigMap", "shared", "same")
        assert live["data"] == {"owner": "first"}
        assert live["metadata"]["annotations"][inventory.TRACKING_ANNOTATION].startswith("first:")
        versions.append(live["metadata"]["resourceVersion"])
        assert ("second-only" in env.names("c001", "shared", "ConfigMap")) is rest_applied
    assert versions[0] == versions[1]  # nobody wrote it again
