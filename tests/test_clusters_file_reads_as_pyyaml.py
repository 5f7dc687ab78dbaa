"""A clusters file is read into exactly what PyYAML's safe loader gives, without paying for its
Python constructor where the file needs none of it (issue 15: the 500 cluster Secrets of a large
fleet cost more in that constructor than in libyaml's parser). Plain maps, lists and strings are
built from the parser's nodes; JSON that YAML 1.1 reads the same is read by orjson; anything else
(anchors, merge keys, tags, timestamps, floats JSON and YAML 1.1 read differently) gives the
values PyYAML gives, and a file PyYAML refuses is refused with PyYAML's message."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from fleet import kyaml, models
from fleet.clusters import argocd, yamlfile

SAME_AS_PYYAML = [
    (
        "plain secrets",
        "kind: Secret\nmetadata: {name: c1, labels: {env: prod}}\nstringData:\n  server: https://c1\n",
    ),
    ("several documents", "a: 1\n---\n---\n- x\n- y\n...\n---\nb: [1, 2]\n"),
    ("an empty file", ""),
    ("yaml 1.1 scalars", "yes: no\non: off\n1: 2\n~: null\n0x1f: 0o17\n017: 1_000\n1:20: .inf\ne: 1e5\n"),
    ("timestamps", "d: 2024-01-01\nt: 2024-01-01T10:00:00Z\n"),
    ("explicit tags", "a: !!str 123\nb: !!int '7'\nc: !!float '1.5'\nd: !!binary aGVsbG8=\n"),
    ("an anchor used twice", "a: &x {b: [1, 2]}\nc: *x\nd: *x\n"),
    ("a merge key", "base: &b {x: 1, y: 2}\nd:\n  <<: *b\n  y: 3\n"),
    ("a value key", "= : 1\n"),
    ("a set and an ordered map", "s: !!set {a, b}\no: !!omap [a: 1, b: 2]\np: !!pairs [a: 1, a: 2]\n"),
    ("a tagged map and list", "!!map {a: !!seq [1]}\n"),
    ("an anchored key", "a: &k x\n*k : y\n"),
    ("a literal block", "a: |\n  x\n  y\nb: >\n  folded\n  text\n"),
    ("duplicate keys", "a: 1\na: 2\n"),
    ("json", '{"kind": "List", "items": [{"a": 1, "b": true, "c": null, "d": "x\\/y\\u00e9"}]}'),
    ("json floats yaml 1.1 reads as strings", '{"a": 1e5, "b": 1.5, "c": 1E+5}'),
    ("json integers beyond 64 bits", '{"a": 123456789012345678901234567890}'),
    ("json with a non-ascii line break", '{"a": "x\u2028y\u0085z"}'),
    ("json duplicate keys", '{"a": 1, "a": 2}'),
    ("a json list", '[{"kind": "Secret"}, []]'),
    ("yaml flow style", "{a: 1, b: [x, y]}"),
]

REFUSED = [
    ("an unhashable key", "? [a, b]\n: c\n"),
    ("an unknown tag", "x: !custom 1\n"),
    ("a json surrogate pair", '{"a": "\\ud83d\\ude00"}'),
    ("a python tag", "!!python/object:os.system {}\n"),
    ("two json documents on a line", '{"a": 1} {"b": 2}'),
]


def pyyaml(text: str) -> list[Any]:
    """What the loader gave before: PyYAML's safe loader, on libyaml's parser when it has it."""
    return list(yaml.load_all(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)))  # noqa: S506


def refusal(text: str) -> str:
    """How fleet has always worded PyYAML's refusal: PyYAML's own parser's message where it
    refuses the text too, else libyaml's."""
    with pytest.raises(yaml.YAMLError) as fast:
        pyyaml(text)
    try:
        list(yaml.safe_load_all(text))
    except yaml.YAMLError as pure:
        return kyaml.error_text(pure)
    return kyaml.error_text(fast.value)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "clusters.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def typed(value: Any) -> Any:
    """The value with each scalar's type beside it (1 and True and 1.0 are equal in Python)."""
    if isinstance(value, dict):
        return [(typed(k), typed(v)) for k, v in value.items()]
    if isinstance(value, (list, set)):
        return [typed(v) for v in (sorted(value) if isinstance(value, set) else value)]
    return (type(value).__name__, value)


@pytest.mark.parametrize("text", [c[1] for c in SAME_AS_PYYAML], ids=[c[0] for c in SAME_AS_PYYAML])
def test_a_clusters_file_reads_as_pyyamls_safe_loader_reads_it(tmp_path: Path, text: str) -> None:
    assert typed(yamlfile.documents(write(tmp_path, text))) == typed(pyyaml(text))


@pytest.mark.parametrize("text", [c[1] for c in REFUSED], ids=[c[0] for c in REFUSED])
def test_a_clusters_file_pyyaml_refuses_is_refused_with_its_message(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, text)
    expected = refusal(text)
    with pytest.raises(Exception) as raised:
        yamlfile.documents(path)
    assert str(raised.value) == f"{path}: is not valid YAML: {expected}"


@pytest.fixture
def constructed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The tag of every node PyYAML's constructor builds."""
    seen: list[str] = []
    original = yaml.constructor.BaseConstructor.construct_object

    def counting(self: Any, node: Any, deep: bool = False) -> Any:
        seen.append(node.tag)
        return original(self, node, deep)

    monkeypatch.setattr(yaml.constructor.BaseConstructor, "construct_object", counting)
    return seen


def cluster_secrets(count: int) -> list[dict[str, Any]]:
    return [
        argocd.cluster_secret(
            models.Cluster(
                name=f"c{i:03d}", server=f"https://c{i:03d}.example.com:6443", labels={"env": "prod"}
            )
        )
        for i in range(count)
    ]


def test_cluster_secrets_are_built_without_pyyamls_constructor(
    tmp_path: Path, constructed: list[str]
) -> None:
    secrets = cluster_secrets(20)
    path = write(tmp_path, yaml.safe_dump_all(secrets, sort_keys=False))
    clusters = argocd.load_cluster_secrets(path)
    assert [c.name for c in clusters] == [f"c{i:03d}" for i in range(20)]
    assert constructed == []


def test_a_json_clusters_file_reads_as_its_yaml_twin_without_pyyaml(
    tmp_path: Path, constructed: list[str]
) -> None:
    listed = {"apiVersion": "v1", "kind": "List", "items": cluster_secrets(5)}
    as_yaml = tmp_path / "clusters.yaml"
    as_yaml.write_text(yaml.safe_dump(listed))
    as_json = tmp_path / "clusters.json"
    as_json.write_text(json.dumps(listed, indent=2))
    from_json = [c.model_dump(exclude={"source"}) for c in argocd.load_cluster_secrets(as_json)]
    assert constructed == []
    from_yaml = [c.model_dump(exclude={"source"}) for c in argocd.load_cluster_secrets(as_yaml)]
    assert from_json == from_yaml and len(from_json) == 5


def test_a_merge_key_is_left_to_pyyamls_constructor(tmp_path: Path, constructed: list[str]) -> None:
    text = "base: &b {x: '1'}\nd:\n  <<: *b\n  y: '2'\n"
    assert yamlfile.documents(write(tmp_path, text)) == [{"base": {"x": "1"}, "d": {"x": "1", "y": "2"}}]
    assert constructed  # the whole document went to PyYAML's constructor
