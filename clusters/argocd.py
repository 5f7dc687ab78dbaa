"""Argo CD cluster Secrets: read them as Argo CD does and turn them into ``fleet.models.Cluster``.

A cluster Secret is a Secret labelled ``argocd.argoproj.io/secret-type: cluster`` in the Argo CD
namespace, with ``name``, ``server``, optional ``project``, ``namespaces``, ``clusterResources``
and a JSON ``config`` (bearerToken, username/password, tlsClientConfig, execProviderConfig,
proxyUrl), each either base64 in ``data`` or plain in ``stringData`` (stringData wins, as the API
server merges it over data).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from fleet import errors, models
from fleet.clusters import yamlfile

SECRET_TYPE_LABEL = "argocd.argoproj.io/secret-type"
SECRET_TYPE_CLUSTER = "cluster"
DEFAULT_NAMESPACE = "argocd"


class TLSClientConfig(BaseModel):
    """``config.tlsClientConfig`` of an Argo CD cluster Secret (strict: ``"false"`` is not a bool,
    since ``bool("false")`` would silently turn certificate checks off)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, strict=True)

    insecure: bool = False
    server_name: str | None = Field(None, alias="serverName")
    ca_data: str | None = Field(None, alias="caData")
    cert_data: str | None = Field(None, alias="certData")
    key_data: str | None = Field(None, alias="keyData")


class ClusterConfig(BaseModel):
    """The JSON in an Argo CD cluster Secret's ``config`` field (Argo CD's ``ClusterConfig``).

    Unknown fields (``awsAuthConfig``, ``disableCompression``, ...) are kept, not refused.
    """

    model_config = ConfigDict(extra="allow", populate_by_name=True, strict=True)

    bearer_token: str | None = Field(None, alias="bearerToken")
    username: str | None = None
    password: str | None = None
    tls_client_config: TLSClientConfig = Field(default_factory=TLSClientConfig, alias="tlsClientConfig")
    exec_provider_config: models.ExecConfig | None = Field(None, alias="execProviderConfig")
    proxy_url: str | None = Field(None, alias="proxyUrl")


def parse_config(text: str, *, where: str, obj: str) -> ClusterConfig:
    """Validate ``config``; an error names the field inside it, never its value (it holds credentials)."""
    if not text.strip():
        return ClusterConfig()
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise errors.InputError(
            f"is not valid JSON ({exc.msg} at line {exc.lineno})", file=where, obj=obj, field="data.config"
        ) from None
    if not isinstance(raw, dict):
        raise errors.InputError("must be a JSON object", file=where, obj=obj, field="data.config")
    try:
        return ClusterConfig.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        path = ".".join(str(part) for part in first["loc"])
        # pydantic's own message quotes the input value: say only where and what type was expected.
        raise errors.InputError(str(first["msg"]), file=where, obj=obj, field=f"data.config.{path}") from None


def is_cluster_secret(obj: Mapping[str, Any], *, namespace: str | None = DEFAULT_NAMESPACE) -> bool:
    """True for a Secret labelled as an Argo CD cluster, in ``namespace`` (None: any namespace).

    A Secret without ``metadata.namespace`` counts as being in the requested namespace, as
    ``kubectl apply -n argocd -f`` would place it.
    """
    if obj.get("kind") != "Secret" or str(obj.get("apiVersion", "v1")) != "v1":
        return False
    meta = obj.get("metadata") or {}
    labels = meta.get("labels") or {}
    if labels.get(SECRET_TYPE_LABEL) != SECRET_TYPE_CLUSTER:
        return False
    if namespace is None:
        return True
    return meta.get("namespace", namespace) == namespace


