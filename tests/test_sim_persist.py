"""A simulator's state survives a restart through its state file."""

from __future__ import annotations

import json
import stat
import time
from pathlib import Path

import pytest
from kubernetes import client, config

from fleet import errors
from fleet.clusters.sim import SimServer
from tests.test_sim_crd import CRD, WIDGET


def test_a_restart_restores_objects_versions_tokens_and_custom_kinds(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    with SimServer(2, state_file=state, rollout_seconds=0.05, labels={"c002": {"team": "blue"}}) as first:
        first.apply_object("c001", CRD)
        first.apply_object("c001", WIDGET)
        cm = first.apply_object(
            "c001",
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "kept", "namespace": "default"},
                "data": {"a": "1"},
            },
        )
        kubeconfig = first.write_kubeconfig(tmp_path / "kubeconfig")
        before = {name: first.objects(name) for name in first.cluster_names()}
        port = first.port
    assert stat.S_IMODE(state.stat().st_mode) == 0o600
    with SimServer(2, state_file=state, port=port) as second:
        assert {name: second.objects(name) for name in second.cluster_names()} == before
        assert second.clusters()[1].labels["team"] == "blue"
        # The kubeconfig written before the restart still works (same tokens).
        with config.new_client_from_config(str(kubeconfig), context="c001") as api:
            core = client.CoreV1Api(api)
            restored = core.read_namespaced_config_map("kept", "default")
            assert restored.metadata.resource_version == cm["metadata"]["resourceVersion"]
            assert restored.metadata.uid == cm["metadata"]["uid"]
            newer = core.patch_namespaced_config_map("kept", "default", {"data": {"a": "2"}})
            assert int(newer.metadata.resource_version) > int(cm["metadata"]["resourceVersion"])
            widgets = client.CustomObjectsApi(api).list_namespaced_custom_object(
                "example.com", "v1", "default", "widgets"
            )
            assert [w["metadata"]["name"] for w in widgets["items"]] == ["gear"]


def test_state_is_also_saved_while_running(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    with SimServer(1, state_file=state, save_interval=0.1) as sim:
        sim.apply_object(
            "c001",
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "early", "namespace": "default"}},
        )
        deadline = time.monotonic() + 5
        while not state.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        saved = json.loads(state.read_text())
    names = [
        item["metadata"]["name"]
        for c in saved["clusters"]
        for r in c["resources"]
        if r["plural"] == "configmaps"
        for item in r["items"]
    ]
    assert names == ["early"]


@pytest.mark.parametrize(
    "content, message",
    [("{not json", "invalid JSON"), ('{"format": "other"}', "format")],
    ids=["not JSON", "another format"],
)
def test_an_unreadable_state_file_is_refused_by_name(tmp_path: Path, content: str, message: str) -> None:
    state = tmp_path / "state.json"
    state.write_text(content)
    with pytest.raises(errors.InputError) as caught:
        SimServer(1, state_file=state).start()
    assert str(state) in str(caught.value) and message in str(caught.value)
    assert state.read_text() == content


def test_a_tls_simulator_keeps_its_ca_across_restarts(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    with SimServer(1, state_file=state, tls=True) as first:
        ca = first.ca_pem
    with SimServer(1, state_file=state, tls=True) as second:
        assert second.ca_pem == ca
