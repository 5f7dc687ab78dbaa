"""syncPolicy.retry: a sync that failed for a reason a retry may fix is tried again after the
backoff (here the destination namespace appears meanwhile); without retry it fails at once.

The worker waits through fleet.clocks: the test's clock records the backoff and creates the
namespace "during" it instead of racing a thread against real seconds."""

from __future__ import annotations

import pytest

from fleet import clocks
from fleet.status import Reason
from tests.clocks import ManualClock

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
    "retry, attempts, ok, backoff",
    [(RETRY, 2, True, [1.0]), (None, 1, False, [])],
    ids=["with-retry", "without"],
)
def test_a_failed_sync_is_retried_with_backoff(
    make_fleet, retry, attempts: int, ok: bool, backoff: list[float]
) -> None:
    env = make_fleet("basic", clusters=1)
    env.write("late.yaml", app_without_namespace(retry))
    env.write(
        "apps/late/config.yaml",
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "late"}, "data": {"a": "b"}},
    )

    def create_namespace_meanwhile(_seconds: float) -> None:
        env.sim.apply_object("c001", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "later"}})

    clock = ManualClock(during_sleep=create_namespace_meanwhile)
    with clocks.installed(clock):
        run = env.sync("--app", "late")
    app = run.app("c001", "late")
    assert app.attempts == attempts
    assert clock.slept == backoff  # the first backoff is spec.syncPolicy.retry.backoff.duration
    assert app.ok is ok
    if ok:
        assert run.exit_code == 0 and env.names("c001", "later", "ConfigMap") == ["late"]
    else:
        assert run.exit_code == 1 and app.reason is Reason.APPLY_FAILED and "404" in app.message