def secret_fields(obj: Mapping[str, Any], *, where: str) -> dict[str, str]:
    """The Secret's decoded string fields: base64 ``data`` overlaid with ``stringData``."""
    name = (obj.get("metadata") or {}).get("name", "<unnamed>")
    out: dict[str, str] = {}
    for key, value in (obj.get("data") or {}).items():
        try:
            out[key] = base64.b64decode(str(value), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise errors.InputError(
                "is not valid base64 text", file=where, obj=f"Secret {name}", field=f"data.{key}"
            ) from exc
    for key, value in (obj.get("stringData") or {}).items():
        out[key] = str(value)
    return out


def cluster_from_secret(obj: Mapping[str, Any], *, where: str = "<input>") -> models.Cluster:
    """Convert one Argo CD cluster Secret; errors name the file, Secret and field."""
    meta = obj.get("metadata") or {}
    secret_name = meta.get("name", "<unnamed>")
    label = f"Secret {secret_name}"
    fields = secret_fields(obj, where=where)
    server = fields.get("server", "").strip()
    if not server:
        raise errors.InputError("is missing or empty", file=where, obj=label, field="data.server")
    name = fields.get("name", "").strip() or server
    config = parse_config(fields.get("config", ""), where=where, obj=label)
    tls = config.tls_client_config
    credentials = models.ClusterCredentials(
        bearer_token=config.bearer_token or None,
        username=config.username or None,
        password=config.password or None,
        client_cert_data=_pem(tls.cert_data),
        client_key_data=_pem(tls.key_data),
        ca_data=_pem(tls.ca_data),
        insecure=tls.insecure,
        server_name=tls.server_name or None,
        exec=config.exec_provider_config,
        proxy_url=config.proxy_url or None,
    )
    namespaces = tuple(n.strip() for n in fields.get("namespaces", "").split(",") if n.strip())
    return models.Cluster(
        name=name,
        server=server,
        labels={str(k): str(v) for k, v in (meta.get("labels") or {}).items()},
        annotations={str(k): str(v) for k, v in (meta.get("annotations") or {}).items()},
        project=fields.get("project", ""),
        namespaces=namespaces,
        cluster_resources=fields.get("clusterResources", "false" if namespaces else "true") == "true",
        credentials=credentials,
        source=f"{where}:{secret_name}",
    )


def _pem(value: Any) -> str | None:
    """Argo CD stores certificate and key data base64-encoded PEM; accept plain PEM as well."""
    if not value:
        return None
    text = str(value)
    if "-----BEGIN" in text:
        return text
    try:
        return base64.b64decode(text, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return text


def clusters_from_objects(
    objects: Iterable[Mapping[str, Any]],
    *,
    namespace: str | None = DEFAULT_NAMESPACE,
    where: str = "<input>",
) -> list[models.Cluster]:
    """Every cluster Secret among ``objects``; a later Secret with the same name replaces an
    earlier one (Argo CD keys clusters by name)."""
    by_name: dict[str, models.Cluster] = {}
    for obj in objects:
        if obj and is_cluster_secret(obj, namespace=namespace):
            cluster = cluster_from_secret(obj, where=where)
            by_name[cluster.name] = cluster
    return list(by_name.values())


def load_objects(path: str | Path) -> list[dict[str, Any]]:
    """Every object of a YAML stream (``kind: List`` items are expanded)."""
    where = str(path)
    objects: list[dict[str, Any]] = []
    for doc in yamlfile.documents(path):
        if doc is None:
            continue
        if not isinstance(doc, dict):
            raise errors.InputError("every YAML document must be a mapping", file=where)
        if doc.get("kind") == "List" or (doc.get("kind", "").endswith("List") and "items" in doc):
            objects.extend(item for item in doc.get("items") or [] if isinstance(item, dict))
        else:
            objects.append(doc)
    return objects


def load_cluster_secrets(
    path: str | Path, *, namespace: str | None = DEFAULT_NAMESPACE
) -> list[models.Cluster]:
    """The clusters defined by the Argo CD cluster Secrets in a YAML file."""
    return clusters_from_objects(load_objects(path), namespace=namespace, where=str(path))


def cluster_secret(cluster: models.Cluster, *, namespace: str = DEFAULT_NAMESPACE) -> dict[str, Any]:
    """The Argo CD cluster Secret for ``cluster`` (the inverse of ``cluster_from_secret``)."""
    creds = cluster.credentials
    config: dict[str, Any] = {}
    if creds.bearer_token:
        config["bearerToken"] = creds.bearer_token
    if creds.username:
        config["username"] = creds.username
    if creds.password:
        config["password"] = creds.password
    tls: dict[str, Any] = {"insecure": creds.insecure}
    for key, value in (
        ("caData", creds.ca_data),
        ("certData", creds.client_cert_data),
        ("keyData", creds.client_key_data),
    ):
        if value:
            tls[key] = base64.b64encode(value.encode()).decode()
    if creds.server_name:
        tls["serverName"] = creds.server_name
    config["tlsClientConfig"] = tls
    if creds.exec:
        config["execProviderConfig"] = creds.exec.model_dump(by_alias=True, exclude_none=True)
    if creds.proxy_url:
        config["proxyUrl"] = creds.proxy_url
    string_data = {"name": cluster.name, "server": cluster.server, "config": json.dumps(config)}
    if cluster.project:
        string_data["project"] = cluster.project
    if cluster.namespaces:
        string_data["namespaces"] = ",".join(cluster.namespaces)
    labels = {**cluster.labels, SECRET_TYPE_LABEL: SECRET_TYPE_CLUSTER}
    meta: dict[str, Any] = {"name": f"cluster-{cluster.name}", "namespace": namespace, "labels": labels}
    if cluster.annotations:
        meta["annotations"] = dict(cluster.annotations)
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": meta,
        "stringData": string_data,
    }
