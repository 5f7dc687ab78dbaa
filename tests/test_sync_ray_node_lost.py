"""A Ray node killed in the middle of a sync (SIGKILL of its raylet, as when a machine is lost):
the clusters it was reconciling run again on a surviving node that can take them, or are
reported WorkerLost when none can; the others finish; the driver ends within the cluster
timeout; a re-run converges.

The fleet is tests/data/sync/gated: a cluster labelled gate=held holds its sync on a Gate until
the test opens it, so the test knows the node is mid-run (its Gate is being polled) when it
kills it. The test adds a node ``doomed`` to the shared two-node cluster. c001, c002 and c011 are
spread: the spread pool has three actors, one per node, and each cluster goes to its home actor
(crc32 of its name modulo 3: 0, 1 and 2), so exactly one of them runs on ``doomed`` and must run
again elsewhere. c004 is pinned to ``doomed`` alone (its own resource ``node-doomed``), so nothing
else can take it.

Running a cluster twice is harmless because every write fleet makes is a server-side apply of
the same manifests with the same field manager: the second apply of an unchanged object changes
nothing (its generation stays 1), and the Gate's status, which the test set through the status
subresource, is not a field fleet applies, so the retry leaves it as it was. The run again waits
for the Gate the lost run applied before it applies the next wave (``ClusterWork.resumed``).
"""

from __future__ import annotations

import json

import pytest

from fleet import results
from fleet.status import Reason
from tests import lock_helpers as lock

# A real multi-node Ray cluster: its start (once per session) and each driver are processes of
# their own; on a loaded machine that takes longer than the suite's default 300 s.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

HELD = {"gate": "held"}
SPREAD = ("c001", "c002", "c011")
LABELS = {**dict.fromkeys(SPREAD, HELD), "c004": {**HELD, "solo": "yes"}}
GATE = ("example.com/v1", "Gate", "held", "main")


def gate_polls(env, cluster: str) -> int:
    return int(env.sim.request_counts(cluster)["resources"].get("gates", {}).get("get", 0))


def dispatched(process: lock.FleetProcess) -> list[tuple[str, str]]:
    """(cluster, Ray node) of every dispatch, in order, from the driver's debug log."""
    lines = [json.loads(line) for line in process.stderr.splitlines() if '"unit dispatched"' in line]
    return [(line["unit"], line["ray_node"]) for line in lines]


def test_a_killed_nodes_clusters_run_again_on_a_surviving_node_or_are_reported_lost(
    make_fleet, ray_cluster, ray_fleet
) -> None:
    env = make_fleet("gated", clusters=list(LABELS), labels=LABELS)
    doomed = ray_cluster.add_node("doomed")
    survivors = {ray_cluster.nodes["head"].node_id, ray_cluster.nodes["eu"].node_id}
    try:
        run = ray_fleet(
            "sync", *env.args(executor="ray"), "--ray-address", ray_cluster.address, "--ray-runtime-env", "none",
            "--ray-placement", "solo=yes:node-doomed", "--health-timeout", "300", "--cluster-timeout", "240",
            "-o", "json",
        )  # fmt: skip
        try:
            lock.wait_for(
                "every cluster to wait on its gate",
                lambda: all(gate_polls(env, c) >= 2 for c in LABELS) or not run.running(),
            )
            assert run.running(), run.stderr[-3000:]
            first = dict(dispatched(run))
            assert first["c004"] == doomed.node_id
            (victim,) = [c for c in SPREAD if first[c] == doomed.node_id]  # one per node

            ray_cluster.kill_raylet("doomed")
            run.wait_for_line('"msg": "ray node lost; running the unit again on a surviving node"')
            lock.wait_for(
                f"{victim} to run again", lambda: [c for c, _ in dispatched(run)].count(victim) == 2
            )
            # The run again waits for the Gate the lost run applied (in sync now, still held) before
            # the next wave, as the lost run was doing: it reads the Gate, and nothing after it is
            # applied while it is held (before this, it took the Gate as done, applied the next wave
            # at once and ended Synced but Progressing).
            polls = gate_polls(env, victim)
            lock.wait_for(
                f"{victim}'s run again to wait on its gate", lambda: gate_polls(env, victim) >= polls + 2
            )
            assert env.names(victim, "held", "ConfigMap") == []
            for cluster in SPREAD:
                lock.open_gate(env, cluster)
            code, stdout, stderr = run.finish(timeout=240)  # bounded by --cluster-timeout
        finally:
            run.kill()
        assert code == 1, stderr[-3000:]
        clusters = {c.cluster: c for c in results.RunResult.model_validate_json(stdout).clusters}
        # The victim ran again on a surviving node, where it applied its Application once more,
        # waited for its Gate and ended as the lost run would have (Synced and Healthy), and every
        # object exists once.
        again = [node for c, node in dispatched(run) if c == victim]
        assert again[0] == doomed.node_id and again[1] in survivors
        assert clusters[victim].reason is None and clusters[victim].ray_node == again[1]
        assert [(a.sync_status.value, a.health.value) for a in clusters[victim].apps] == [
            ("Synced", "Healthy")
        ]
        gate = env.sim.get_object(victim, *GATE)
        assert gate is not None and gate["metadata"]["generation"] == 1 and gate["status"]["open"] is True
        assert env.names(victim, "held", "ConfigMap") == ["after-the-gate"]
        # c004 could run nowhere else: reported, naming the node that died and the resource.
        assert clusters["c004"].reason is Reason.WORKER_LOST and clusters["c004"].ray_node == doomed.node_id
        assert "died" in clusters["c004"].message and "'node-doomed'" in clusters["c004"].message
        assert all(clusters[c].ok for c in SPREAD if c != victim)

        # A re-run (without the pin) converges: every cluster Synced and Healthy.
        lock.open_gate(env, "c004")
        rerun = ray_fleet("sync", *env.args(executor="ray"), "--ray-address", ray_cluster.address,
                          "--ray-runtime-env", "none", "-o", "json")  # fmt: skip
        code, stdout, stderr = rerun.finish(timeout=240)
        assert code == 0, stderr[-3000:]
        assert all(c.ok for c in results.RunResult.model_validate_json(stdout).clusters)
        assert env.names("c004", "held", "ConfigMap") == ["after-the-gate"]
    finally:
        if "doomed" in ray_cluster.nodes:
            ray_cluster.remove_node("doomed")
