"""The fleet-native cluster list: a YAML file that names clusters, their labels and credentials.

For fleets that are neither in a kubeconfig nor in Argo CD, and the natural place to keep labels
next to servers. Credential strings may be secret references (``ref+vault://...``, with
``{{name}}`` standing for the cluster's name); they are kept exactly as written here and resolved
by the secret layer inside the worker, just before the cluster is contacted::

    apiVersion: fleet.gitops/v1
    kind: ClusterList
    clusters:
      - name: prod-eu-1
        server: https://10.0.0.1:6443
        labels: {env: prod, region: eu}
        credentials:
          bearerToken: ref+vault://kv/data/clusters/{{name}}#/token
          caData: |
            -----BEGIN CERTIFICATE-----
            ...

A file may hold several ``ClusterList`` documents; their clusters are concatenated. A name used
twice in one file is an error (a user-written list with a duplicate is a mistake, not an override).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Field

from fleet import errors, models, redact
from fleet.clusters import yamlfile

API_VERSION = "fleet.gitops/v1"
KIND = "ClusterList"
REF_PREFIX = "ref+"


class ExecSpec(BaseModel):
    """An exec credential plugin, as in a kubeconfig (``env`` as a mapping or a name/value list)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    command: str
    args: list[str] = Field(default_factory=list)
    env: dict[str, str] | list[dict[str, str]] = Field(default_factory=dict)
    api_version: str = Field("client.authentication.k8s.io/v1beta1", alias="apiVersion")
    install_hint: str | None = Field(None, alias="installHint")
    provide_cluster_info: bool = Field(False, alias="provideClusterInfo")


class CredentialsSpec(BaseModel):
    """How to authenticate; every string may be a ``ref+...`` secret reference."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    bearer_token: str | None = Field(None, alias="bearerToken")
    username: str | None = None
    password: str | None = None
    ca_data: str | None = Field(None, alias="caData")  # PEM, or base64 PEM as Argo CD writes it
    cert_data: str | None = Field(None, alias="certData")
    key_data: str | None = Field(None, alias="keyData")
    insecure: bool = False
    server_name: str | None = Field(None, alias="serverName")
    proxy_url: str | None = Field(None, alias="proxyUrl")
    exec: ExecSpec | None = None


class ClusterSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str = Field(min_length=1)
    server: str = Field(pattern=r"^https?://[^\s]+$")
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    project: str = ""
    namespaces: list[str] = Field(default_factory=list)
    cluster_resources: bool = Field(True, alias="clusterResources")
    credentials: CredentialsSpec = Field(default_factory=CredentialsSpec)


class ClusterList(BaseModel):
    """The document: ``apiVersion: fleet.gitops/v1``, ``kind: ClusterList``, ``clusters: [...]``."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    api_version: Literal["fleet.gitops/v1"] = Field(alias="apiVersion")
    kind: Literal["ClusterList"]
    clusters: list[ClusterSpec] = Field(default_factory=list)


def is_cluster_list(doc: Mapping[str, Any]) -> bool:
    return doc.get("kind") == KIND and str(doc.get("apiVersion", "")).startswith("fleet.gitops/")


def load(path: str | Path) -> list[models.Cluster]:
    """Every cluster of a fleet-native cluster list file; errors name the file, cluster and field."""
    where = str(path)
    docs = [doc for doc in yamlfile.documents(path) if doc is not None]
    if not docs:
        raise errors.InputError(f"is empty (expected a {KIND})", file=where)
    clusters: list[models.Cluster] = []
    seen: dict[str, int] = {}
    for doc_index, doc in enumerate(docs):
        for cluster in from_document(doc, where=where, doc_index=doc_index if len(docs) > 1 else None):
            if cluster.name in seen:
                raise errors.InputError(
                    "is used by more than one cluster in this file",
                    file=where,
                    obj=f"cluster {cluster.name}",
                    field="name",
                )
            seen[cluster.name] = len(clusters)
            clusters.append(cluster)
    return clusters


def from_document(doc: Any, *, where: str = "<input>", doc_index: int | None = None) -> list[models.Cluster]:
    """Validate one parsed ``ClusterList`` document and convert its clusters."""
    prefix = f"document {doc_index + 1}" if doc_index is not None else None
    if not isinstance(doc, dict):
        raise errors.InputError(f"must be a mapping (a {KIND})", file=where, obj=prefix)
    try:
        parsed = ClusterList.model_validate(doc)
    except pydantic.ValidationError as exc:
        raise _input_error(exc, doc, where=where, prefix=prefix) from None
    return [_to_cluster(spec, where=where, index=i) for i, spec in enumerate(parsed.clusters)]


