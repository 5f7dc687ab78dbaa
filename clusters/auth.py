"""Credentials for one cluster connection: secret references, TLS material and exec plugins.

Runs when a ``ClusterClient`` connects, inside the worker that will talk to the cluster: secret
references (``ref+...``) in the cluster's credentials are resolved through the caller's resolver,
an ``ssl.SSLContext`` is built in memory, and exec credential plugins are run (and their tokens
cached until they expire). Every value obtained here is registered with ``fleet.redact`` at once.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import functools
import json
import os
import ssl
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from fleet import errors, log, models, redact

_log = log.get_logger(__name__)

REF_PREFIX = "ref+"
# Refresh an exec token this long before it expires, so a request never carries a stale one.
EXPIRY_SKEW = 5.0

CredentialResolver = Callable[[str], str]


class CredentialError(errors.PermanentError):
    """A cluster's credentials cannot be turned into a working connection (names the field, never a value)."""


def is_reference(value: object) -> bool:
    return isinstance(value, str) and value.startswith(REF_PREFIX)


@dataclass(repr=False)
class Resolved:
    """A cluster's credentials with every reference replaced by its value. Never printed."""

    bearer_token: str | None = None
    username: str | None = None
    password: str | None = None
    client_cert: str | None = None
    client_key: str | None = None
    ca_data: str | None = None
    insecure: bool = False
    server_name: str | None = None
    proxy_url: str | None = None
    exec: models.ExecConfig | None = None

    def __repr__(self) -> str:
        return "Resolved(<credentials>)"


_REFERENCE_FIELDS = {
    "bearer_token": "bearer_token",
    "username": "username",
    "password": "password",
    "client_cert_data": "client_cert",
    "client_key_data": "client_key",
    "ca_data": "ca_data",
    "server_name": "server_name",
    "proxy_url": "proxy_url",
}


def resolve(cluster: models.Cluster, resolver: CredentialResolver | None) -> Resolved:
    """Resolve every secret reference among ``cluster``'s credentials (and exec plugin env values)."""
    creds = cluster.credentials
    out = Resolved(insecure=creds.insecure)
    for source, target in _REFERENCE_FIELDS.items():
        value = getattr(creds, source)
        if is_reference(value):
            value = _resolve_one(cluster, resolver, value, field=source)
        if value and source in {"bearer_token", "password", "client_key_data"}:
            redact.register(value)
        setattr(out, target, value)
    if creds.exec is not None:
        env = dict(creds.exec.env)
        for key, value in env.items():
            if is_reference(value):
                env[key] = _resolve_one(cluster, resolver, value, field=f"exec.env.{key}")
        args = tuple(
            _resolve_one(cluster, resolver, a, field=f"exec.args[{i}]") if is_reference(a) else a
            for i, a in enumerate(creds.exec.args)
        )
        out.exec = creds.exec.model_copy(update={"env": env, "args": args})
    return out


def _resolve_one(
    cluster: models.Cluster, resolver: CredentialResolver | None, ref: str, *, field: str
) -> str:
    if resolver is None:
        raise CredentialError(
            f"cluster {cluster.name}: credential {field} is a secret reference ({ref}) but no credential resolver was given"
        )
    try:
        value = resolver(ref)
    except errors.FleetError:
        raise  # the secret layer's errors already name the reference and say whether to retry
    except Exception as exc:  # noqa: BLE001 - any failure of a credential plugin becomes one masked error
        raise CredentialError(
            f"cluster {cluster.name}: credential {field}: resolving {ref} failed ({type(exc).__name__})"
        ) from None  # the resolver's own message may quote what it read
    if not isinstance(value, str):
        value = value.decode() if isinstance(value, bytes) else str(value)
    redact.register(value)
    return value


# -- TLS ------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=64)
def _shared_context(ca_data: str | None, insecure: bool) -> ssl.SSLContext:
    """One context per CA (and insecure flag) for clusters without a client certificate: building
    one (a new SSLContext, the CA parsed) took about 60% of a cluster client's creation, paid per
    cluster per run (issue 15's profile); a fleet's clusters often share one CA. SSLContext is safe
    to share between connections and threads once set up."""
    return _new_context(ca_data, insecure)


def _new_context(ca_data: str | None, insecure: bool) -> ssl.SSLContext:
    if ca_data and not insecure:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cadata=ca_data)
    else:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    if insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def ssl_context(
    creds: Resolved, *, cluster_name: str, client_cert: str | None = None, client_key: str | None = None
) -> ssl.SSLContext:
    """An SSLContext built in memory: CA data (instead of the system roots, as kubectl does),
    client certificate and key, and verification off when the cluster is marked insecure."""
    cert = client_cert if client_cert is not None else creds.client_cert
    key = client_key if client_key is not None else creds.client_key
    try:
        if not (cert or key):
            return _shared_context(creds.ca_data or None, bool(creds.insecure))
        context = _new_context(creds.ca_data or None, bool(creds.insecure))
    except (ssl.SSLError, ValueError) as exc:
        raise CredentialError(
            f"cluster {cluster_name}: the CA data is not a valid PEM certificate ({exc})"
        ) from None
    if cert or key:
        if not (cert and key):
            raise CredentialError(
                f"cluster {cluster_name}: a client certificate needs both certificate and key data"
            )
        try:
            with memory_file(cert.rstrip("\n") + "\n" + key) as path:
                context.load_cert_chain(path)
        except ssl.SSLError as exc:
            raise CredentialError(
                f"cluster {cluster_name}: the client certificate or key cannot be loaded ({exc.reason or 'bad PEM'})"
            ) from None
    return context


