"""Files that point real clients at simulated clusters: a kubeconfig and Argo CD cluster Secrets.

Both are written with mode 0600, since they hold the clusters' bearer tokens.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from fleet import models
from fleet.clusters import argocd


def kubeconfig(clusters: Sequence[models.Cluster], *, current: str | None = None) -> dict[str, Any]:
    """A kubeconfig with one cluster, user and context per cluster, all named after the cluster."""
    doc: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "clusters": [],
        "users": [],
        "contexts": [],
    }
    for cluster in clusters:
        entry: dict[str, Any] = {"server": cluster.server}
        if cluster.credentials.ca_data:
            entry["certificate-authority-data"] = base64.b64encode(
                cluster.credentials.ca_data.encode()
            ).decode()
        doc["clusters"].append({"name": cluster.name, "cluster": entry})
        user: dict[str, Any] = {}
        if cluster.credentials.bearer_token:
            user["token"] = cluster.credentials.bearer_token
        doc["users"].append({"name": cluster.name, "user": user})
        doc["contexts"].append(
            {
                "name": cluster.name,
                "context": {"cluster": cluster.name, "user": cluster.name, "namespace": "default"},
            }
        )
    if clusters:
        doc["current-context"] = current or clusters[0].name
    return doc


def _write_private(path: str | os.PathLike[str], text: str) -> Path:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.replace(tmp, target)
    return target


# libyaml's emitter when PyYAML has it: the pure-Python one took most of a 100-cluster
# `fleet sim up` after imports (issue 8, item 13); the output is the same YAML.
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def write_kubeconfig(path: str | os.PathLike[str], clusters: Sequence[models.Cluster]) -> Path:
    return _write_private(path, yaml.dump(kubeconfig(clusters), Dumper=_DUMPER, sort_keys=False))


def write_cluster_secrets(
    path: str | os.PathLike[str],
    clusters: Sequence[models.Cluster],
    *,
    namespace: str = argocd.DEFAULT_NAMESPACE,
) -> Path:
    """One Argo CD cluster Secret per cluster, as a YAML stream ``argocd.load_cluster_secrets`` reads."""
    docs = [argocd.cluster_secret(cluster, namespace=namespace) for cluster in clusters]
    return _write_private(path, yaml.dump_all(docs, Dumper=_DUMPER, sort_keys=False))
