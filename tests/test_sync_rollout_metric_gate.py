"""A metric gate against a real Prometheus server (started by the test on a free port, scraping a
test target whose gauge the test flips): while the PromQL expression is false the rollout holds
before step 2 and nothing reaches staging; once it is true the next run continues from there."""

from __future__ import annotations

import pytest

from fleet.results import StepState
from tests.servers.prometheus import PrometheusServer


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory):
    server = PrometheusServer(tmp_path_factory.mktemp("prometheus"))
    yield server
    server.stop()


def test_a_metric_gate_blocks_while_false_and_passes_once_true(make_fleet, prometheus) -> None:
    env = make_fleet("rolling")
    prometheus.set_gauge(0)
    flags = ("--step-metric", "fleet_test_gate == 1", "--prometheus-url", prometheus.url)
    held = env.sync(*flags)
    assert held.exit_code == 0, held.stderr
    (found,) = held.run_result.rollouts
    assert [s.state for s in found.steps] == [StepState.COMPLETED, StepState.HELD, StepState.NOT_STARTED]
    assert "fleet_test_gate == 1" in found.message and "not true yet" in found.message
    assert env.sim.request_counts("c002")["total"] == 0

    prometheus.set_gauge(1)
    passed = env.sync(*flags)
    assert passed.exit_code == 0, passed.stderr
    assert all(s.state is StepState.COMPLETED for s in passed.run_result.rollouts[0].steps)


def test_a_metric_gate_without_a_prometheus_server_is_bad_input(make_fleet) -> None:
    env = make_fleet("rolling", clusters=1)
    run = env.sync("--step-metric", "up == 1")
    assert run.exit_code == 2 and "--step-metric" in run.stderr and "Prometheus" in run.stderr
    assert env.sim.request_counts("c001")["total"] == 0
