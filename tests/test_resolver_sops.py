"""``ref+sops://`` plugs into the resolver's registry (the provider lives in secrets/sops/): a value
of a SOPS file is resolved per reference, masked and cached like any other backend's."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from fleet import models, redact
from fleet.secrets import resolver
from tests.fixtures.sops import SopsEnv

CLUSTER = models.Cluster(name="prod", server="https://prod")


def expected_leaves(vector: Path) -> dict[tuple[str, ...], object]:
    doc = json.loads(vector.with_name(vector.name + ".expected.json").read_text())
    return {tuple(leaf["path"]): leaf["value"] for leaf in doc["leaves_in_mac_order"]}


def test_a_sops_value_resolves_inside_a_manifest(sops_env: SopsEnv, tmp_path: Path) -> None:
    vector = sops_env.vectors / "age.example.json"
    shutil.copy(vector, tmp_path / "secrets.enc.json")
    first_name = expected_leaves(vector)[("firstName",)]
    manifest = {
        "kind": "ConfigMap",
        "metadata": {"name": "who"},
        "data": {"greeting": "hello ref+sops://secrets.enc.json#/firstName+!"},
    }
    context = resolver.Resolver(base_dir=tmp_path).for_cluster(CLUSTER)
    resolved, paths = context.resolve_object(manifest)
    assert resolved["data"]["greeting"] == f"hello {first_name}!"
    assert paths == {("data", "greeting")}
    assert resolver.mask_object(resolved, paths)["data"]["greeting"] == redact.MASK