@contextlib.contextmanager
def memory_file(text: str) -> Iterator[str]:
    """A path whose content is ``text``, for ``SSLContext.load_cert_chain``, which only reads files
    (also used for repository client certificates, ``fleet.repocreds``).

    Prefers an anonymous in-memory file (memfd, never on any file system); falls back to a 0600
    file in /dev/shm (memory-backed) or the temp folder, removed as soon as the chain is loaded.
    """
    data = text.encode()
    if hasattr(os, "memfd_create"):
        try:
            fd = os.memfd_create("fleet-client-cert", os.MFD_CLOEXEC)
        except OSError:
            fd = -1
        if fd >= 0:
            try:
                os.write(fd, data)
                yield f"/proc/self/fd/{fd}"
            finally:
                os.close(fd)
            return
    folder = "/dev/shm" if os.path.isdir("/dev/shm") else None
    fd, path = tempfile.mkstemp(prefix="fleet-", suffix=".pem", dir=folder)  # mkstemp creates it 0600
    try:
        os.write(fd, data)
        os.close(fd)
        yield path
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)


# -- exec credential plugins ----------------------------------------------------------------------


@dataclass(repr=False)
class ExecCredential:
    """What an exec plugin returned (``ExecCredential.status``). Never printed."""

    token: str | None = None
    client_cert: str | None = None
    client_key: str | None = None
    expires_at: float | None = None  # epoch seconds; None: valid until the server says 401

    def __repr__(self) -> str:
        return "ExecCredential(<credential>)"


@dataclass
class ExecPlugin:
    """Runs a client-go exec credential plugin and caches its answer until it expires.

    Hand-written rather than ``kubernetes.config.exec_provider.ExecProvider`` because that one has
    no timeout, no caching, and attaches the terminal when there is one; a sync must never block
    on a prompt.
    """

    config: models.ExecConfig
    cluster: models.Cluster
    ca_data: str | None = None
    timeout: float = 30.0
    clock: Callable[[], float] = time.time
    runs: int = 0  # how often the plugin was run (tests, stats)
    _cached: ExecCredential | None = field(default=None, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def credential(self) -> ExecCredential:
        """The cached credential, running the plugin when there is none or it has expired."""
        with self._lock:
            cached = self._cached
            if cached is not None and (
                cached.expires_at is None or cached.expires_at - EXPIRY_SKEW > self.clock()
            ):
                return cached
            self._cached = self._run()
            return self._cached

    def invalidate(self) -> None:
        """Forget the cached credential (the server answered 401): the next request runs the plugin."""
        with self._lock:
            self._cached = None

    def _exec_info(self) -> dict[str, Any]:
        spec: dict[str, Any] = {"interactive": False}
        extra = self.config.model_extra or {}
        if extra.get("provideClusterInfo"):
            cluster: dict[str, Any] = {"server": self.cluster.server}
            if self.cluster.credentials.server_name:
                cluster["tls-server-name"] = self.cluster.credentials.server_name
            if self.ca_data:
                cluster["certificate-authority-data"] = base64.b64encode(self.ca_data.encode()).decode()
            if self.cluster.credentials.insecure:
                cluster["insecure-skip-tls-verify"] = True
            if self.cluster.credentials.proxy_url:
                cluster["proxy-url"] = self.cluster.credentials.proxy_url
            spec["cluster"] = cluster
        return {"apiVersion": self.config.api_version, "kind": "ExecCredential", "spec": spec}

    def _fail(self, why: str) -> CredentialError:
        return CredentialError(
            f"cluster {self.cluster.name}: exec credential plugin {self.config.command!r} {why}"
        )

    def _run(self) -> ExecCredential:
        env = {**os.environ, **self.config.env, "KUBERNETES_EXEC_INFO": json.dumps(self._exec_info())}
        argv = [self.config.command, *self.config.args]
        self.runs += 1
        _log.debug(
            "running exec credential plugin",
            extra={"fields": {"cluster": self.cluster.name, "command": self.config.command}},
        )
        try:
            proc = subprocess.run(
                argv,
                env=env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=self.timeout,
                check=False,
            )
        except FileNotFoundError:
            hint = f" ({self.config.install_hint})" if self.config.install_hint else ""
            raise self._fail(f"was not found{hint}") from None
        except subprocess.TimeoutExpired:
            raise self._fail(f"did not answer within {self.timeout:g}s") from None
        except OSError as exc:
            raise self._fail(f"cannot be run ({exc.strerror})") from None
        if proc.returncode != 0:
            detail = (
                redact.mask(proc.stderr.strip().splitlines()[-1][:200])
                if proc.stderr.strip()
                else "no message"
            )
            raise self._fail(f"exited with status {proc.returncode}: {detail}")
        try:
            doc = json.loads(proc.stdout)
        except json.JSONDecodeError:
            raise self._fail("printed something that is not JSON (an ExecCredential was expected)") from None
        if not isinstance(doc, dict) or doc.get("kind") != "ExecCredential":
            raise self._fail("did not print an ExecCredential")
        if doc.get("apiVersion") != self.config.api_version:
            raise self._fail(
                f"answered with apiVersion {doc.get('apiVersion')!r}, not {self.config.api_version!r}"
            )
        status = doc.get("status") or {}
        cred = ExecCredential(
            token=status.get("token") or None,
            client_cert=status.get("clientCertificateData") or None,
            client_key=status.get("clientKeyData") or None,
        )
        if not cred.token and not (cred.client_cert and cred.client_key):
            raise self._fail("returned neither a token nor a client certificate and key")
        for value in (cred.token, cred.client_key):
            redact.register(value)
        stamp = status.get("expirationTimestamp")
        if stamp:
            try:
                cred.expires_at = dt.datetime.fromisoformat(str(stamp).replace("Z", "+00:00")).timestamp()
            except ValueError:
                raise self._fail(f"returned an expirationTimestamp that is not RFC 3339: {stamp!r}") from None
        return cred
