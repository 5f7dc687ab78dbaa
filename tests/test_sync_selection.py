"""--selector (cluster labels) and --app (name globs) choose what a run touches; the rest of the
fleet gets no request at all."""

from __future__ import annotations

import pytest

LABELS = {
    "c001": {"env": "prod", "region": "eu"},
    "c002": {"env": "prod", "region": "us"},
    "c003": {"env": "dev", "region": "eu"},
}

CASES = [
    pytest.param(["--selector", "env=prod"], {"c001", "c002"}, id="selector-equals"),
    pytest.param(["--selector", "env=prod,region in (us)"], {"c002"}, id="selector-and-in"),
    pytest.param(["--selector", "env!=prod"], {"c003"}, id="selector-not-equals"),
    pytest.param(["--app", "web-c003"], {"c003"}, id="app-name"),
    pytest.param(["--app", "web-c00[12]"], {"c001", "c002"}, id="app-glob"),
    pytest.param(["--app", "web-c001", "--app", "web-c003"], {"c001", "c003"}, id="app-repeated"),
    pytest.param(["--selector", "region=eu", "--app", "*-c003"], {"c003"}, id="selector-and-app"),
]


@pytest.mark.parametrize("flags, expected", CASES)
def test_only_the_selected_applications_are_synced(make_fleet, flags: list[str], expected: set[str]) -> None:
    env = make_fleet("basic", labels=LABELS)
    run = env.sync(*flags)
    assert run.exit_code == 0, run.stderr
    assert {a.cluster for a in run.run_result.apps()} == expected
    counts = env.sim.request_counts()
    for cluster in env.cluster_names:
        touched = counts[cluster]["total"] > 0
        assert touched is (cluster in expected), cluster
        assert (env.names(cluster, "web", "Deployment") == ["web"]) is (cluster in expected)
