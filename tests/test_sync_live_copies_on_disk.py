"""A new process starts from the live copies the last one kept on disk (issue 15): its first resync
of an unchanged cluster is metadata LISTs alone, a change made by hand in between is still fetched
and healed, and nothing secret-bearing is ever written (Secrets, objects with secret references,
SOPS-encrypted objects, any value the run resolved). ``livecache.close_all()`` drops the process's
memory, which is what a new ``fleet sync`` process starts without."""

from __future__ import annotations

import base64
import json
import stat

import pytest

from fleet import results
from fleet.reconcile import livecache
from fleet.secrets import sops
from tests import secrets_sync_helpers as helpers
from tests.fixtures.sops import AGE_RECIPIENTS


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv(livecache.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.delenv(livecache.SWITCH_ENV, raising=False)
    yield tmp_path / "cache" / "live"
    livecache.close_all()


def cluster_file(env, name: str):
    (cluster,) = [c for c in env.sim.clusters() if c.name == name]
    return livecache.disk_file(livecache.disk_root(), cluster.name, cluster.server.rstrip("/"))


def non_discovery(counts) -> dict[str, int]:
    return {verb: n for verb, n in counts["verbs"].items() if verb != "discovery"}


def test_a_new_process_resyncs_an_unchanged_cluster_on_metadata_lists_alone(make_fleet, cache_dir) -> None:
    env = make_fleet("basic", clusters=1)
    assert env.sync().exit_code == 0
    path = cluster_file(env, "c001")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(cache_dir.stat().st_mode) == 0o700
    livecache.close_all()
    env.sim.reset_counts()
    run = env.sync()
    assert run.exit_code == 0, run.stderr
    counts = env.sim.request_counts("c001")
    assert non_discovery(counts) == {"list": 4}, counts
    assert set(counts["answers"]["list"]) == {"metadata/protobuf"}
    app = run.app("c001", "web-c001")
    assert {r.action for r in app.resources} == {results.Action.UNCHANGED} and app.message == "in sync"


def test_a_change_made_by_hand_between_two_processes_is_fetched_reported_and_healed(
    make_fleet, cache_dir
) -> None:
    env = make_fleet("basic", clusters=1)
    text = (env.root / "appset.yaml").read_text()
    (env.root / "appset.yaml").write_text(
        text.replace("prune: true", "prune: true\n          selfHeal: true")
    )
    assert env.sync().exit_code == 0
    livecache.close_all()
    env.sim.edit_object(
        "c001", "v1", "ConfigMap", "web", "web-config", lambda o: o["data"].update(greeting="edited-by-hand")
    )
    env.sim.reset_counts()
    run = env.sync()
    assert run.exit_code == 0, run.stderr
    resources = env.sim.request_counts("c001")["resources"]
    assert resources["configmaps"].get("get") == 1  # only the object whose resourceVersion moved
    assert "get" not in resources["deployments"] and "get" not in resources["services"]
    (row,) = [r for r in run.app("c001", "web-c001").resources if r.drift]
    assert (row.name, row.action) == ("web-config", results.Action.CONFIGURED) and "healed" in row.message
    assert env.sim.get_object("c001", "v1", "ConfigMap", "web", "web-config")["data"]["greeting"] == "hello"


def test_with_the_switch_off_nothing_is_written_and_a_new_process_lists_in_full(
    make_fleet, cache_dir, monkeypatch
) -> None:
    monkeypatch.setenv(livecache.SWITCH_ENV, "off")
    env = make_fleet("basic", clusters=1)
    assert env.sync().exit_code == 0
    assert not cache_dir.exists()
    livecache.close_all()
    env.sim.reset_counts()
    assert env.sync().exit_code == 0
    assert "metadata/protobuf" not in env.sim.request_counts("c001")["answers"]["list"]


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"{not json", id="damaged"),
        pytest.param(b'{"format": 999, "cluster": "c001"}', id="another-layout"),
        pytest.param(None, id="another-cluster's-file"),
    ],
)
def test_a_file_that_cannot_be_trusted_is_ignored_and_replaced(make_fleet, cache_dir, content) -> None:
    env = make_fleet("basic", clusters=2)
    assert env.sync().exit_code == 0
    path = cluster_file(env, "c001")
    path.write_bytes(content if content is not None else cluster_file(env, "c002").read_bytes())
    livecache.close_all()
    env.sim.reset_counts()
    run = env.sync()
    assert run.exit_code == 0, run.stderr
    assert "metadata/protobuf" not in env.sim.request_counts("c001")["answers"]["list"]
    assert run.app("c001", "web-c001").message == "in sync"
    written = json.loads(path.read_bytes())
    assert (written["format"], written["cluster"]) == (livecache.DISK_FORMAT, "c001")


SOPS_CONFIG = b"""\
apiVersion: v1
kind: ConfigMap
metadata:
  name: licence
data:
  licence: sops-configmap-licence-J7dq2
"""
REFERENCED = "ref+vault://secret/data/{{name}}/db#/password"


def test_nothing_secret_bearing_is_written_and_a_new_process_still_syncs_it(
    make_fleet, sops_env, vault_env, moto_server, cache_dir
) -> None:
    env = make_fleet("secrets", clusters=1)
    fleet = helpers.setup(env, vault_env, moto_server)
    # Secret-bearing objects of other kinds: a reference resolved into a ConfigMap, and a
    # SOPS-encrypted ConfigMap.
    env.write(
        "apps/shop/settings.yaml",
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "settings"},
            "data": {"dsn": REFERENCED},
        },
    )
    rule = sops.CryptRule(sops.RuleKind.ENCRYPTED_REGEX, "^data$")
    (env.root / "apps/shop/licence.yaml").write_bytes(
        sops.encrypt_bytes(SOPS_CONFIG, sops.EncryptOptions(age=AGE_RECIPIENTS[:1], rule=rule), path="l.yaml")
    )
    first = env.sync()
    assert first.exit_code == 0, first.stderr

    text = cluster_file(env, "c001").read_text()
    plaintexts = [*fleet.plaintexts(), "sops-configmap-licence-J7dq2"]
    leaks = [p for p in plaintexts for form in (p, base64.b64encode(p.encode()).decode()) if form in text]
    assert leaks == []
    kept = {(kind, name) for _group, kind, _ns, name, _version, _text in json.loads(text)["objects"]}
    assert ("ConfigMap", "shop") in kept  # a plain object is kept
    assert not {kind for kind, _ in kept} & {"Secret"}
    assert ("ConfigMap", "settings") not in kept and ("ConfigMap", "licence") not in kept

    livecache.close_all()
    env.sim.reset_counts()
    again = env.sync()
    assert again.exit_code == 0, again.stderr
    assert {a.sync_status.value for a in again.run_result.apps()} == {"Synced"}
    # settings and licence fetched again (no copy of them was kept): by GET or one full LIST
    counts = env.sim.request_counts("c001")
    assert counts["resources"]["configmaps"] != {"list": 1}, counts
    text = cluster_file(env, "c001").read_text()
    assert "settings" not in {o[3] for o in json.loads(text)["objects"] if o[1] == "ConfigMap"}
