"""`fleet serve` keeps the cluster registry and repository credentials it parsed between runs
only while their files are unchanged: a cluster file rewritten (a cluster added or removed by
whoever manages the Secret) is read again by the next run and the next webhook."""

from __future__ import annotations

import yaml

from fleet.serve import adapter
from tests import serve_helpers as sh


def test_a_rewritten_cluster_file_is_read_again(make_fleet) -> None:
    env = make_fleet("basic", clusters=2)
    request = sh.request_for(env)
    first = adapter.prepared(request)
    assert [c.name for c in first.clusters or ()] == ["c001", "c002"]
    assert adapter.prepared(request).clusters == first.clusters  # unchanged files: the same parse
    docs = list(yaml.safe_load_all(env.clusters_file.read_text()))
    env.clusters_file.write_text(yaml.safe_dump_all(docs[:1]))
    assert [c.name for c in adapter.prepared(request).clusters or ()] == ["c001"]
