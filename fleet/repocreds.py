"""Repository credentials as Argo CD keeps them: repository Secrets, credential templates, known
hosts and custom CAs.

Where it sits: on the sync driver (and ``fleet generate``), below ``fleet.gitsource`` and
``fleet.render.helmrepo``, which ask ``RepoCredentials.lookup(url)`` for the credentials of a
repository right before they clone, fetch or download. Workers never need them: every repository
is read on the driver.

What is read, from the same files as cluster Secrets (``--clusters``) and from ``--repo-creds``
files (or live from a management cluster, ``read_live``), in the Argo CD namespace:

- Secrets labelled ``argocd.argoproj.io/secret-type: repository``: one repository (``url``);
- Secrets labelled ``argocd.argoproj.io/secret-type: repo-creds``: a credential template for
  every repository whose URL starts with ``url`` (the longest prefix wins);
- the ConfigMap ``argocd-ssh-known-hosts-cm`` (``ssh_known_hosts``: the host keys SSH checks);
- the ConfigMap ``argocd-tls-certs-cm`` (one PEM bundle per host name: the CAs that host's
  certificate must chain to, instead of the system's).

How a URL finds its credentials (Argo CD's ``GetRepository`` + ``enrichCredsToRepo``):

1. the repository Secret whose ``url`` is the same URL (compared normalised: case, ``.git``,
   ``ssh://``/scp forms, ``oci://``); one without a ``project`` is preferred, since fleet does not
   scope credentials by project;
2. if there is none, or it holds no credential, the template with the longest ``url`` that is a
   prefix of the URL fills in every credential field the repository Secret left empty; the
   flags ``enableOCI``, ``insecureOCIForceHttp`` come from the template then, as in Argo CD.

Values may be secret references (``password: ref+vault://kv/data/git#/token``), resolved on the
driver the first time the repository is used, registered with ``fleet.redact`` at once and held
in memory only. Errors name the file, Secret and field, never a value.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from fleet import errors, log, redact
from fleet.clusters import argocd

if TYPE_CHECKING:  # the secret layer and the client are imported when first used
    # ssl too: only a repository's TLS settings need it, and its import is a cost every
    # `fleet generate` would pay at start (issue 15).
    import ssl

    from fleet.clusters import client as cluster_client
    from fleet.secrets import resolver as secret_resolver

_log = log.get_logger(__name__)

KNOWN_HOSTS_CONFIGMAP = "argocd-ssh-known-hosts-cm"
KNOWN_HOSTS_KEY = "ssh_known_hosts"
TLS_CERTS_CONFIGMAP = "argocd-tls-certs-cm"


class SecretKind(StrEnum):
    """The two kinds of Argo CD repository Secret (the ``argocd.argoproj.io/secret-type`` label)."""

    REPOSITORY = "repository"  # credentials for one repository, matched by its exact URL
    TEMPLATE = "repo-creds"  # a credential template for every repository under a URL prefix


class RepoType(StrEnum):
    """A repository Secret's ``type`` (empty means git, as in Argo CD)."""

    GIT = "git"  # a git repository over HTTPS or SSH
    HELM = "helm"  # a Helm HTTP(S) repository; with enableOCI an OCI registry holding charts
    OCI = "oci"  # an OCI registry (Argo CD 3.1's OCI sources)


# Secret keys holding credentials, and the attribute each one fills.
_CREDENTIAL_KEYS = {
    "username": "username",
    "password": "password",
    "bearerToken": "bearer_token",
    "sshPrivateKey": "ssh_private_key",
    "tlsClientCertData": "tls_client_cert_data",
    "tlsClientCertKey": "tls_client_cert_key",
}
# Argo CD fields fleet cannot act on: a repository that needs one fails with a message naming it,
# rather than being tried without it (a confusing 401) or with the wrong identity.
_UNSUPPORTED_KEYS = (
    "githubAppPrivateKey",
    "gcpServiceAccountKey",
    "azureServicePrincipalClientSecret",
    "useAzureWorkloadIdentity",
    "proxy",
)
# strconv.ParseBool, which Argo CD's boolOrFalse uses.
_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})
_SCP_SSH = re.compile(r"^(ssh://)?([^/:]*?)@[^@]+$")  # Argo CD's sshURLRegex


