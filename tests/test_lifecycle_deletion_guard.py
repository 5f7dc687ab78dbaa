"""The deletion guard's arithmetic (fleet.lifecycle.DeletionGuard): per cluster, cascade deletes
beyond --max-delete (N, or P% of the fleet's Applications there rounded down but at least one)
stop the run, and so does deleting every Application of a cluster unless --allow-mass-delete."""

from __future__ import annotations

import pytest

from fleet import errors, lifecycle

Guard = lifecycle.DeletionGuard

CASES = [
    # (--max-delete, --allow-mass-delete, deleting, remaining, stopped)
    pytest.param(None, False, 0, 10, False, id="nothing-to-delete"),
    pytest.param(None, False, 1, 9, False, id="default-10pct-of-10-allows-1"),
    pytest.param(None, False, 2, 8, True, id="default-10pct-of-10-stops-2"),
    pytest.param(None, False, 1, 4, False, id="default-rounds-up-to-one"),
    pytest.param(None, False, 2, 18, False, id="default-10pct-of-20-allows-2"),
    pytest.param(None, False, 1, 0, True, id="a-whole-cluster-of-one"),
    pytest.param("100%", False, 3, 0, True, id="a-whole-cluster-even-at-100pct"),
    pytest.param("100%", False, 3, 1, False, id="100pct-short-of-the-whole-cluster"),
    pytest.param("3", False, 3, 1, False, id="count-allows-exactly"),
    pytest.param("3", False, 4, 10, True, id="count-stops-above"),
    pytest.param("0", False, 1, 10, True, id="zero-stops-any"),
    pytest.param("0%", False, 1, 10, True, id="zero-percent-stops-any"),
    pytest.param(None, True, 50, 0, False, id="allow-mass-delete-lifts-it"),
]


@pytest.mark.parametrize("text, mass, deleting, remaining, stopped", CASES)
def test_the_guard_stops_deletions_past_its_limit(text, mass, deleting, remaining, stopped) -> None:
    stop = Guard.parse(text, allow_mass=mass).check(deleting, remaining=remaining)
    assert (stop is not None) is stopped, stop
    if stop is not None:
        assert stop.whole_cluster is (remaining == 0)


@pytest.mark.parametrize("text", ["-1", "10.5%", "101%", "ten", "%"])
def test_a_bad_max_delete_is_bad_input_naming_the_flag(text) -> None:
    with pytest.raises(errors.InputError, match="--max-delete"):
        Guard.parse(text)