def _input_error(
    exc: pydantic.ValidationError, doc: Mapping[str, Any], *, where: str, prefix: str | None
) -> errors.InputError:
    """The first validation problem, naming the cluster and field but never the input value."""
    first = exc.errors()[0]
    loc = list(first["loc"])
    obj = prefix
    if len(loc) >= 2 and loc[0] == "clusters" and isinstance(loc[1], int):
        entry = (doc.get("clusters") or [])[loc[1]]
        name = entry.get("name") if isinstance(entry, dict) else None
        obj = f"cluster {name}" if name else f"clusters[{loc[1]}]"
        loc = loc[2:]
    field = ".".join(str(part) for part in loc) or None
    message = first["msg"]
    if first["type"] == "literal_error" and field in {"apiVersion", "kind"}:
        message = f"must be {API_VERSION!r}" if field == "apiVersion" else f"must be {KIND!r}"
    elif first["type"] == "string_pattern_mismatch" and field == "server":
        message = "must be an http:// or https:// URL"
    elif first["type"] == "extra_forbidden":
        message = "is not a known field"
    elif first["type"] == "string_type":
        message = "must be a string (quote numbers and booleans in YAML)"
    return errors.InputError(message, file=where, obj=obj, field=field)


def _to_cluster(spec: ClusterSpec, *, where: str, index: int) -> models.Cluster:
    creds = spec.credentials
    obj = f"cluster {spec.name}"
    for value in (creds.bearer_token, creds.password, creds.key_data):
        if value and not value.startswith(REF_PREFIX):
            redact.register(value)
    exec_cfg = None
    if creds.exec is not None:
        env = creds.exec.env
        if isinstance(env, list):
            try:
                env = {item["name"]: item.get("value", "") for item in env}
            except KeyError:
                raise errors.InputError(
                    "items need 'name' and 'value'", file=where, obj=obj, field="credentials.exec.env"
                ) from None
        exec_cfg = models.ExecConfig.model_validate(
            {
                "command": creds.exec.command,
                "args": tuple(creds.exec.args),
                "env": env,
                "apiVersion": creds.exec.api_version,
                "installHint": creds.exec.install_hint,
                **({"provideClusterInfo": True} if creds.exec.provide_cluster_info else {}),
            }
        )
    return models.Cluster(
        name=spec.name,
        server=spec.server,
        labels=spec.labels,
        annotations=spec.annotations,
        project=spec.project,
        namespaces=tuple(spec.namespaces),
        cluster_resources=spec.cluster_resources,
        credentials=models.ClusterCredentials(
            bearer_token=creds.bearer_token,
            username=creds.username,
            password=creds.password,
            client_cert_data=_pem(creds.cert_data, where=where, obj=obj, field="credentials.certData"),
            client_key_data=_pem(creds.key_data, where=where, obj=obj, field="credentials.keyData"),
            ca_data=_pem(creds.ca_data, where=where, obj=obj, field="credentials.caData"),
            insecure=creds.insecure,
            server_name=creds.server_name,
            exec=exec_cfg,
            proxy_url=creds.proxy_url,
        ),
        source=f"{where}:{spec.name}",
    )


def _pem(value: str | None, *, where: str, obj: str, field: str) -> str | None:
    """PEM text as is, a secret reference as is, base64 PEM decoded (Argo CD's habit)."""
    if not value:
        return None
    if value.startswith(REF_PREFIX) or "-----BEGIN" in value:
        return value
    try:
        text = base64.b64decode(value, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise errors.InputError(
            "is neither PEM text nor base64-encoded PEM", file=where, obj=obj, field=field
        ) from None
    if "-----BEGIN" not in text:
        raise errors.InputError(
            "is neither PEM text nor base64-encoded PEM", file=where, obj=obj, field=field
        )
    return text


def document(clusters: list[models.Cluster]) -> dict[str, Any]:
    """The ``ClusterList`` document for ``clusters`` (the inverse of ``load``, for writing files)."""
    items: list[dict[str, Any]] = []
    for cluster in clusters:
        creds = cluster.credentials
        cred: dict[str, Any] = {
            "bearerToken": creds.bearer_token,
            "username": creds.username,
            "password": creds.password,
            "caData": creds.ca_data,
            "certData": creds.client_cert_data,
            "keyData": creds.client_key_data,
            "serverName": creds.server_name,
            "proxyUrl": creds.proxy_url,
        }
        if creds.insecure:
            cred["insecure"] = True
        if creds.exec:
            cred["exec"] = {
                "command": creds.exec.command,
                "args": list(creds.exec.args),
                "env": dict(creds.exec.env),
                "apiVersion": creds.exec.api_version,
            }
        item: dict[str, Any] = {"name": cluster.name, "server": cluster.server}
        if cluster.labels:
            item["labels"] = dict(cluster.labels)
        if cluster.annotations:
            item["annotations"] = dict(cluster.annotations)
        if cluster.project:
            item["project"] = cluster.project
        if cluster.namespaces:
            item["namespaces"] = list(cluster.namespaces)
        if not cluster.cluster_resources:
            item["clusterResources"] = False
        cred = {k: v for k, v in cred.items() if v is not None}
        if cred:
            item["credentials"] = cred
        items.append(item)
    return {"apiVersion": API_VERSION, "kind": KIND, "clusters": items}