class CredentialsError(errors.PermanentError):
    """A repository's credentials cannot be used (unsupported fields, a bad client certificate).

    The message names the Secret and the field, never a value."""


@dataclass(frozen=True, repr=False)
class RepoSecret:
    """One Argo CD repository Secret or credential template, as written (values may be references)."""

    kind: SecretKind
    name: str  # the Secret's name
    where: str  # the file (or cluster and namespace) it was read from
    url: str
    type: RepoType = RepoType.GIT
    project: str = ""
    username: str = ""
    password: str = ""
    bearer_token: str = ""
    ssh_private_key: str = ""
    tls_client_cert_data: str = ""
    tls_client_cert_key: str = ""
    insecure: bool = False
    enable_oci: bool = False
    insecure_oci_force_http: bool = False
    unsupported: tuple[str, ...] = ()

    def __repr__(self) -> str:  # never the values
        return f"RepoSecret({self.kind.value} {self.name!r}, url={redact.safe_url(self.url)!r})"

    @property
    def label(self) -> str:
        return f"Secret {self.name} ({self.where})"

    def has_credentials(self) -> bool:
        """Argo CD's ``HasCredentials``: any credential field set."""
        return any(getattr(self, attr) for attr in _CREDENTIAL_KEYS.values()) or bool(self.unsupported)


@dataclass(frozen=True, repr=False)
class Credentials:
    """What one repository URL is accessed with, every reference resolved. Never printed.

    Parameters:
        url: the repository URL asked for (without credentials).
        sources: the Secrets the values came from, for messages.
        ca_pem: the CAs of ``argocd-tls-certs-cm`` for the URL's host ("" for the system's).
        known_hosts: ``argocd-ssh-known-hosts-cm``'s ``ssh_known_hosts`` ("" when none is given).
    """

    url: str
    sources: tuple[str, ...] = ()
    username: str = ""
    password: str = ""
    bearer_token: str = ""
    ssh_private_key: str = ""
    tls_client_cert_data: str = ""
    tls_client_cert_key: str = ""
    insecure: bool = False
    enable_oci: bool = False
    insecure_oci_force_http: bool = False
    ca_pem: str = ""
    known_hosts: str = ""

    def __repr__(self) -> str:
        return f"Credentials({redact.safe_url(self.url)!r}, from {', '.join(self.sources) or 'nothing'})"

    @property
    def has_basic(self) -> bool:
        return bool(self.username or self.password)

    @property
    def has_client_cert(self) -> bool:
        return bool(self.tls_client_cert_data and self.tls_client_cert_key)

    def filled(self, values: Mapping[str, str], *, source: str) -> Credentials:
        """These credentials with ``source`` added to ``sources`` and the credential fields in
        ``values`` (the attributes of ``_CREDENTIAL_KEYS``) set; each field named, so the types hold."""
        return replace(
            self,
            sources=(*self.sources, source),
            username=values.get("username", self.username),
            password=values.get("password", self.password),
            bearer_token=values.get("bearer_token", self.bearer_token),
            ssh_private_key=values.get("ssh_private_key", self.ssh_private_key),
            tls_client_cert_data=values.get("tls_client_cert_data", self.tls_client_cert_data),
            tls_client_cert_key=values.get("tls_client_cert_key", self.tls_client_cert_key),
        )

    def identity(self) -> str:
        """A key telling two sets of credentials apart in memory (never written, never logged)."""
        import hashlib

        material = "\0".join(
            (
                self.username,
                self.password,
                self.bearer_token,
                self.ssh_private_key,
                self.tls_client_cert_data,
                self.tls_client_cert_key,
                str(self.insecure),
                self.ca_pem,
            )
        )
        return hashlib.sha256(material.encode()).hexdigest()

    def ssl_context(self) -> ssl.SSLContext:
        """For Python HTTPS clients (Helm repositories, OCI registries): the host's CAs from
        ``argocd-tls-certs-cm`` instead of the system's when given, the client certificate, and no
        verification when the repository is ``insecure``; built in memory."""
        import ssl

        from fleet.clusters import auth as cluster_auth

        where = ", ".join(self.sources) or redact.safe_url(self.url)
        try:
            if self.ca_pem and not self.insecure:
                context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cadata=self.ca_pem)
            else:
                context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
        except (ssl.SSLError, ValueError):
            raise CredentialsError(
                f"{TLS_CERTS_CONFIGMAP}: the certificates for {urlsplit(_with_scheme(self.url)).hostname} "
                "are not valid PEM"
            ) from None
        if self.insecure:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        if self.tls_client_cert_data or self.tls_client_cert_key:
            if not self.has_client_cert:
                raise CredentialsError(
                    f"{where}: a TLS client certificate needs both tlsClientCertData and tlsClientCertKey"
                )
            pem = self.tls_client_cert_data.rstrip("\n") + "\n" + self.tls_client_cert_key
            try:
                with cluster_auth.memory_file(pem) as path:
                    context.load_cert_chain(path)
            except ssl.SSLError:
                raise CredentialsError(
                    f"{where}: tlsClientCertData/tlsClientCertKey are not a matching PEM certificate and key"
                ) from None
        return context


