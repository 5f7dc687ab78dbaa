"""A cluster's sealing certificate: from the cluster registry, or fetched from its controller.

Fleet-mode delivery and ``fleet secrets seal --cluster`` need the certificate of the cluster a
Secret is sealed for. It comes from, in this order:

1. the cluster's annotation ``fleet.gitops/sealed-secrets-cert`` (``CERT_ANNOTATION``) in the
   registry (Argo CD cluster Secret, ClusterList), holding either the PEM text itself or a path
   to a PEM file (relative paths start at ``base_dir``, else the working directory), which works
   offline and pins the certificate in Git;
2. the controller, through the Kubernetes API service proxy, as ``kubeseal --fetch-cert`` does:
   ``GET /api/v1/namespaces/<ns>/services/<name>:http/proxy/v1/cert.pem``. The controller's
   namespace and service name default to ``kube-system`` / ``sealed-secrets-controller``; a
   cluster may override them with ``fleet.gitops/sealed-secrets-controller: <ns>/<name>``
   (``CONTROLLER_ANNOTATION``), and callers with explicit arguments (kubeseal's
   ``--controller-namespace`` / ``--controller-name``).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Protocol

import urllib3

from fleet import errors, log, models
from fleet.secrets.sealed import keys

CERT_ANNOTATION = "fleet.gitops/sealed-secrets-cert"
CONTROLLER_ANNOTATION = "fleet.gitops/sealed-secrets-controller"
DEFAULT_CONTROLLER_NAMESPACE = "kube-system"
DEFAULT_CONTROLLER_NAME = "sealed-secrets-controller"
CONTROLLER_PORT_NAME = "http"
CERT_PATH = "/v1/cert.pem"

_log = log.get_logger(__name__)


class ProxyClient(Protocol):
    """What fetching needs from a cluster client: a GET of an API path, returning the body.

    A ``fleet.clusters.client.ClusterClient`` without ``proxy_get`` is used through its official
    ``kubernetes`` ``api_client`` instead, and a bare ``kubernetes.client.ApiClient`` is accepted
    too (``CoreV1Api`` service proxy call).
    """

    def proxy_get(self, path: str) -> bytes: ...


def _proxy_get(client: Any, namespace: str, name: str, *, cluster_name: str) -> bytes:
    path = cert_proxy_path(namespace, name)
    if hasattr(client, "proxy_get"):
        return bytes(client.proxy_get(path))
    import kubernetes  # the official client: it knows the service proxy URL scheme

    api = kubernetes.client.CoreV1Api(getattr(client, "api_client", client))
    try:
        response = api.connect_get_namespaced_service_proxy_with_path(
            f"{name}:{CONTROLLER_PORT_NAME}", namespace, CERT_PATH.lstrip("/"), _preload_content=False
        )
    except kubernetes.client.ApiException as exc:
        # Not chained: ApiException's text carries response headers.
        message = (
            f"cluster {cluster_name}: the Sealed Secrets controller {namespace}/{name} did not answer "
            f"{CERT_PATH} (HTTP {exc.status} {exc.reason})"
        )
        if exc.status in (429, 500, 502, 503, 504):
            raise errors.TemporaryError(message) from None
        raise errors.PermanentError(message) from None
    except (OSError, urllib3.exceptions.HTTPError) as exc:
        raise errors.TemporaryError(
            f"cluster {cluster_name}: cannot reach the API server to fetch the sealing certificate "
            f"({type(exc).__name__})"
        ) from None
    return bytes(response.data)


def cert_proxy_path(
    namespace: str = DEFAULT_CONTROLLER_NAMESPACE, name: str = DEFAULT_CONTROLLER_NAME
) -> str:
    """The API server path that proxies to the controller's ``/v1/cert.pem``."""
    return f"/api/v1/namespaces/{namespace}/services/{name}:{CONTROLLER_PORT_NAME}/proxy{CERT_PATH}"


def controller_of(
    cluster: models.Cluster, *, namespace: str | None = None, name: str | None = None
) -> tuple[str, str]:
    """(namespace, service name) of the cluster's controller: arguments, annotation, defaults."""
    annotated = cluster.annotations.get(CONTROLLER_ANNOTATION, "").strip()
    ann_ns, ann_name = DEFAULT_CONTROLLER_NAMESPACE, DEFAULT_CONTROLLER_NAME
    if annotated:
        ann_ns, sep, ann_name = annotated.partition("/")
        if not sep or not ann_ns or not ann_name:
            raise errors.InputError(
                f"must be '<namespace>/<service name>', not {annotated!r}",
                obj=f"cluster {cluster.name}",
                field=f"metadata.annotations.{CONTROLLER_ANNOTATION}",
            )
    return namespace or ann_ns, name or ann_name


def fetch_certificate(
    client: Any,
    *,
    namespace: str = DEFAULT_CONTROLLER_NAMESPACE,
    name: str = DEFAULT_CONTROLLER_NAME,
    cluster_name: str = "",
    now: dt.datetime | None = None,
) -> keys.Certificate:
    """Fetch the controller's current certificate through the API server's service proxy."""
    path = cert_proxy_path(namespace, name)
    where = f"cluster {cluster_name} {path}" if cluster_name else path
    body = _proxy_get(client, namespace, name, cluster_name=cluster_name)
    cert = keys.load_certificate(body, source=where, now=now)
    _log.info(
        "fetched sealing certificate",
        extra={
            "fields": {"cluster": cluster_name, "controller": f"{namespace}/{name}", "key": cert.fingerprint}
        },
    )
    return cert


def certificate_from_registry(
    cluster: models.Cluster, *, base_dir: str | Path | None = None, now: dt.datetime | None = None
) -> keys.Certificate | None:
    """The certificate the cluster's ``CERT_ANNOTATION`` holds (PEM or a path), or None."""
    value = cluster.annotations.get(CERT_ANNOTATION, "").strip()
    if not value:
        return None
    source = f"cluster {cluster.name} annotation {CERT_ANNOTATION}"
    if "-----BEGIN" in value:
        return keys.load_certificate(value, source=source, now=now)
    path = Path(value).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = Path(base_dir) / path
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise errors.InputError(
            f"names {str(path)!r}, which cannot be read: {exc.strerror}",
            obj=f"cluster {cluster.name}",
            field=f"metadata.annotations.{CERT_ANNOTATION}",
        ) from exc
    return keys.load_certificate(data, source=f"{source} ({path})", now=now)


def certificate_for_cluster(
    cluster: models.Cluster,
    *,
    client: Any | None = None,
    controller_namespace: str | None = None,
    controller_name: str | None = None,
    base_dir: str | Path | None = None,
    now: dt.datetime | None = None,
) -> keys.Certificate:
    """The certificate to seal for ``cluster``: its registry annotation, else its controller's.

    Parameters:
        client: a cluster client connected to ``cluster`` (needed only when the registry holds
            no certificate).
        controller_namespace, controller_name: where the controller runs (else the cluster's
            ``CONTROLLER_ANNOTATION``, else kube-system/sealed-secrets-controller).
        base_dir: where a relative path in ``CERT_ANNOTATION`` starts.
    """
    cert = certificate_from_registry(cluster, base_dir=base_dir, now=now)
    if cert is not None:
        return cert
    if client is None:
        raise errors.InputError(
            f"has no {CERT_ANNOTATION} annotation and no connection was given to fetch the controller's "
            "certificate",
            obj=f"cluster {cluster.name}",
        )
    namespace, name = controller_of(cluster, namespace=controller_namespace, name=controller_name)
    return fetch_certificate(client, namespace=namespace, name=name, cluster_name=cluster.name, now=now)
