"""Data models shared across fleet: the schema of what users write and what fleet reports.

This module sits at the bottom of the import graph: it imports nothing else from ``fleet``.
Models that cross a Ray boundary are frozen.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

IN_CLUSTER_NAME = "in-cluster"
IN_CLUSTER_SERVER = "https://kubernetes.default.svc"


class ExecConfig(BaseModel):
    """A client-go exec credential plugin (kubeconfig ``users[].user.exec``)."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="allow")

    command: str
    args: tuple[str, ...] = ()
    env: dict[str, str] = {}
    api_version: str = Field("client.authentication.k8s.io/v1beta1", alias="apiVersion")
    install_hint: str | None = Field(None, alias="installHint")


class ClusterCredentials(BaseModel):
    """How to authenticate to a cluster's API server.

    Any string here may be a secret reference (``ref+vault://...``); the secret layer resolves it
    inside the worker, just before the cluster is contacted, and the value is never stored.
    """

    model_config = ConfigDict(frozen=True)

    bearer_token: str | None = None
    username: str | None = None
    password: str | None = None
    client_cert_data: str | None = None  # PEM text
    client_key_data: str | None = None  # PEM text
    ca_data: str | None = None  # PEM text
    insecure: bool = False
    server_name: str | None = None  # TLS SNI / verification name override
    exec: ExecConfig | None = None
    proxy_url: str | None = None

    def redacted(self) -> dict[str, Any]:
        """What may be shown to a person: which credential kinds are set, never their values."""
        shown: dict[str, Any] = {}
        for name in ("bearer_token", "password", "client_key_data"):
            if getattr(self, name):
                shown[name] = "***"
        if self.username:
            shown["username"] = self.username
        if self.client_cert_data:
            shown["client_cert_data"] = "<certificate>"
        if self.ca_data:
            shown["ca_data"] = "<certificate>"
        if self.insecure:
            shown["insecure"] = True
        if self.exec:
            shown["exec"] = self.exec.command
        if self.proxy_url:
            shown["proxy_url"] = self.proxy_url
        return shown

    def __repr__(self) -> str:  # never print credentials (pytest and tracebacks show reprs)
        return f"ClusterCredentials({self.redacted()!r})"

    __str__ = __repr__


class Cluster(BaseModel):
    """One target cluster, from whichever source registered it.

    ``labels`` and ``annotations`` are those of the Argo CD cluster Secret (or their equivalent in
    other sources); cluster generators and ``--selector`` match against them.
    """

    model_config = ConfigDict(frozen=True)

    name: str
    server: str
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}
    project: str = ""
    namespaces: tuple[str, ...] = ()  # Argo CD: empty = all namespaces
    cluster_resources: bool = True
    credentials: ClusterCredentials = Field(default_factory=ClusterCredentials)
    source: str = ""  # where this entry came from, e.g. "clusters.yaml", "kubeconfig:ctx"

    def __repr__(self) -> str:  # never print credentials
        return f"Cluster(name={self.name!r}, server={self.server!r}, source={self.source!r})"

    __str__ = __repr__


def in_cluster() -> Cluster:
    """Argo CD's implicit local cluster entry."""
    return Cluster(name=IN_CLUSTER_NAME, server=IN_CLUSTER_SERVER, source="implicit")