# --- URLs ----------------------------------------------------------------------------------------


def _with_scheme(url: str) -> str:
    return url if "://" in url else f"oci://{url}"


def normalize(url: str) -> str:
    """A URL as Argo CD compares repository URLs (``git.NormalizeGitURL``): lower case, scp-style
    SSH as ``host/path``, no ``ssh://``, no ``.git``; also no user info, no ``oci://`` and no
    trailing ``/``, so a registry written with or without its scheme is the same repository."""
    text = url.strip().lower()
    if _SCP_SSH.match(text) and "://" not in text:
        text = "ssh://" + text.replace(":", "/", 1)
    # Without user info: a password has no place in a key, and git@ and ssh://git@ forms must meet.
    text = re.sub(r"^([a-z][a-z0-9+.-]*://)?[^/@]*@", r"\1", text)
    text = text.rstrip("/").removesuffix(".git")
    for prefix in ("ssh://", "oci://"):
        text = text.removeprefix(prefix)
    return text


def host_of(url: str) -> str:
    """The host name of a repository URL (https, ssh, scp-style or a bare OCI registry)."""
    text = url.strip()
    if "://" not in text and _SCP_SSH.match(text):
        text = "ssh://" + text.replace(":", "/", 1)
    try:
        return (urlsplit(_with_scheme(text)).hostname or "").lower()
    except ValueError:
        return ""


# --- reading Secrets and ConfigMaps ----------------------------------------------------------------


def _flag(fields: Mapping[str, str], key: str, *, where: str, obj: str) -> bool:
    value = fields.get(key, "")
    if value == "" or value in _FALSE:
        return False
    if value in _TRUE:
        return True
    raise errors.InputError("must be true or false", file=where, obj=obj, field=f"data.{key}")


def secret_kind(obj: Mapping[str, Any], *, namespace: str | None) -> SecretKind | None:
    """The kind of repository Secret ``obj`` is, or None (also None outside ``namespace``)."""
    if obj.get("kind") != "Secret" or str(obj.get("apiVersion", "v1")) != "v1":
        return None
    meta = obj.get("metadata") or {}
    label = (meta.get("labels") or {}).get(argocd.SECRET_TYPE_LABEL)
    if label not in (SecretKind.REPOSITORY.value, SecretKind.TEMPLATE.value):
        return None
    if namespace is not None and meta.get("namespace", namespace) != namespace:
        return None
    return SecretKind(label)


def repo_secret(obj: Mapping[str, Any], *, kind: SecretKind, where: str) -> RepoSecret:
    """One repository Secret or template; errors name the file, Secret and field."""
    name = str((obj.get("metadata") or {}).get("name") or "<unnamed>")
    label = f"Secret {name}"
    fields = argocd.secret_fields(obj, where=where)
    url = fields.get("url", "").strip()
    if not url:
        raise errors.InputError("is missing or empty", file=where, obj=label, field="data.url")
    type_text = fields.get("type", "").strip() or RepoType.GIT.value
    try:
        repo_type = RepoType(type_text)
    except ValueError:
        raise errors.InputError(
            f"must be one of {', '.join(t.value for t in RepoType)} (got {type_text!r})",
            file=where,
            obj=label,
            field="data.type",
        ) from None
    values = {attr: fields.get(key, "") for key, attr in _CREDENTIAL_KEYS.items()}
    for attr in ("tls_client_cert_data", "tls_client_cert_key", "ssh_private_key"):
        values[attr] = argocd._pem(values[attr]) or ""
    for value in values.values():
        if value and not value.startswith("ref+"):
            redact.register(value)
    unsupported = tuple(key for key in _UNSUPPORTED_KEYS if fields.get(key, "") not in ("", *_FALSE))
    return RepoSecret(
        kind=kind,
        name=name,
        where=where,
        url=url,
        type=repo_type,
        project=fields.get("project", "").strip(),
        insecure=_flag(fields, "insecure", where=where, obj=label)
        or _flag(fields, "insecureIgnoreHostKey", where=where, obj=label),
        enable_oci=_flag(fields, "enableOCI", where=where, obj=label),
        insecure_oci_force_http=_flag(fields, "insecureOCIForceHttp", where=where, obj=label),
        unsupported=unsupported,
        **values,
    )


