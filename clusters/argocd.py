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

import yaml

from fleet import errors, kyaml, models

SECRET_TYPE_LABEL = "argocd.argoproj.io/secret-type"
SECRET_TYPE_CLUSTER = "cluster"
DEFAULT_NAMESPACE = "argocd"


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
    config: dict[str, Any] = {}
    if fields.get("config", "").strip():
        try:
            config = json.loads(fields["config"])
        except json.JSONDecodeError as exc:
            raise errors.InputError(
                f"is not valid JSON ({exc.msg} at line {exc.lineno})",
                file=where,
                obj=label,
                field="data.config",
            ) from exc
        if not isinstance(config, dict):
            raise errors.InputError("must be a JSON object", file=where, obj=label, field="data.config")
    tls = config.get("tlsClientConfig") or {}
    if not isinstance(tls, dict):
        raise errors.InputError(
            "tlsClientConfig must be a JSON object", file=where, obj=label, field="data.config"
        )
    insecure = tls.get("insecure")
    if insecure is not None and not isinstance(insecure, bool):
        # Argo CD cannot load such a Secret; bool("false") would silently turn certificate checks off
        raise errors.InputError(
            "tlsClientConfig.insecure must be true or false (a JSON boolean, not a string)",
            file=where,
            obj=label,
            field="data.config",
        )
    exec_cfg = config.get("execProviderConfig")
    try:
        credentials = models.ClusterCredentials(
            bearer_token=config.get("bearerToken") or None,
            username=config.get("username") or None,
            password=config.get("password") or None,
            client_cert_data=_pem(tls.get("certData")),
            client_key_data=_pem(tls.get("keyData")),
            ca_data=_pem(tls.get("caData")),
            insecure=bool(insecure),
            server_name=tls.get("serverName") or None,
            exec=models.ExecConfig.model_validate(exec_cfg) if exec_cfg else None,
            proxy_url=config.get("proxyUrl") or None,
        )
    except (ValueError, TypeError) as exc:
        # pydantic's message quotes input values, and config holds credentials: keep it out.
        raise errors.InputError(
            f"has a field of the wrong type ({type(exc).__name__})", file=where, obj=label, field="data.config"
        ) from None
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
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise errors.InputError(f"cannot be read: {exc.strerror}", file=where) from exc
    try:
        docs = list(yaml.safe_load_all(text))
    except yaml.YAMLError as exc:  # not chained: the parser's message quotes the (secret) input
        raise errors.InputError(f"is not valid YAML: {kyaml.error_text(exc)}", file=where) from None
    objects: list[dict[str, Any]] = []
    for doc in docs:
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
    return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "metadata": meta, "stringData": string_data}
