"""`--ray-placement SELECTOR:RESOURCE` pins the clusters a label selector matches to the Ray nodes
that have a custom resource (a region's clusters to that region's node), on a real two-node Ray
cluster whose node ``eu`` has ``{"region-eu": 1}`` (tests/fixtures/ray_cluster.py). Clusters
pinned to a resource no alive node has are reported WorkerLost, naming the resource, and the
others still sync. A malformed pin is bad input (exit 2) and starts nothing."""

from __future__ import annotations

import pytest

from fleet import results
from fleet.status import Reason

# A real multi-node Ray cluster: its start (once per session) and each driver are processes of
# their own; on a loaded machine that takes longer than the suite's default 300 s.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

SITES = {"c001": {"site": "eu"}, "c002": {"site": "eu"}, "c003": {"site": "mars"}, "c004": {"site": "mars"}}


def test_clusters_labelled_for_a_region_all_run_on_that_regions_node(
    make_fleet, ray_cluster, ray_fleet
) -> None:
    env = make_fleet("basic", clusters=4, labels=SITES)
    run = ray_fleet(
        "sync", *env.args(executor="ray"), "--ray-address", ray_cluster.address, "--ray-runtime-env", "none",
        "--ray-placement", "site=eu:region-eu", "--ray-placement", "site=mars:region-mars", "-o", "json",
    )  # fmt: skip
    code, stdout, stderr = run.finish()
    assert code == 1, stderr[-3000:]
    result = {c.cluster: c for c in results.RunResult.model_validate_json(stdout).clusters}
    eu = ray_cluster.nodes["eu"].node_id
    for name in ("c001", "c002"):
        assert result[name].ok and result[name].ray_node == eu, result[name]
        assert env.names(name, "web", "Deployment") == ["web"]
    for name in ("c003", "c004"):  # no node has region-mars: reported, never waited for
        assert result[name].reason is Reason.WORKER_LOST
        assert "no alive Ray node has the custom resource 'region-mars'" in result[name].message
        assert env.names(name, "web", "Deployment") == []


@pytest.mark.parametrize(
    "pin, says",
    [
        ("site=eu", "want SELECTOR:RESOURCE"),
        (":region-eu", "want SELECTOR:RESOURCE"),
        ("site=eu:CPU", "is not a custom Ray resource name"),
        ("site=eu:region eu", "is not a custom Ray resource name"),
        ("site in eu:region-eu", "--ray-placement"),
    ],
    ids=["no-resource", "no-selector", "a-builtin-resource", "a-space-in-the-resource", "a-bad-selector"],
)
def test_a_malformed_pin_is_bad_input_naming_the_flag(make_fleet, pin: str, says: str) -> None:
    env = make_fleet("basic", clusters=1)
    run = env.sync("--ray-placement", pin, executor="ray")
    assert run.exit_code == 2, run.stderr
    assert says in run.stderr and "--ray-placement" in run.stderr
    assert env.names("c001", "web", "Deployment") == []
