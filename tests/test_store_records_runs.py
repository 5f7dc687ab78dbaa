"""The status store records each run whole: the history, the latest state per Application and
cluster, and the last revision each Application was Synced and Healthy at; on both backends."""

from __future__ import annotations

import pytest

from fleet import redact, results, store
from fleet.health import Health
from tests import store_helpers as h

SECRET = "hunter2-store-secret"
GOOD, BAD = "1" * 40, "2" * 40


def test_the_store_keeps_history_and_the_latest_state_per_application(store_url) -> None:
    db = store.open(store_url)
    db.record(h.run("r1", revision=GOOD))
    db.record(h.run("r2", revision=BAD, broken=("c002",)))
    assert [r.run_id for r in db.runs()] == ["r2", "r1"]
    assert db.latest_run().run_id == "r2" and db.latest_run().state is results.RunState.FINISHED
    states = {(a.cluster, a.name): a for a in db.app_states()}
    assert states[("c002", "web-c002")].health is Health.DEGRADED
    assert states[("c001", "web-c001")].revision == BAD
    assert {c["cluster"] for c in db.cluster_states()} == {"c001", "c002"}


def test_the_last_good_revision_is_the_last_one_a_sync_left_synced_and_healthy(store_url) -> None:
    db = store.open(store_url)
    db.record(h.run("r1", revision=GOOD))
    db.record(h.run("r2", revision=BAD, broken=("c002",)))
    db.record(h.run("r3", revision="3" * 40, kind=results.RunKind.DIFF))  # a diff changes nothing
    good = {(g.cluster, g.app): g for g in db.last_good()}
    assert (good[("c001", "web-c001")].revision, good[("c001", "web-c001")].run_id) == (BAD, "r2")
    assert (good[("c002", "web-c002")].revision, good[("c002", "web-c002")].run_id) == (GOOD, "r1")
    (only,) = db.last_good(cluster="c002", app="web-c002")
    assert only.revision == GOOD


def test_an_application_deleted_from_its_cluster_leaves_no_state_and_no_last_good(store_url) -> None:
    db = store.open(store_url)
    db.record(h.run("r1"))
    removed = h.app("web-c002", "c002").model_copy(update={"deletion": results.Deletion.DELETED})
    second = h.run("r2").model_copy(
        update={"clusters": (results.ClusterResult(cluster="c002", apps=(removed,)),)}
    )
    db.record(second)
    assert ("c002", "web-c002") not in {(a.cluster, a.name) for a in db.app_states()}
    assert [g.cluster for g in db.last_good()] == ["c001"]


def test_the_store_never_holds_a_secret_value(store_url, tmp_path) -> None:
    redact.register(SECRET)
    db = store.open(store_url)
    leaky = h.run("r1", broken=("c002",))
    app = leaky.clusters[1].apps[0].model_copy(update={"message": f"token {SECRET} rejected"})
    cluster = leaky.clusters[1].model_copy(update={"apps": (app,), "message": f"bearer {SECRET}"})
    db.record(
        leaky.model_copy(update={"clusters": (leaky.clusters[0], cluster), "source": f"https://u:{SECRET}@x"})
    )
    assert SECRET not in everything_in(db)
    assert "***" in db.app_states()[1].message


def everything_in(db: store.Store) -> str:
    """Every value of every table, as text (the SQLite file's bytes too)."""
    from fleet.store import backend

    text = []
    if db.path is not None:
        text.append(db.path.read_bytes().decode(errors="replace"))
    with backend.transaction(db.backend, write=False) as tx:
        for table in sorted(db.backend.tables(tx)):
            text.extend(repr(row) for row in tx.all(f"SELECT * FROM {table}"))
    return "\n".join(text)


def test_reading_a_store_that_does_not_exist_names_it(tmp_path) -> None:
    with pytest.raises(Exception, match="holds no status yet") as caught:
        store.open(f"sqlite://{tmp_path}/nothing/status.db").runs()
    assert "nothing/status.db" in str(caught.value)
    assert not (tmp_path / "nothing").exists()


def test_postgresql_is_reached_through_its_unix_socket_too(postgres_server) -> None:
    name = postgres_server.create_database()
    try:
        store.open(postgres_server.url(name)).record(h.run("r1"))
        assert [r.run_id for r in store.open(postgres_server.socket_url(name)).runs()] == ["r1"]
    finally:
        postgres_server.drop_database(name)