def _configmap_data(obj: Mapping[str, Any], *, where: str) -> dict[str, str]:
    name = (obj.get("metadata") or {}).get("name", "<unnamed>")
    data = obj.get("data") or {}
    if not isinstance(data, dict):
        raise errors.InputError("must be a map of strings", file=where, obj=f"ConfigMap {name}", field="data")
    return {str(k): str(v) for k, v in data.items() if v is not None}


def _check_certs(host: str, pem: str, *, where: str) -> None:
    import ssl

    try:
        ssl.create_default_context(cadata=pem)
    except (ssl.SSLError, ValueError):
        raise errors.InputError(
            "is not a PEM certificate bundle",
            file=where,
            obj=f"ConfigMap {TLS_CERTS_CONFIGMAP}",
            field=f"data.{host}",
        ) from None


# --- the run's credentials ---------------------------------------------------------------------------


class RepoCredentials:
    """Every repository Secret, template, known host and custom CA a run knows (thread-safe).

    ``lookup(url)`` gives the credentials for a repository with references resolved (once per
    object: make one per run so rotated secrets are read again). Built by ``from_objects``,
    ``load`` or ``read_live``; ``merge`` combines them (a later Secret of the same URL wins).

    Parameters:
        resolver: a ``fleet.secrets.resolver.Resolver`` for values that are secret references
            (default: a new one with the default providers, made when first needed).
    """

    def __init__(
        self,
        secrets: Iterable[RepoSecret] = (),
        *,
        known_hosts: str = "",
        tls_certs: Mapping[str, str] | None = None,
        resolver: secret_resolver.Resolver | None = None,
    ) -> None:
        self.secrets = tuple(secrets)
        self.known_hosts = known_hosts
        self.tls_certs = {k.lower(): v for k, v in (tls_certs or {}).items()}
        self.resolver = resolver
        self._lock = threading.Lock()
        self._resolved: dict[str, Credentials | None] = {}
        self._locks: dict[str, threading.Lock] = {}
        # the resolver's per-run cache, made when first needed
        self._resolution: secret_resolver.ClusterResolution | None = None

    def __repr__(self) -> str:
        return (
            f"RepoCredentials({len(self.repositories)} repositories, {len(self.templates)} templates, "
            f"{len(self.tls_certs)} CA hosts, known hosts: {'yes' if self.known_hosts else 'no'})"
        )

    def __bool__(self) -> bool:
        return bool(self.secrets or self.known_hosts or self.tls_certs)

    @property
    def repositories(self) -> tuple[RepoSecret, ...]:
        return tuple(s for s in self.secrets if s.kind is SecretKind.REPOSITORY)

    @property
    def templates(self) -> tuple[RepoSecret, ...]:
        return tuple(s for s in self.secrets if s.kind is SecretKind.TEMPLATE)

    @classmethod
    def from_objects(
        cls,
        objects: Iterable[Mapping[str, Any]],
        *,
        namespace: str | None = argocd.DEFAULT_NAMESPACE,
        where: str = "<input>",
        resolver: secret_resolver.Resolver | None = None,
    ) -> RepoCredentials:
        """The repository Secrets, templates and the two ConfigMaps among ``objects``."""
        secrets: list[RepoSecret] = []
        known_hosts = ""
        tls_certs: dict[str, str] = {}
        for obj in objects:
            if not obj:
                continue
            kind = secret_kind(obj, namespace=namespace)
            if kind is not None:
                secrets.append(repo_secret(obj, kind=kind, where=where))
                continue
            if obj.get("kind") != "ConfigMap":
                continue
            meta = obj.get("metadata") or {}
            if namespace is not None and meta.get("namespace", namespace) != namespace:
                continue
            if meta.get("name") == KNOWN_HOSTS_CONFIGMAP:
                known_hosts = _configmap_data(obj, where=where).get(KNOWN_HOSTS_KEY, "")
            elif meta.get("name") == TLS_CERTS_CONFIGMAP:
                for host, pem in _configmap_data(obj, where=where).items():
                    _check_certs(host, pem, where=where)
                    tls_certs[host.lower()] = pem
        return cls(secrets, known_hosts=known_hosts, tls_certs=tls_certs, resolver=resolver)

    def merge(self, later: RepoCredentials) -> RepoCredentials:
        """These credentials with ``later``'s added: a later known-hosts ConfigMap replaces an
        earlier one, CAs are merged per host, and for one URL the later Secret wins."""
        return RepoCredentials(
            (*self.secrets, *later.secrets),
            known_hosts=later.known_hosts or self.known_hosts,
            tls_certs={**self.tls_certs, **later.tls_certs},
            resolver=self.resolver or later.resolver,
        )

    def with_resolver(self, resolver: secret_resolver.Resolver | None) -> RepoCredentials:
        return RepoCredentials(
            self.secrets, known_hosts=self.known_hosts, tls_certs=self.tls_certs, resolver=resolver
        )

    # --- lookup ----------------------------------------------------------------------------------

    def repository_secret(self, url: str) -> RepoSecret | None:
        """The repository Secret of exactly this URL (the last one defined; unscoped preferred)."""
        key = normalize(url)
        found = [s for s in self.repositories if normalize(s.url) == key]
        unscoped = [s for s in found if not s.project]
        chosen = unscoped or found
        return chosen[-1] if chosen else None

    def template(self, url: str) -> RepoSecret | None:
        """The credential template whose URL is the longest prefix of ``url`` (Argo CD matches
        the plain string prefix: ``https://host/org`` also covers ``https://host/org-two/...``)."""
        key = normalize(url)
        best: RepoSecret | None = None
        for candidate in self.templates:
            prefix = normalize(candidate.url)
            if (
                prefix
                and key.startswith(prefix)
                and (best is None or len(prefix) >= len(normalize(best.url)))
            ):
                best = candidate
        return best

    def ca_for(self, url: str) -> str:
        return self.tls_certs.get(host_of(url), "")

    def lookup(self, url: str) -> Credentials | None:
        """The credentials for ``url``, references resolved; None when nothing applies (no
        Secret, no template, no CA for its host and no known hosts).

        Raises ``CredentialsError`` for a repository that needs something fleet does not support,
        and the secret layer's errors (naming the Secret, field and reference) when a reference
        does not resolve.
        """
        key = normalize(url)
        with self._lock:
            if key in self._resolved:
                return self._resolved[key]
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:  # one resolution per repository, however many render threads ask at once
            with self._lock:
                if key in self._resolved:
                    return self._resolved[key]
            found = self._merged(url)
            with self._lock:
                self._resolved[key] = found
            return found

    def _merged(self, url: str) -> Credentials | None:
        repository = self.repository_secret(url)
        chosen: list[RepoSecret] = [repository] if repository is not None else []
        if repository is None or not repository.has_credentials():
            template = self.template(url)
            if template is not None:
                chosen.append(template)
        ca_pem = self.ca_for(url)
        if not chosen and not ca_pem and not self.known_hosts:
            return None
        creds = Credentials(url=redact.safe_url(url), ca_pem=ca_pem, known_hosts=self.known_hosts)
        for secret in chosen:
            if secret.unsupported:
                raise CredentialsError(
                    f"{secret.label}: {', '.join(secret.unsupported)} "
                    f"{'is' if len(secret.unsupported) == 1 else 'are'} not supported by fleet yet; "
                    f"use username/password, bearerToken, sshPrivateKey or a TLS client certificate"
                )
            values = {
                attr: self._resolve(getattr(secret, attr), secret=secret, key=key_name)
                for key_name, attr in _CREDENTIAL_KEYS.items()
                if getattr(secret, attr) and not getattr(creds, attr)
            }
            creds = creds.filled(values, source=secret.label)
            if secret is repository:
                creds = replace(
                    creds,
                    insecure=secret.insecure,
                    enable_oci=secret.enable_oci,
                    insecure_oci_force_http=secret.insecure_oci_force_http,
                )
            else:
                # A template's flags apply too (Argo CD's CopyCredentialsFrom copies its OCI flags).
                creds = replace(
                    creds,
                    insecure=creds.insecure or secret.insecure,
                    enable_oci=secret.enable_oci or creds.enable_oci,
                    insecure_oci_force_http=secret.insecure_oci_force_http or creds.insecure_oci_force_http,
                )
        _log.debug(
            "repository credentials",
            extra={"fields": {"repo": redact.safe_url(url), "from": list(creds.sources)}},
        )
        return creds

    def _resolve(self, value: str, *, secret: RepoSecret, key: str) -> str:
        from fleet.secrets import refs as secret_refs

        if not secret_refs.contains_reference(value):
            return value
        with self._lock:
            if self._resolution is None:
                if self.resolver is None:
                    from fleet.secrets import resolver as resolver_mod

                    self.resolver = resolver_mod.Resolver()
                # One resolution for the run: a document is read once, however many Secrets point into it.
                self._resolution = self.resolver.for_cluster(None)
            resolution = self._resolution
        resolved = resolution.resolve_string(value, where=f"{secret.label} data.{key}")
        redact.register(resolved)
        if key in ("sshPrivateKey", "tlsClientCertData", "tlsClientCertKey"):
            resolved = argocd._pem(resolved) or ""
            redact.register(resolved)
        return str(resolved)


