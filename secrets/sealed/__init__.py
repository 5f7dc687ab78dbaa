"""Bitnami Sealed Secrets, natively (no kubeseal): seal for a cluster, unseal to verify.

Where it sits: ``fleet secrets seal|unseal`` call it directly; in a sync run, fleet-mode
delivery (``delivery.seal_for_cluster``) seals a Secret whose values are references with the
target cluster's own certificate inside the per-cluster worker, just before apply; the cluster
simulator's Sealed Secrets controller unseals with it.

Modules, bottom up: ``crypto`` (the hybrid RSA-OAEP + AES-GCM blob, scopes and labels),
``keys`` (certificates and private keys), ``certs`` (a cluster's certificate: registry
annotation or the controller's ``/v1/cert.pem``), ``sealer``, ``unsealer``, ``delivery``.
"""

from __future__ import annotations

from fleet.secrets.sealed.certs import (
    CERT_ANNOTATION,
    CONTROLLER_ANNOTATION,
    cert_proxy_path,
    certificate_for_cluster,
    fetch_certificate,
)
from fleet.secrets.sealed.crypto import (
    CLUSTER_WIDE_ANNOTATION,
    NAMESPACE_WIDE_ANNOTATION,
    Scope,
    encryption_label,
    scope_of,
)
from fleet.secrets.sealed.delivery import (
    DELIVER_AS_ANNOTATION,
    SEALED_WITH_ANNOTATION,
    Delivery,
    seal_for_cluster,
    wants_sealed_delivery,
)
from fleet.secrets.sealed.keys import (
    SEALING_KEY_LABEL,
    Certificate,
    UnsealKey,
    certificate_from_file,
    generate_sealing_key,
    load_certificate,
    load_private_keys,
    load_private_keys_file,
    sealing_key_secret,
)
from fleet.secrets.sealed.sealer import seal_raw, seal_secret
from fleet.secrets.sealed.unsealer import (
    SKIP_OWNER_REFERENCES_ANNOTATION,
    CorruptDataError,
    LabelMismatchError,
    NoKeyError,
    UnsealError,
    unseal,
    unseal_raw,
)

__all__ = [
    "CERT_ANNOTATION",
    "CLUSTER_WIDE_ANNOTATION",
    "CONTROLLER_ANNOTATION",
    "DELIVER_AS_ANNOTATION",
    "NAMESPACE_WIDE_ANNOTATION",
    "SEALED_WITH_ANNOTATION",
    "SEALING_KEY_LABEL",
    "SKIP_OWNER_REFERENCES_ANNOTATION",
    "Certificate",
    "CorruptDataError",
    "Delivery",
    "LabelMismatchError",
    "NoKeyError",
    "Scope",
    "UnsealError",
    "UnsealKey",
    "cert_proxy_path",
    "certificate_for_cluster",
    "certificate_from_file",
    "encryption_label",
    "fetch_certificate",
    "generate_sealing_key",
    "load_certificate",
    "load_private_keys",
    "load_private_keys_file",
    "scope_of",
    "seal_for_cluster",
    "seal_raw",
    "seal_secret",
    "sealing_key_secret",
    "unseal",
    "unseal_raw",
    "wants_sealed_delivery",
]
