"""The read-only JSON API of `fleet serve` answers from the status store: runs (newest first,
by state), one run, the latest state of every Application (filtered), one Application on one
cluster (masked diff, health messages, revision, events, last good revision), and clusters. No
answer ever carries a secret value: a Secret's value changed between runs shows as masked."""

from __future__ import annotations

import json

import pytest

from fleet.secrets import resolver as resolver_mod
from fleet.serve import server
from tests import serve_helpers as sh

FIRST, SECOND = "first-Qx71vB", "second-Lm38dC"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """Two runs of a fleet with a Secret from a file reference, whose value changed in between."""
    with sh.module_fleet(tmp_path_factory, clusters=2) as env:
        yield from _served(env, tmp_path_factory.mktemp("creds") / "creds.yaml")


def _served(env, creds):
    creds.write_text(f"db:\n  password: {FIRST}\n")
    env.write(
        "apps/web/secret.yaml",
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"},
         "stringData": {"password": "ref+file://creds.yaml#/db/password"}},
    )  # fmt: skip
    resolver = resolver_mod.Resolver(["file"], base_dir=creds.parent)
    srv = sh.make_server(env, resolver=resolver)
    with server.running(srv):
        base = sh.base_url(srv)
        auth = {"Authorization": f"Bearer {sh.TOKEN}"}
        assert sh.http("POST", f"{base}/api/v1/sync", b"", auth).status == 202
        assert srv.worker.wait_finished(1, timeout=120)
        creds.write_text(f"db:\n  password: {SECOND}\n")
        env.sim.edit_object(
            "c001", "apps/v1", "Deployment", "web", "web", lambda o: o["spec"].update(replicas=5)
        )
        assert sh.http("POST", f"{base}/api/v1/sync", b"", auth).status == 202
        assert srv.worker.wait_finished(2, timeout=120)
        yield env, base


def get(base: str, path: str) -> tuple[int, dict]:
    answer = sh.http("GET", f"{base}{path}")
    text = answer.body.decode()
    assert FIRST not in text and SECOND not in text, path  # never a secret value
    return answer.status, json.loads(text)


def test_runs_are_listed_newest_first_and_read_one_by_one(served) -> None:
    _env, base = served
    status, data = get(base, "/api/v1/runs")
    assert status == 200 and len(data["runs"]) == 2
    newest, oldest = data["runs"]
    assert newest["started_at"] >= oldest["started_at"] and newest["state"] == "finished"
    status, one = get(base, f"/api/v1/runs/{newest['run_id']}")
    assert status == 200 and one["run_id"] == newest["run_id"] and one["summary"]["applications"] == 2
    assert get(base, "/api/v1/runs?state=interrupted")[1] == {"runs": []}
    assert get(base, "/api/v1/runs/no-such-run")[0] == 404
    assert get(base, "/api/v1/runs?state=sleeping")[0] == 400


FILTERS = [
    pytest.param("", ["web-c001", "web-c002"], id="all"),
    pytest.param("?cluster=c002", ["web-c002"], id="by-cluster"),
    pytest.param("?app=web-*", ["web-c001", "web-c002"], id="by-app-glob"),
    pytest.param("?health=Healthy&sync=Synced", ["web-c002"], id="by-status"),
    pytest.param("?sync=OutOfSync", ["web-c001"], id="drifted-by-hand"),
    pytest.param("?ok=false", ["web-c001"], id="failing-only"),
    pytest.param("?project=other", [], id="by-project"),
]


@pytest.mark.parametrize("query, names", FILTERS)
def test_applications_are_filtered(served, query, names) -> None:
    _env, base = served
    status, data = get(base, f"/api/v1/applications{query}")
    assert status == 200 and [a["app"] for a in data["applications"]] == names


def test_one_application_shows_its_masked_diff_revision_and_last_good(served) -> None:
    _env, base = served
    status, app = get(base, "/api/v1/applications/c001/web-c001")
    # Its Deployment was scaled by hand (drift, reported: selfHeal is off), its Secret rotated.
    assert status == 200 and not app["ok"] and app["sync_status"] == "OutOfSync"
    assert app["revision"] and app["last_good"]["run_id"]  # the first run left it Synced and Healthy
    diffs = {d["object"]: d["diff"] for d in app["diffs"]}
    assert "Secret:web/db" in diffs and "apps/Deployment:web/web" in diffs
    assert "replicas" in diffs["apps/Deployment:web/web"]
    assert get(base, "/api/v1/applications/c009/web-c009")[0] == 404


def test_clusters_are_listed_with_their_counts(served) -> None:
    _env, base = served
    status, data = get(base, "/api/v1/clusters")
    assert status == 200
    assert [(c["cluster"], c["reachable"], c["applications"], c["ok"]) for c in data["clusters"]] == [
        ("c001", True, 1, 0),
        ("c002", True, 1, 1),
    ]
