"""A syncPolicy.retry attempt waits, in its wave, for what the failed attempt applied and left
unhealthy, before it applies the next wave.

Wave 0 holds a Gate (Progressing until the test opens it) and, sorted after it, a Gate in a
namespace that does not exist yet: the first attempt applies the first Gate, fails on the second
(404) and backs off; the namespace appears during the backoff. The second attempt finds the first
Gate in sync with Git. Taken as done, the wave would wait only for the second Gate (Healthy at
once outside namespace "held"), apply wave 1 at once and end Synced but Progressing: a retry
that ignores the wave order it exists to keep.

The worker waits through fleet.clocks: the test's clock creates the namespace during the backoff
and opens the gate during the first health poll, noting what wave 1 had applied by then."""

from __future__ import annotations

import yaml

from fleet import clocks
from fleet.health import Health
from tests import lock_helpers
from tests.clocks import ManualClock

CLUSTER = "c001"
BACKOFF = 1.0


def test_a_retry_waits_for_the_unhealthy_object_the_failed_attempt_applied(make_fleet) -> None:
    env = make_fleet("gated", clusters=[CLUSTER], labels={CLUSTER: {"gate": "held"}})
    appset = yaml.safe_load((env.root / "appset.yaml").read_text())
    appset["spec"]["template"]["spec"]["syncPolicy"]["retry"] = {
        "limit": 2,
        "backoff": {"duration": f"{BACKOFF:g}s", "factor": 2},
    }
    env.write("appset.yaml", appset)
    env.write(
        "apps/gate/late.yaml",
        {
            "apiVersion": "example.com/v1",
            "kind": "Gate",
            "metadata": {"name": "zz-late", "namespace": "later"},  # after "main" in the wave
            "spec": {"purpose": "fails the first attempt: its namespace is not there yet"},
        },
    )
    seen: dict[str, list[str]] = {}

    def meanwhile(_seconds: float) -> None:
        if "backoff" not in seen:  # the retry's backoff: the namespace appears
            seen["backoff"] = env.names(CLUSTER, "held", "ConfigMap")
            env.sim.apply_object(
                CLUSTER, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "later"}}
            )
        elif "opened" not in seen:  # a health poll of the second attempt: open the gate
            seen["opened"] = env.names(CLUSTER, "held", "ConfigMap")
            lock_helpers.open_gate(env, CLUSTER)

    clock = ManualClock(during_sleep=meanwhile)
    with clocks.installed(clock):
        run = env.sync("--health-timeout", "60")
    app = run.app(CLUSTER, f"gate-{CLUSTER}")
    assert app.attempts == 2, app.message
    assert clock.slept[0] == BACKOFF
    # wave 1 was not applied before the gate of wave 0 opened...
    assert seen == {"backoff": [], "opened": []}, seen
    # ...and it was applied after it: the Application ends Synced and Healthy
    assert run.exit_code == 0 and app.ok, (app.health, app.message)
    assert app.health is Health.HEALTHY
    assert env.names(CLUSTER, "held", "ConfigMap") == ["after-the-gate"]
