"""Whose an inventory is, seen from a run's fleet (fleet.lifecycle.ownership): the same repository
and fleet name is this fleet's; another identity is another fleet's, never deleted nor reported;
no identity (written before fleets had one) is kept unless the run adopts such inventories."""

from __future__ import annotations

import pytest

from fleet import inventory, lifecycle
from fleet.lifecycle import Decision, FleetIdentity, Ownership, Removal

MINE = FleetIdentity("https://git.example.com/platform/fleet")
NAMED = FleetIdentity("https://git.example.com/platform/fleet", "blue")
OTHER = FleetIdentity("https://git.example.com/team/other")

CASES = [
    pytest.param(MINE, Removal(fleet=MINE), Ownership.OURS, id="same-repository"),
    pytest.param(NAMED, Removal(fleet=MINE), Ownership.FOREIGN, id="same-repository-another-name"),
    pytest.param(OTHER, Removal(fleet=MINE), Ownership.FOREIGN, id="another-repository"),
    pytest.param(
        OTHER, Removal(fleet=MINE, adopt=True), Ownership.FOREIGN, id="adopting-never-takes-another-fleets"
    ),
    pytest.param(None, Removal(fleet=MINE), Ownership.LEGACY, id="no-identity"),
    pytest.param(None, Removal(fleet=MINE, adopt=True), Ownership.OURS, id="no-identity-adopted"),
    pytest.param(OTHER, Removal(), Ownership.OURS, id="a-run-without-identity-owns-everything"),
]


@pytest.mark.parametrize("recorded, removal, owner", CASES)
def test_an_inventory_belongs_to_the_fleet_that_wrote_it(recorded, removal, owner) -> None:
    assert lifecycle.ownership(recorded, removal) is owner


def configmap(app: str, fleet: FleetIdentity | None) -> dict:
    return lifecycle.inventory_configmap(
        app,
        inventory.new(),
        appset="web",
        applications_sync="sync",
        cascade=True,
        namespace="web",
        fleet=fleet,
    )


def test_only_this_fleets_and_unowned_inventories_count_as_removed() -> None:
    found = {
        "mine": configmap("mine", MINE),
        "theirs": configmap("theirs", OTHER),
        "old": configmap("old", None),
    }
    assert lifecycle.removed(found, Removal(fleet=MINE), present=[]) == ["mine", "old"]
    record = lifecycle.read(found["old"])
    decision, message = lifecycle.decide(record, Removal(fleet=MINE))
    assert decision is Decision.KEEP and "--adopt-inventories" in message
    assert lifecycle.decide(record, Removal(fleet=MINE, adopt=True))[0] is Decision.DELETE


def test_the_identity_is_recorded_and_read_back() -> None:
    cm = configmap("web-c1", NAMED)
    assert lifecycle.read(cm).fleet == NAMED and lifecycle.recorded_fleet(cm) == NAMED
    assert lifecycle.differs(configmap("web-c1", None), cm)  # a legacy inventory is written again
    assert not lifecycle.differs(cm, configmap("web-c1", NAMED))
