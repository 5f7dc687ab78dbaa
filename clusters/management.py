"""Argo CD's namespace on the management cluster, as the ApplicationSet controller reads it.

Where it sits: ``fleet generate`` and ``fleet sync`` open it when given ``--argocd-context`` (the
kubeconfig context of the cluster Argo CD runs in, the same flag that reads Argo CD's cluster
Secrets live) and hand it to the generators that need it (``fleet.generators.interface.ArgoCD``):
``clusterDecisionResource`` reads its ConfigMap and the duck-typed decision resources there, and
``plugin`` reads its ConfigMap and the Secret holding the plugin's token.

Reads only, through fleet's cluster client (rate limit, retries, errors without secrets). Secret
values read here are registered with ``fleet.redact`` before anyone can print them.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any, Self

from fleet import errors, models, redact
from fleet.clusters import argocd, client, discovery, kubeconfig


class ManagementCluster:
    """The Argo CD namespace of one management cluster (see the module docstring)."""

    def __init__(self, api: client.ClusterClient, *, namespace: str = argocd.DEFAULT_NAMESPACE) -> None:
        self.api = api
        self.namespace = namespace

    @classmethod
    def connect(
        cls, cluster: models.Cluster, *, namespace: str = argocd.DEFAULT_NAMESPACE, **options: Any
    ) -> ManagementCluster:
        return cls(client.connect(cluster, **options), namespace=namespace)

    def close(self) -> None:
        self.api.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def name(self) -> str:
        return self.api.name

    def config_map(self, name: str) -> Mapping[str, str] | None:
        """The ``data`` of a ConfigMap of the Argo CD namespace; None when there is none."""
        found = self.api.get("v1", "ConfigMap", name, self.namespace)
        if found is None:
            return None
        return {str(k): str(v) for k, v in (found.get("data") or {}).items()}

    def secret(self, name: str) -> Mapping[str, str] | None:
        """The decoded ``data`` (and ``stringData``) of a Secret of the Argo CD namespace."""
        found = self.api.get("v1", "Secret", name, self.namespace)
        if found is None:
            return None
        values: dict[str, str] = {}
        for key, encoded in (found.get("data") or {}).items():
            try:
                values[str(key)] = base64.b64decode(str(encoded), validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                raise errors.PermanentError(
                    f"Secret {self.namespace}/{name} on cluster {self.name}: data.{key} is not base64 text"
                ) from None
        values.update({str(k): str(v) for k, v in (found.get("stringData") or {}).items()})
        redact.register_all(v for v in values.values() if v)
        return values

    def resource(self, api_version: str, name: str) -> discovery.Resource:
        """The resource of ``api_version`` named by its plural (as Argo CD's dynamic client takes
        it, e.g. ``placementdecisions``), its singular name or its kind; raises ``UnknownKind``."""
        return self.api.resource_named(api_version, name)

    def list(
        self,
        resource: discovery.Resource,
        *,
        name: str | None = None,
        label_selector: str | None = None,
    ) -> list[dict[str, Any]]:
        """The objects of ``resource`` in the Argo CD namespace, by ``metadata.name`` or by labels."""
        items, _ = self.api.list(
            resource.api_version,
            resource.kind,
            namespace=self.namespace,
            label_selector=label_selector or None,
            field_selector=f"metadata.name={name}" if name else None,
        )
        return items


def open_context(
    context: str, *, kubeconfig_paths: str | None = None, namespace: str = argocd.DEFAULT_NAMESPACE
) -> ManagementCluster:
    """Connect to the management cluster of a kubeconfig context (``--argocd-context``)."""
    cluster = kubeconfig.load(kubeconfig_paths, contexts=[context])[0]
    return ManagementCluster.connect(cluster, namespace=namespace)
