"""syncPolicy.retry: a sync that failed for a reason a retry may fix is tried again after the
backoff (here the destination namespace appears meanwhile); without retry it fails at once."""

from __future__ import annotations

import threading

import pytest

from fleet.status import Reason

RETRY = {"limit": 3, "backoff": {"duration": "1s", "factor": 2, "maxDuration": "4s"}}


def app_without_namespace(retry: dict | None) -> dict:
    policy: dict = {"syncOptions": []}
    if retry:
        policy["retry"] = retry
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "late"},
        "spec": {
            "project": "default",
            "destination": {"name": "c001", "namespace": "later"},
            "source": {"repoURL": "https://git.example.com/fleet.git", "path": "apps/late"},
            "syncPolicy": policy,
        },
    }


@pytest.mark.parametrize(
    "retry, attempts, ok", [(RETRY, 2, True), (None, 1, False)], ids=["with-retry", "without"]
)
def test_a_failed_sync_is_retried_with_backoff(make_fleet, retry, attempts: int, ok: bool) -> None:
    env = make_fleet("basic", clusters=1)
    env.write("late.yaml", app_without_namespace(retry))
    env.write(
        "apps/late/config.yaml",
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "late"}, "data": {"a": "b"}},
    )

    env.sim.reset_counts()
    done = threading.Event()

    def create_namespace_after_the_first_failure() -> None:
        # The namespace appears once the first attempt has failed (the simulator answered 404),
        # however long the sync took to get there: no fixed sleep to race against.
        while not done.is_set():
            if env.sim.request_counts("c001")["codes"].get("404"):
                env.sim.apply_object("c001", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "later"}})
                return
            done.wait(0.01)

    creator = threading.Thread(target=create_namespace_after_the_first_failure, daemon=True)
    creator.start()
    run = env.sync("--app", "late")
    done.set()
    creator.join()
    app = run.app("c001", "late")
    assert app.attempts == attempts
    assert app.ok is ok
    if ok:
        assert run.exit_code == 0 and env.names("c001", "later", "ConfigMap") == ["late"]
    else:
        assert run.exit_code == 1 and app.reason is Reason.APPLY_FAILED and "404" in app.message