def load(
    paths: Sequence[str | Path],
    *,
    namespace: str | None = argocd.DEFAULT_NAMESPACE,
    resolver: secret_resolver.Resolver | None = None,
) -> RepoCredentials:
    """The repository credentials in YAML files (``--clusters`` and ``--repo-creds``), in order."""
    found = RepoCredentials(resolver=resolver)
    for path in paths:
        found = found.merge(
            RepoCredentials.from_objects(argocd.load_objects(path), namespace=namespace, where=str(path))
        )
    if found:
        _log.info(
            "read repository credentials",
            extra={
                "fields": {
                    "repositories": len(found.repositories),
                    "templates": len(found.templates),
                    "ca_hosts": len(found.tls_certs),
                    "known_hosts": bool(found.known_hosts),
                }
            },
        )
    return found


def read_live(
    client: cluster_client.ClusterClient,
    *,
    namespace: str = argocd.DEFAULT_NAMESPACE,
    resolver: secret_resolver.Resolver | None = None,
) -> RepoCredentials:
    """The repository Secrets, templates and the two ConfigMaps of a management cluster's Argo CD
    namespace, read as Argo CD reads them (``client`` is a ``fleet.clusters.client.ClusterClient``)."""
    objects: list[dict[str, Any]] = []
    for kind in SecretKind:
        items, _ = client.list(
            "v1", "Secret", namespace=namespace, label_selector=f"{argocd.SECRET_TYPE_LABEL}={kind.value}"
        )
        objects.extend({"apiVersion": "v1", "kind": "Secret", **item} for item in items)
    items, _ = client.list("v1", "ConfigMap", namespace=namespace)
    objects.extend(
        {"apiVersion": "v1", "kind": "ConfigMap", **item}
        for item in items
        if (item.get("metadata") or {}).get("name") in (KNOWN_HOSTS_CONFIGMAP, TLS_CERTS_CONFIGMAP)
    )
    where = f"cluster {client.cluster.name} namespace {namespace}"
    return RepoCredentials.from_objects(objects, namespace=namespace, where=where, resolver=resolver)


EMPTY = RepoCredentials()

__all__ = [
    "EMPTY",
    "KNOWN_HOSTS_CONFIGMAP",
    "TLS_CERTS_CONFIGMAP",
    "Credentials",
    "CredentialsError",
    "RepoCredentials",
    "RepoSecret",
    "RepoType",
    "SecretKind",
    "host_of",
    "load",
    "normalize",
    "read_live",
    "repo_secret",
    "secret_kind",
]
