"""The fan-out executors isolate every unit: errors, hangs and dead workers never stop the rest."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fleet import executor

BEHAVE = "tests.executor_work:behave"


@pytest.fixture(scope="module")
def ray_executor() -> Iterator[executor.RayExecutor]:
    ex = executor.RayExecutor(actors=2, slots=4, num_cpus=2)
    yield ex
    ex.close()


@pytest.fixture(params=["local", "ray"])
def any_executor(request: pytest.FixtureRequest) -> executor.Executor:
    if request.param == "local":
        return executor.LocalExecutor(max_workers=4)
    return request.getfixturevalue("ray_executor")


def units(*specs: dict) -> list[executor.WorkUnit]:
    return [executor.WorkUnit(spec["name"], spec) for spec in specs]


def by_key(outcomes) -> dict[str, executor.UnitOutcome]:
    result = {}
    for outcome in outcomes:
        assert outcome.key not in result, f"{outcome.key} reported twice"
        result[outcome.key] = outcome
    return result


def test_every_unit_is_reported_once_with_its_value(any_executor) -> None:
    work = units(*({"name": f"c{i:03d}"} for i in range(40)))
    got = by_key(any_executor.run(BEHAVE, work, timeout=30))
    assert sorted(got) == [u.key for u in work]
    assert all(o.ok and o.value["name"] == o.key for o in got.values())


def test_a_failing_unit_is_reported_and_the_others_finish(any_executor) -> None:
    work = units({"name": "good-1"}, {"name": "bad", "action": "raise"}, {"name": "good-2"})
    got = by_key(any_executor.run(BEHAVE, work, timeout=30))
    assert got["bad"].state is executor.UnitState.ERROR
    assert "cluster bad exploded" in got["bad"].error
    assert got["good-1"].ok and got["good-2"].ok


# Long enough for the short units on a loaded CI machine (1.5 s once was not, on Ray).
HANG_TIMEOUT = 10.0


def test_a_hanging_unit_times_out_without_holding_up_the_others(any_executor) -> None:
    work = units(
        {"name": "stuck", "action": "hang"},
        *({"name": f"c{i}", "action": "sleep", "seconds": 0.05} for i in range(12)),
    )
    got = by_key(any_executor.run(BEHAVE, work, timeout=HANG_TIMEOUT))
    assert got["stuck"].state is executor.UnitState.TIMEOUT
    assert got["stuck"].seconds < HANG_TIMEOUT * 2  # reported at its deadline, not after the hour
    assert all(got[f"c{i}"].ok for i in range(12))


def test_a_cluster_goes_to_the_same_ray_worker_run_after_run(ray_executor) -> None:
    """Home actors (issue 15): a worker keeps a cluster's live objects and watches between runs,
    so each cluster returns to the same one whatever order the units come in."""
    names = (f"c{i:03d}" for i in range(100))
    homes: dict[int, list[str]] = {0: [], 1: []}
    for name in names:
        home = homes[ray_executor.home(name)]
        if len(home) < ray_executor.slots:
            home.append(name)
    work = units(*({"name": n} for n in homes[0] + homes[1]))
    first = by_key(ray_executor.run(BEHAVE, work, timeout=30))
    again = by_key(ray_executor.run(BEHAVE, list(reversed(work)), timeout=30))
    assert {k: o.worker for k, o in again.items()} == {k: o.worker for k, o in first.items()}
    assert len({o.worker for o in first.values()}) == 2


def test_units_run_concurrently_up_to_the_bound() -> None:
    ex = executor.LocalExecutor(max_workers=8)
    work = units(*({"name": f"c{i}", "action": "sleep", "seconds": 0.3} for i in range(16)))
    got = by_key(ex.run(BEHAVE, work, timeout=30))
    assert len(got) == 16 and all(o.ok for o in got.values())
    # How many ran at once, from when each ran (not how long the whole took: a loaded machine
    # stretches that): more than one, never more than the bound.
    edges = sorted(edge for o in got.values() for edge in ((o.value["ran"][0], 1), (o.value["ran"][1], -1)))
    running, most = 0, 0
    for _, step in edges:  # at the same instant an end (-1) sorts before a start
        running += step
        most = max(most, running)
    assert 1 < most <= 8


def test_a_worker_that_dies_loses_only_its_running_units_and_is_replaced() -> None:
    ex = executor.RayExecutor(actors=2, slots=2, num_cpus=2)
    try:
        pids_before = set(ex.actor_pids())
        work = units(
            {"name": "doomed", "action": "die", "after": 0.2},
            *({"name": f"c{i:02d}", "action": "sleep", "seconds": 0.1} for i in range(20)),
        )
        got = by_key(ex.run(BEHAVE, work, timeout=60))
        assert got["doomed"].state is executor.UnitState.WORKER_DIED
        survivors = [o for k, o in got.items() if k != "doomed"]
        assert len(survivors) == 20
        # A unit sharing the dying actor may be lost with it; every other one completed.
        lost = [o for o in survivors if not o.ok]
        assert all(o.state is executor.UnitState.WORKER_DIED for o in lost)
        assert len(lost) <= 1
        assert set(ex.actor_pids()) != pids_before  # the dead actor was replaced
    finally:
        ex.close()


def test_work_functions_are_named_as_module_and_function() -> None:
    with pytest.raises(ValueError, match="package.module:function"):
        executor.resolve_function("tests.executor_work.behave")
    with pytest.raises(ValueError, match="unknown executor"):
        executor.make_executor("threads")
