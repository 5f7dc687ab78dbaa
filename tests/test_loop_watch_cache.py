"""Long-running mode keeps a watch per LIST of each cluster (``fleet.reconcile.livecache``): after
the first run, an unchanged cluster costs zero requests per interval (counted by the simulator); a
change made by hand while the loop idles arrives on the watch and the next run heals it with no
LIST; a watch that falls behind the server's event log (410 Gone) makes the next run list again
(issue 15)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from fleet import driver, inventory, loop, results
from fleet.reconcile import livecache

# The basic fleet's LISTs: inventories (with the ConfigMaps), Namespaces, Deployments, Services.
LISTS = 4


def wait_for(what: str, condition: Callable[[], bool], timeout: float = 30.0) -> None:
    """Wait for a counter or a state to reach a value (the watch threads work on their own)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def test_idle_intervals_cost_nothing_a_hand_change_is_healed_and_410_gone_lists_again(make_fleet) -> None:
    env = make_fleet("basic", clusters=1)
    env.write(
        "appset.yaml",
        (env.root / "appset.yaml")
        .read_text()
        .replace("prune: true", "prune: true\n          selfHeal: true"),
    )
    cluster = env.sim.clusters()[0]
    kept = livecache.for_cluster(cluster.name, cluster.server)
    config = inventory.ObjectRef("", "ConfigMap", "web", "web-config")
    request = driver.RunRequest(
        fleet=str(env.root),
        clusters=(cluster,),
        executor="local",
        state_dir=str(env.state_dir),
        repo_map={"https://git.example.com/fleet.git": str(env.root)},
    )
    seen: list[dict[str, Any]] = []
    runs: list[results.RunResult] = []

    def between(run: results.RunResult, iteration: int) -> None:
        runs.append(run)
        seen.append(env.sim.request_counts("c001"))
        if iteration == 1:
            # The watches start on their own threads: once each has its request in, count afresh.
            wait_for("the watches", lambda: env.sim.request_counts("c001")["verbs"].get("watch", 0) == LISTS)
            env.sim.reset_counts()
        elif iteration == 4:
            edited = env.sim.edit_object(
                "c001", "v1", "ConfigMap", "web", "web-config", lambda o: o["data"].update(greeting="by-hand")
            )
            version = f"{edited['metadata']['uid']}/{edited['metadata']['resourceVersion']}"
            wait_for("the edit on the watch", lambda: kept.version(config) == version)
            env.sim.reset_counts()
        elif iteration == 5:
            env.sim.reset_counts()
            # A write the watches do not see (no managed-by label), then compaction: resuming any
            # watch from its last resourceVersion is now 410 Gone.
            env.sim.apply_object(
                "c001",
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {"name": "other", "namespace": "default"},
                },
            )
            env.sim.compact("c001")
            wait_for("the watches to give up", lambda: not kept.watching())
            env.sim.reset_counts()

    try:
        outcome = loop.run_loop(request, every=0.001, runs=6, on_run=between)
    finally:
        livecache.close_all()
    assert outcome.exit_code == 0 and all(run.ok for run in runs), [a.message for r in runs for a in r.apps()]
    # runs 2, 3 and 4: three idle intervals, not one request
    for iteration in (2, 3, 4):
        assert seen[iteration - 1]["total"] == 0, (iteration, seen[iteration - 1])
    # run 5: the edit arrived on the watch; healed with one apply and no LIST or GET
    healed = seen[4]["verbs"]
    assert "list" not in healed and "get" not in healed and healed.get("apply") == 1, healed
    (row,) = [r for a in runs[4].apps() for r in a.resources if r.drift]
    assert row.name == "web-config" and "healed" in row.message
    assert env.sim.get_object("c001", "v1", "ConfigMap", "web", "web-config")["data"]["greeting"] == "hello"
    # run 6: after 410 Gone, every LIST in full again, and new watches
    relisted = seen[5]["verbs"]
    assert relisted.get("list") == LISTS, relisted
