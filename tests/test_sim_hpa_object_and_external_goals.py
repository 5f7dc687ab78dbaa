"""An Object or External metric's goal: an AverageValue target divides the value among pods; a
Value target scales the current replicas by value over target, within the tolerance."""

import pytest

from fleet.clusters.sim.controllers import hpa

CASES = [
    pytest.param(
        2, {"type": "AverageValue", "averageValue": "2"}, "10", 5, {"averageValue": "10"}, id="average-value"
    ),
    pytest.param(2, {"type": "Value", "value": "10"}, "30", 6, {"value": "30"}, id="value-triples"),
    pytest.param(4, {"type": "Value", "value": "10"}, "10", 4, {"value": "10"}, id="value-at-target"),
    pytest.param(
        3, {"type": "AverageValue", "averageValue": "500m"}, "2", 4, {"averageValue": "2"}, id="milli"
    ),
]


@pytest.mark.parametrize("current, goal, value, replicas, entry", CASES)
def test_a_metric_goal_gives_the_replicas_and_status_entry(current, goal, value, replicas, entry) -> None:
    assert hpa._against_goal(current, goal, value) == (replicas, entry)
