"""A Git push delivered to `fleet serve` syncs, at once, only the Applications whose sources it
touched (repository, branch, and changed paths under the source path): the others receive no
request that writes, counted at the simulator. A push to another branch or another repository,
or one that changes no Application's files, runs nothing; a change to an ApplicationSet file of
the fleet runs the whole fleet."""

from __future__ import annotations

import pytest

from fleet import store
from fleet.serve import server, webhooks
from tests import serve_helpers as sh

WRITES = ("apply", "patch", "create", "update", "delete")


def _writes(counts: dict, plural: str) -> int:
    verbs = counts["resources"].get(plural, {})
    return sum(n for verb, n in verbs.items() if verb in WRITES)


@pytest.mark.parametrize("provider", list(webhooks.Provider), ids=lambda p: p.value)
def test_a_push_touching_one_app_path_syncs_only_that_app(make_fleet, provider) -> None:
    env = make_fleet("basic", clusters=2)
    sh.add_api_app(env)
    first = env.sync()
    assert first.exit_code == 0, first.stderr
    # The push: web's ConfigMap changes (on disk, as the next fetch would see it).
    path = env.root / "apps/web/configmap.yaml"
    path.write_text(path.read_text().replace("colour: blue", "colour: green"))
    env.sim.reset_counts()
    srv = sh.make_server(env)
    with server.running(srv):
        answer = sh.deliver(sh.base_url(srv), provider, sh.payload(provider))
        assert answer.status == 202, answer.body
        assert srv.worker.wait_finished(1, timeout=120)
    run = store.Store(env.state_dir).latest_run()
    names = sorted(a.name for a in run.apps())
    if provider is webhooks.Provider.BITBUCKET:
        # Bitbucket does not list changed files: every Application of the repository and branch.
        assert names == ["api-c001", "api-c002", "web-c001", "web-c002"]
    else:
        assert names == ["web-c001", "web-c002"]
        assert answer.json()["applications"] == ["c001/web-c001", "c002/web-c002"]
    for cluster in env.cluster_names:
        config = env.sim.get_object(cluster, "v1", "ConfigMap", "web", "web-config")
        assert config["data"]["colour"] == "green"
        counts = env.sim.request_counts(cluster)
        assert _writes(counts, "configmaps") >= 1
        if provider is not webhooks.Provider.BITBUCKET:
            assert _writes(counts, "serviceaccounts") == 0, counts


NOTHING = [
    pytest.param({"branch": "feature/x"}, id="another-branch"),
    pytest.param({"repo": "https://git.example.com/other.git"}, id="another-repository"),
    pytest.param({"modified": ["docs/README.md"]}, id="no-application-path"),
]


@pytest.mark.parametrize("change", NOTHING)
def test_a_push_that_touches_no_application_runs_nothing(make_fleet, change) -> None:
    env = make_fleet("basic", clusters=1)
    srv = sh.make_server(env)
    with server.running(srv):
        answer = sh.deliver(
            sh.base_url(srv), webhooks.Provider.GITHUB, sh.payload(webhooks.Provider.GITHUB, **change)
        )
        assert answer.status == 202 and answer.json()["outcome"] == "ignored", answer.body
        assert srv.worker.pending.selection is None and srv.worker.running is None
    assert env.sim.request_counts("c001")["total"] == 0
    assert store.Store(env.state_dir).run_records() == []  # no run was even registered


def test_a_push_changing_an_applicationset_runs_the_whole_fleet(make_fleet) -> None:
    env = make_fleet("basic", clusters=2)
    sh.add_api_app(env)
    srv = sh.make_server(env)
    with server.running(srv):
        doc = sh.payload(webhooks.Provider.GITLAB, modified=["appset-api.yaml"])
        answer = sh.deliver(sh.base_url(srv), webhooks.Provider.GITLAB, doc)
        assert answer.status == 202 and answer.json()["whole_fleet"] is True, answer.body
        assert srv.worker.wait_finished(1, timeout=120)
    run = store.Store(env.state_dir).latest_run()
    assert sorted(a.name for a in run.apps()) == ["api-c001", "api-c002", "web-c001", "web-c002"]
