"""The cluster client: how fleet talks to one Kubernetes API server.

Every cluster request of a run goes through a ``ClusterClient``: the sync engine's diff (get,
list), apply (server-side apply), prune (delete) and health checks (get, watch), the registry's
live read of Argo CD Secrets, and ``fleet clusters check``. It works on plain dicts (unstructured
objects) over the REST layer of the official ``kubernetes`` client (its ``Configuration``,
``ApiClient`` and ``RESTClientObject``); the ``kubernetes.dynamic`` client is not used because it
writes a discovery cache file to /tmp and fetches all of discovery up front.

What it adds on top, per cluster: lazy cached discovery (``clusters/discovery.py``), a token-bucket
rate limit (``clusters/ratelimit.py``), connect/read timeouts, retries with exponential backoff and
jitter on 429 (honouring Retry-After), 5xx and connection errors (and one more try of a read that
timed out while the server answered other requests: a stall, not a hang), credentials from the ``Cluster``
model (``clusters/auth.py``), request counting (``stats()``), and errors that say whether a retry
can help. One client is safe to use from many threads at once.

Errors never carry a request body (it can hold Secret data): messages are built from the API
server's ``Status`` (passed through ``fleet.redact``), the cluster, the verb and the object.
"""

from __future__ import annotations

import base64
import builtins
import email.utils
import json
import logging
import random
import re
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

import urllib3
from urllib3 import exceptions as url_exceptions

from fleet import errors, jsonfast, log, models, redact
from fleet.clusters import auth, discovery, kubeproto, ratelimit, selectors

if TYPE_CHECKING:
    from kubernetes.client import exceptions as kube_exceptions

_log = log.get_logger(__name__)


def _kubernetes() -> Any:
    """The official client's package, imported when a client first connects: it takes about a
    second to import, which every command that never talks to a cluster (``fleet sim up``,
    ``fleet generate``, ``--help``) would otherwise pay (issue 8, item 13)."""
    import kubernetes.client

    return kubernetes.client


# The REST layer of the official client logs every response body at DEBUG, Secret data included.
# Nothing fleet does needs those lines, and no log level a user picks may leak a Secret.
logging.getLogger("kubernetes.client.rest").setLevel(logging.INFO)

MAX_MESSAGE_LENGTH = 300
CRD_GROUP = "apiextensions.k8s.io"
# A LIST answered with each object's metadata only, in protobuf first, then JSON, as client-go's
# metadata client asks: enough to compare resourceVersions and annotations at a fraction of a full
# LIST's bytes (issue 15). The plain JSON at the end is what a server that cannot convert sends
# (the items are cut down here), and what errors come back as: the API server negotiates a Status
# without the `as=` ranges.
METADATA_LIST_ACCEPT = (
    "application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,"
    "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"
)


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("gitops-fleetwright")
    except metadata.PackageNotFoundError:
        return "dev"


DEFAULT_USER_AGENT = f"fleet/{_version()}"


class Verb(StrEnum):
    """What a request does, for counting (``stats()``) and for error messages."""

    GET = "get"  # read one object
    LIST = "list"  # read a collection
    WATCH = "watch"  # open a watch stream
    CREATE = "create"  # POST a new object
    UPDATE = "update"  # PUT a whole object (replace)
    PATCH = "patch"  # merge, JSON or strategic-merge patch
    APPLY = "apply"  # server-side apply
    DELETE = "delete"  # delete one object
    DISCOVERY = "discovery"  # /api, /apis and group version resource lists
    VERSION = "version"  # /version


# Requests that read and change nothing: one that timed out may be sent again (see ``_request``).
IDEMPOTENT_READS = frozenset({Verb.GET, Verb.LIST, Verb.DISCOVERY, Verb.VERSION})


class PatchType(StrEnum):
    """Patch flavours and the content type the API server knows each by."""

    MERGE = "merge"  # RFC 7386 JSON merge patch
    JSON = "json"  # RFC 6902 JSON patch (a list of operations)
    STRATEGIC = "strategic"  # Kubernetes strategic merge patch (built-in kinds only)
    APPLY = "apply"  # server-side apply

    @property
    def content_type(self) -> str:
        return {
            PatchType.MERGE: "application/merge-patch+json",
            PatchType.JSON: "application/json-patch+json",
            PatchType.STRATEGIC: "application/strategic-merge-patch+json",
            PatchType.APPLY: "application/apply-patch+yaml",
        }[self]


class PropagationPolicy(StrEnum):
    """How deleting an owner treats its dependents (DeleteOptions.propagationPolicy)."""

    BACKGROUND = "Background"  # delete the owner now, dependents afterwards
    FOREGROUND = "Foreground"  # delete dependents first, then the owner
    ORPHAN = "Orphan"  # leave dependents in place without their owner reference


# -- errors ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Status:
    """The parts of a Kubernetes ``Status`` body an error needs (message already made safe)."""

    code: int
    reason: str
    message: str
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def causes(self) -> list[Mapping[str, Any]]:
        return list(self.details.get("causes") or [])


class ApiError(errors.FleetError):
    """The API server answered with an error; carries its parsed ``Status``.

    Subclasses name the common cases; each says (``retryable``) whether trying again may help.
    """

    def __init__(
        self, status: Status, *, cluster: str, verb: str, target: str, retry_after: float | None = None
    ) -> None:
        self.status = status
        self.cluster = cluster
        self.verb = verb
        self.target = target
        message = f"cluster {cluster}: {verb} {target} failed: {status.code} {status.reason}"
        if status.message:
            message += f": {status.message}"
        super().__init__(message, retry_after=retry_after)

    @property
    def code(self) -> int:
        return self.status.code

    @property
    def reason(self) -> str:
        return self.status.reason


class BadRequest(ApiError, errors.PermanentError):
    """400: the request is malformed (often an invalid patch or selector)."""


class Unauthorized(ApiError, errors.PermanentError):
    """401: the credentials were not accepted."""


class Forbidden(ApiError, errors.PermanentError):
    """403: authenticated, but not allowed to do this."""


class NotFound(ApiError, errors.PermanentError):
    """404: the object (or its namespace) does not exist."""


class Conflict(ApiError, errors.PermanentError):
    """409: a stale resourceVersion, or a server-side apply field conflict (see ``field_conflicts``)."""

    @property
    def field_conflicts(self) -> list[str]:
        """The fields another manager owns, from a server-side apply conflict."""
        return [
            str(cause.get("field") or cause.get("message", ""))
            for cause in self.status.causes
            if (cause.get("reason") or cause.get("type"))
            == "FieldManagerConflict"  # JSON "reason" is Go's Type
        ]


class AlreadyExists(Conflict):
    """409 AlreadyExists: create found an object of that name."""


class Gone(ApiError, errors.PermanentError):
    """410: the resourceVersion is too old (list again, then watch from the new version)."""


class Invalid(ApiError, errors.PermanentError):
    """422: the object failed validation."""


class TooManyRequests(ApiError, errors.TemporaryError):
    """429 after every retry: the server keeps throttling (``retry_after`` when it said so)."""


class ServerError(ApiError, errors.TemporaryError):
    """5xx after every retry."""


class ClusterUnreachable(errors.TemporaryError):
    """No answer: connection refused or reset, a timeout, a failing proxy."""

    def __init__(self, *, cluster: str, verb: str, target: str, why: str, attempts: int) -> None:
        self.cluster = cluster
        self.verb = verb
        self.target = target
        self.why = why
        tries = f" (after {attempts} attempts)" if attempts > 1 else ""
        super().__init__(f"cluster {cluster} is unreachable: {verb} {target}: {why}{tries}")


class ClusterTimeout(ClusterUnreachable):
    """The server took the connection but sent no answer within the read timeout: a hanging API
    server, as opposed to one that cannot be reached at all (refused, reset, no route, DNS)."""

    def __init__(self, *, cluster: str, verb: str, target: str, why: str, attempts: int) -> None:
        super().__init__(cluster=cluster, verb=verb, target=target, why=why, attempts=attempts)
        tries = f" (after {attempts} attempts)" if attempts > 1 else ""
        self.message = f"cluster {cluster} did not answer: {verb} {target}: {why}{tries}"
        self.args = (self.message,)


class TLSFailure(errors.PermanentError):
    """The TLS handshake failed: an unknown CA, a wrong server name, a rejected client certificate."""


class UnknownKind(errors.PermanentError):
    """Discovery does not know the (apiVersion, kind): a typo, or a CRD that is not installed yet."""

    def __init__(self, *, cluster: str, api_version: str, kind: str) -> None:
        self.cluster = cluster
        self.api_version = api_version
        self.kind = kind
        super().__init__(f"cluster {cluster}: the server does not serve kind {kind} in {api_version}")


_ERRORS_BY_CODE: dict[int, type[ApiError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    410: Gone,
    422: Invalid,
    429: TooManyRequests,
}

_SECRET_VALUE = re.compile(r'(Invalid value: )"(?:[^"\\]|\\.)*"')


def _safe_message(text: str, *, kind: str | None) -> str:
    """A server message fit for an error: masked, one line, bounded; Secret values cut out."""
    text = " ".join(str(text).split())
    if kind == "Secret":
        text = _SECRET_VALUE.sub(r"\1<hidden>", text)
    text = redact.mask(text)
    if len(text) > MAX_MESSAGE_LENGTH:
        text = text[: MAX_MESSAGE_LENGTH - 3] + "..."
    return text


def _status_from(exc: kube_exceptions.ApiException, *, kind: str | None) -> Status:
    code = int(exc.status or 0)
    reason = str(exc.reason or "")
    message = ""
    details: Mapping[str, Any] = {}
    body = exc.body
    if body:
        try:
            doc = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            doc = None
        if isinstance(doc, dict) and doc.get("kind") == "Status":
            code = int(doc.get("code") or code)
            reason = str(doc.get("reason") or reason)
            message = str(doc.get("message") or "")
            details = doc.get("details") or {}
        # A body that is not a Status (a proxy's HTML page, ...) is left out: it says little and
        # could echo anything.
    return Status(code=code, reason=reason, message=_safe_message(message, kind=kind), details=details)


def _error_for(
    status: Status, *, cluster: str, verb: str, target: str, retry_after: float | None = None
) -> ApiError:
    cls: type[ApiError]
    if status.code == 409 and status.reason == "AlreadyExists":
        cls = AlreadyExists
    elif status.code >= 500:
        cls = ServerError
    else:
        cls = _ERRORS_BY_CODE.get(status.code, ApiError)
    return cls(status, cluster=cluster, verb=verb, target=target, retry_after=retry_after)


# -- statistics -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClientStats:
    """Requests a client sent (every attempt counts, retries included)."""

    requests: int
    by_verb: Mapping[str, int]
    retries: int
    rate_limited_seconds: float

    def __sub__(self, other: ClientStats) -> ClientStats:
        verbs = set(self.by_verb) | set(other.by_verb)
        return ClientStats(
            requests=self.requests - other.requests,
            by_verb={v: self.by_verb.get(v, 0) - other.by_verb.get(v, 0) for v in sorted(verbs)},
            retries=self.retries - other.retries,
            rate_limited_seconds=self.rate_limited_seconds - other.rate_limited_seconds,
        )


# -- the client -----------------------------------------------------------------------------------


def _timeouts(timeout: float | tuple[float, float]) -> tuple[float, float]:
    if isinstance(timeout, (int, float)):
        return float(timeout), float(timeout)
    connect, read = timeout
    return float(connect), float(read)


def _object_name(obj: Mapping[str, Any]) -> tuple[str, str, str, str | None]:
    """(apiVersion, kind, name, namespace) of an object, or an InputError naming what is missing."""
    meta = obj.get("metadata") or {}
    api_version, kind, name = obj.get("apiVersion"), obj.get("kind"), meta.get("name")
    for value, field_name in ((api_version, "apiVersion"), (kind, "kind"), (name, "metadata.name")):
        if not value or not isinstance(value, str):
            label = f"{kind or 'object'} {name or '<unnamed>'}"
            raise errors.InputError("is missing", obj=label, field=field_name)
    return str(api_version), str(kind), str(name), meta.get("namespace") or None


class ClusterClient:
    """A connection to one cluster's API server. Thread-safe; reuse it for the whole run.

    Parameters:
        cluster: where to connect and how to authenticate.
        credential_resolver: turns a secret reference (``ref+...``) among the credentials into its
            value; called once per reference, when the client is created.
        qps, burst: client-side rate limit (token bucket); ``qps <= 0`` disables it.
        timeout: seconds to connect and to wait for an answer, ``(connect, read)`` or one number.
        retries: how many times a request is retried after 429, 5xx or a connection error.
        backoff: the first retry delay in seconds; doubled each time, with jitter.
        field_manager: the server-side apply field manager.
        user_agent: the User-Agent header.
        pool_size: connections kept open to the server (size it to the threads using the client).
        discovery_cache: share one between clients of the same server (default: per server URL).
    """

    def __init__(
        self,
        cluster: models.Cluster,
        *,
        credential_resolver: auth.CredentialResolver | None = None,
        qps: float = 50.0,
        burst: int = 100,
        timeout: float | tuple[float, float] = (5.0, 30.0),
        retries: int = 4,
        backoff: float = 0.2,
        max_backoff: float = 10.0,
        max_retry_after: float = 30.0,
        field_manager: str = "fleet",
        user_agent: str = DEFAULT_USER_AGENT,
        pool_size: int = 32,
        discovery_cache: discovery.DiscoveryCache | None = None,
        exec_timeout: float = 30.0,
    ) -> None:
        self.cluster = cluster
        self.name = cluster.name
        self.server = cluster.server.rstrip("/")
        parts = urlsplit(self.server)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise errors.InputError(
                "must be an http:// or https:// URL", obj=f"cluster {cluster.name}", field="server"
            )
        self._https = parts.scheme == "https"
        self.field_manager = field_manager
        self.user_agent = user_agent
        self.retries = max(0, int(retries))
        self.backoff = float(backoff)
        self.max_backoff = float(max_backoff)
        self.max_retry_after = float(max_retry_after)
        self.timeout = _timeouts(timeout)
        self.pool_size = max(1, int(pool_size))
        self.discovery = (
            discovery_cache if discovery_cache is not None else discovery.shared_cache(self.server)
        )
        self._limiter = ratelimit.TokenBucket(qps, burst)
        self._creds = auth.resolve(cluster, credential_resolver)
        self._exec = (
            auth.ExecPlugin(self._creds.exec, cluster, ca_data=self._creds.ca_data, timeout=exec_timeout)
            if self._creds.exec
            else None
        )
        self._stats_lock = threading.Lock()
        self._by_verb: dict[str, int] = {}
        self._retries = 0
        # When the server last answered anything (monotonic): a read that timed out while the
        # server answered others since it was sent met a stall, not a hanging server.
        self._last_answer = float("-inf")
        self._discovery_lock = threading.Lock()
        self._pool_lock = threading.Lock()
        self._tls_identity: tuple[str | None, str | None] = (self._creds.client_cert, self._creds.client_key)

        kube = _kubernetes()
        configuration = kube.Configuration()
        configuration.host = self.server
        configuration.verify_ssl = not self._creds.insecure
        configuration.connection_pool_maxsize = self.pool_size
        if self._creds.bearer_token and not self._exec:
            # For callers that hand ``api_client`` to a typed API class (those bypass counting).
            # kubernetes>=36 looks the token and its prefix up under "BearerToken".
            configuration.api_key = {"BearerToken": self._creds.bearer_token}
            configuration.api_key_prefix = {"BearerToken": "Bearer"}
        self.api_client = kube.ApiClient(configuration)
        self.api_client.user_agent = user_agent
        self.api_client.rest_client.pool_manager = self._pool_manager(*self._tls_identity)
        if self._creds.insecure and self._https:
            # urllib3 would warn on every request; one line per client says the same once.
            urllib3.disable_warnings(url_exceptions.InsecureRequestWarning)
            _log.warning("TLS verification is off for this cluster", extra={"fields": {"cluster": self.name}})

    def __repr__(self) -> str:
        return f"ClusterClient({self.name!r}, {self.server!r})"

    # -- connection -------------------------------------------------------------------------------

    def _pool_manager(self, cert: str | None, key: str | None) -> urllib3.PoolManager:
        kw: dict[str, Any] = {"num_pools": 4, "maxsize": self.pool_size, "block": False, "retries": False}
        if self._https:
            kw["ssl_context"] = auth.ssl_context(
                self._creds, cluster_name=self.name, client_cert=cert, client_key=key
            )
            # urllib3 sets verify_mode from cert_reqs even when it is given a context.
            kw["cert_reqs"] = "CERT_NONE" if self._creds.insecure else "CERT_REQUIRED"
            if self._creds.insecure:
                kw["assert_hostname"] = False
            elif self._creds.server_name:
                kw["server_hostname"] = self._creds.server_name
        proxy = self._creds.proxy_url
        if not proxy:
            return urllib3.PoolManager(**kw)
        if proxy.startswith("socks"):
            try:
                from urllib3.contrib.socks import SOCKSProxyManager
            except ImportError:
                raise auth.CredentialError(
                    f"cluster {self.name}: proxy {proxy} is a SOCKS proxy, which needs the PySocks package"
                ) from None
            return SOCKSProxyManager(proxy, **kw)
        return urllib3.ProxyManager(proxy, **kw)

    def _auth_headers(self) -> dict[str, str]:
        token = self._creds.bearer_token
        if self._exec is not None:
            cred = self._exec.credential()
            token = cred.token or token
            if (
                cred.client_cert
                and cred.client_key
                and (cred.client_cert, cred.client_key) != self._tls_identity
            ):
                with self._pool_lock:
                    if (cred.client_cert, cred.client_key) != self._tls_identity:
                        # In-flight requests keep the old pool; it closes when they finish.
                        self.api_client.rest_client.pool_manager = self._pool_manager(
                            cred.client_cert, cred.client_key
                        )
                        self._tls_identity = (cred.client_cert, cred.client_key)
        if token:
            return {"Authorization": f"Bearer {token}"}
        if self._creds.username and self._creds.password:
            pair = base64.b64encode(f"{self._creds.username}:{self._creds.password}".encode()).decode()
            redact.register(pair)
            return {"Authorization": f"Basic {pair}"}
        return {}

    def close(self) -> None:
        """Close pooled connections (the client can still be used; it reconnects)."""
        self.api_client.rest_client.pool_manager.clear()

    def __enter__(self) -> ClusterClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- statistics -------------------------------------------------------------------------------

    def _count(self, verb: str, *, retry: bool = False) -> None:
        with self._stats_lock:
            self._by_verb[verb] = self._by_verb.get(verb, 0) + 1
            if retry:
                self._retries += 1

    def stats(self) -> ClientStats:
        """Requests sent so far, by verb (every attempt counts, retries included)."""
        with self._stats_lock:
            by_verb = dict(sorted(self._by_verb.items()))
            return ClientStats(
                requests=sum(by_verb.values()),
                by_verb=by_verb,
                retries=self._retries,
                rate_limited_seconds=round(self._limiter.waited, 6),
            )

    def reset_stats(self) -> None:
        with self._stats_lock:
            self._by_verb.clear()
            self._retries = 0
            self._limiter.waited = 0.0

    # -- the request loop -------------------------------------------------------------------------

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(self.max_retry_after, retry_after) * random.uniform(1.0, 1.1)
        base = min(self.max_backoff, self.backoff * float(2**attempt))
        return base / 2 + random.uniform(0, base / 2)  # "equal jitter": spread, but never near zero

    def _request(
        self,
        verb: Verb,
        method: str,
        path: str,
        *,
        target: str,
        kind: str | None = None,
        query: Sequence[tuple[str, Any]] = (),
        body: Any = None,
        content_type: str | None = None,
        stream: bool = False,
        read_timeout: float | None = None,
        retry_already_exists: bool = False,
        accept: str = "application/json",
        protobuf_metadata: bool = False,
    ) -> Any:
        """Send one request, retrying what may pass; returns parsed JSON (or the raw stream).
        With ``protobuf_metadata``, a protobuf answer (``PartialObjectMetadata[List]``) is decoded
        to the same JSON, less the managedFields (nothing reads them from a metadata answer, and
        decoding them was most of the cost of one)."""
        url = self.server + path
        attempt = 0
        reauthenticated = False
        shown = "get" if verb in (Verb.VERSION, Verb.DISCOVERY) else str(verb)  # the verb errors name
        timeout = (self.timeout[0], read_timeout if read_timeout is not None else self.timeout[1])
        stalled_once = False
        while True:
            self._limiter.acquire()
            headers = {"Accept": accept, "User-Agent": self.user_agent, **self._auth_headers()}
            if verb in (Verb.GET, Verb.LIST) and not stream:
                # As Go's transport asks for every client-go client: the API server gzips answers
                # over 128 KiB (big LISTs), and urllib3 inflates them before they are parsed.
                headers["Accept-Encoding"] = "gzip"
            if content_type:
                headers["Content-Type"] = content_type
            self._count(str(verb), retry=attempt > 0)
            started = time.monotonic()
            try:
                response = self.api_client.rest_client.request(
                    method,
                    url,
                    query_params=list(query) or None,
                    headers=headers,
                    body=body,
                    _preload_content=not stream,
                    _request_timeout=timeout,
                )
            except _kubernetes().exceptions.ApiException as exc:
                if exc.status == 0:  # the REST layer's way of reporting an SSL error
                    why = str(exc.reason or "").replace("\n", ": ")
                    raise TLSFailure(f"cluster {self.name}: TLS with {self.server} failed: {why}") from None
                self._last_answer = time.monotonic()
                status = _status_from(exc, kind=kind)
                retry_after = _retry_after(exc.headers)
                self._log_request(verb, method, path, status.code, started, attempt)
                if status.code == 401 and self._exec is not None and not reauthenticated:
                    reauthenticated = True  # the exec token may have been revoked: get a new one once
                    self._exec.invalidate()
                    continue
                retryable = (
                    status.code == 429
                    or status.code >= 500
                    or (retry_already_exists and status.code == 409 and status.reason == "AlreadyExists")
                )
                if retryable and attempt < self.retries:
                    delay = self._delay(attempt, retry_after)  # client-go honours Retry-After on 5xx too
                    attempt += 1
                    _log.debug(
                        "retrying after an error answer",
                        extra={
                            "fields": {
                                "cluster": self.name,
                                "verb": str(verb),
                                "code": status.code,
                                "delay": round(delay, 3),
                            }
                        },
                    )
                    time.sleep(delay)
                    continue
                if not (status.code == 429 or status.code >= 500):
                    retry_after = None  # a hint on a permanent error must not make it look retryable
                # Not chained: ApiException's text includes the response body and headers.
                raise _error_for(
                    status, cluster=self.name, verb=shown, target=target, retry_after=retry_after
                ) from None
            except (url_exceptions.HTTPError, OSError) as exc:
                why, retry = _connection_failure(exc, timeout)
                self._log_request(verb, method, path, 0, started, attempt, why=why)
                if (
                    not retry
                    and not stalled_once
                    and verb in IDEMPOTENT_READS
                    and not stream
                    and _is_read_timeout(exc)
                    and self._last_answer > started
                ):
                    # A read timed out while the server answered other requests since it was
                    # sent: the server is up but this answer stalled (an overloaded API server,
                    # or a proxy in front of many clusters; issue 15 saw it at 1,000 clusters).
                    # A read changes nothing, so it is sent once more. A server that answers
                    # nothing at all still fails after one timeout.
                    stalled_once = retry = True
                if retry and attempt < self.retries:
                    delay = self._delay(attempt, None)
                    attempt += 1
                    time.sleep(delay)
                    continue
                failure = ClusterTimeout if _is_read_timeout(exc) else ClusterUnreachable
                raise failure(
                    cluster=self.name, verb=shown, target=target, why=why, attempts=attempt + 1
                ) from exc
            self._last_answer = time.monotonic()
            if stream:
                return response
            self._log_request(verb, method, path, response.status, started, attempt)
            if not response.data:
                return {}
            try:
                if protobuf_metadata and kubeproto.is_protobuf(response.getheader("Content-Type")):
                    return kubeproto.decode_metadata(response.data, managed_fields=False)
                return jsonfast.loads(response.data)
            except kubeproto.ProtobufError as exc:
                raise ServerError(
                    Status(response.status, "InvalidResponse", str(exc)[:MAX_MESSAGE_LENGTH]),
                    cluster=self.name,
                    verb=shown,
                    target=target,
                ) from None
            except ValueError:
                raise ServerError(
                    Status(response.status, "InvalidResponse", "the answer is not JSON"),
                    cluster=self.name,
                    verb=shown,
                    target=target,
                ) from None

    def _log_request(
        self,
        verb: Verb,
        method: str,
        path: str,
        code: int,
        started: float,
        attempt: int,
        *,
        why: str | None = None,
    ) -> None:
        if not _log.isEnabledFor(logging.DEBUG):
            return
        fields: dict[str, Any] = {
            "cluster": self.name,
            "verb": str(verb),
            "method": method,
            "path": path,
            "code": code,
            "ms": round((time.monotonic() - started) * 1000, 1),
        }
        if attempt:
            fields["attempt"] = attempt + 1
        if why:
            fields["error"] = why
        _log.debug("kubernetes request", extra={"fields": fields})

    # -- discovery --------------------------------------------------------------------------------

    def server_version(self) -> dict[str, Any]:
        """The server's ``/version`` (gitVersion, major, minor, platform, ...)."""
        result: dict[str, Any] = self._request(Verb.VERSION, "GET", "/version", target="/version")
        return result

    def _fetch_group_version(self, group_version: str) -> dict[str, discovery.Resource] | None:
        path = discovery.group_version_path(group_version)
        try:
            doc = self._request(Verb.DISCOVERY, "GET", path, target=path)
        except NotFound:
            resources = None
        else:
            resources = discovery.parse_resource_list(doc)
        self.discovery.put(group_version, resources)
        return resources

    def resource(self, api_version: str, kind: str) -> discovery.Resource:
        """How the server serves ``kind`` of ``api_version``; raises ``UnknownKind``.

        Cached per group version; a kind missing from the cache is looked up once more (a CRD may
        have been applied since), at most every ``discovery.REFRESH_INTERVAL`` seconds.
        """
        entry = self.discovery.get(api_version)
        if entry is not None and entry.resources and kind in entry.resources:
            return entry.resources[kind]
        with self._discovery_lock:
            entry = self.discovery.get(api_version)  # another thread may have fetched it meanwhile
            if entry is None or (
                not (entry.resources and kind in entry.resources)
                and time.monotonic() - entry.fetched_at > discovery.REFRESH_INTERVAL
            ):
                resources = self._fetch_group_version(api_version)
            else:
                resources = entry.resources
        if resources and kind in resources:
            return resources[kind]
        raise UnknownKind(cluster=self.name, api_version=api_version, kind=kind)

    def resource_named(self, api_version: str, name: str) -> discovery.Resource:
        """A resource of ``api_version`` by its plural (``placementdecisions``, as dynamic clients
        name it), its kind, or a short name, from the same cached discovery as ``resource``."""
        entry = self.discovery.get(api_version)
        resources = entry.resources if entry is not None and entry.resources else None
        if resources is None or not _named(resources, name):
            with self._discovery_lock:
                resources = self._fetch_group_version(api_version)
        found = _named(resources or {}, name)
        if found is None:
            raise UnknownKind(cluster=self.name, api_version=api_version, kind=name)
        return found

    def api_groups(self) -> list[str]:
        """Every group version the server serves (``/api`` and ``/apis``, two requests), core first."""
        core = self._request(Verb.DISCOVERY, "GET", "/api", target="/api")
        groups = self._request(Verb.DISCOVERY, "GET", "/apis", target="/apis")
        group_versions = [str(v) for v in core.get("versions") or []]
        for group in groups.get("groups") or []:
            group_versions.extend(str(v.get("groupVersion")) for v in group.get("versions") or [])
        return group_versions

    def resources(self) -> list[discovery.Resource]:
        """Every resource the server serves, in all group versions (full legacy discovery)."""
        out: list[discovery.Resource] = []
        for gv in self.api_groups():
            entry = self.discovery.get(gv)
            resources = entry.resources if entry is not None else self._fetch_group_version(gv)
            out.extend((resources or {}).values())
        return out

    def invalidate_discovery(self) -> None:
        """Forget cached discovery for this server (all clients sharing the cache)."""
        self.discovery.invalidate()

    # -- paths ------------------------------------------------------------------------------------

    @staticmethod
    def _path(
        resource: discovery.Resource,
        *,
        namespace: str | None = None,
        name: str | None = None,
        subresource: str | None = None,
    ) -> str:
        path = resource.base_path()
        if resource.namespaced and namespace:
            path += f"/namespaces/{quote(namespace, safe='')}"
        path += f"/{resource.plural}"
        if name:
            path += f"/{quote(name, safe='')}"
        if subresource:
            path += f"/{subresource}"
        return path

    @staticmethod
    def _target(
        resource: discovery.Resource | None,
        kind: str,
        api_version: str,
        name: str | None,
        namespace: str | None,
    ) -> str:
        label = f"{api_version} {kind}"
        if name:
            namespaced = resource.namespaced if resource is not None else bool(namespace)
            return f"{label} {namespace}/{name}" if namespaced and namespace else f"{label} {name}"
        if namespace:
            return f"{label} in namespace {namespace}"
        return f"{label} in all namespaces" if resource is None or resource.namespaced else label

    def _locate(
        self, api_version: str, kind: str, name: str | None, namespace: str | None, *, single: bool
    ) -> tuple[discovery.Resource, str | None, str]:
        resource = self.resource(api_version, kind)
        if not resource.namespaced:
            namespace = None
        elif single and not namespace:
            namespace = "default"  # as kubectl does with a context that names no namespace
        return resource, namespace, self._target(resource, kind, api_version, name, namespace)

    def _write_query(
        self, *, dry_run: bool, field_manager: str | None, force: bool = False
    ) -> list[tuple[str, Any]]:
        query: list[tuple[str, Any]] = [("fieldManager", field_manager or self.field_manager)]
        if force:
            query.append(("force", "true"))
        if dry_run:
            query.append(("dryRun", "All"))
        return query

    # -- verbs ------------------------------------------------------------------------------------

    def apply(
        self,
        obj: Mapping[str, Any],
        *,
        force: bool = False,
        dry_run: bool = False,
        field_manager: str | None = None,
        subresource: str | None = None,
    ) -> dict[str, Any]:
        """Server-side apply ``obj`` (creating it if needed); returns the object as the server has it.

        Parameters:
            force: take ownership of fields another manager owns instead of failing with ``Conflict``.
            dry_run: let the server compute the result without persisting it.
            field_manager: overrides the client's field manager for this call.
            subresource: e.g. "status".
        """
        api_version, kind, name, namespace = _object_name(obj)
        resource, namespace, target = self._locate(api_version, kind, name, namespace, single=True)
        body = dict(obj)
        if not resource.namespaced and (obj.get("metadata") or {}).get("namespace"):
            body["metadata"] = {k: v for k, v in obj["metadata"].items() if k != "namespace"}
        result: dict[str, Any] = self._request(
            Verb.APPLY,
            "PATCH",
            self._path(resource, namespace=namespace, name=name, subresource=subresource),
            target=target,
            kind=kind,
            query=self._write_query(dry_run=dry_run, field_manager=field_manager, force=force),
            body=body,
            content_type=PatchType.APPLY.content_type,
            # Two appliers creating the same object race; the loser's retry becomes an update.
            retry_already_exists=True,
        )
        if kind == "CustomResourceDefinition" and resource.group == CRD_GROUP and not dry_run:
            group = str(((obj.get("spec") or {}).get("group")) or "")
            if group:
                self.discovery.invalidate_group(group)
        return result

    def get(
        self,
        api_version: str,
        kind: str,
        name: str,
        namespace: str | None = None,
        *,
        subresource: str | None = None,
    ) -> dict[str, Any] | None:
        """The object, or None when it (or its namespace) does not exist."""
        resource, namespace, target = self._locate(api_version, kind, name, namespace, single=True)
        try:
            result: dict[str, Any] = self._request(
                Verb.GET,
                "GET",
                self._path(resource, namespace=namespace, name=name, subresource=subresource),
                target=target,
                kind=kind,
            )
        except NotFound:
            return None
        return result

    def proxy_get(self, path: str) -> bytes:
        """GET an API server path that is not an object, e.g. a service proxy
        (``/api/v1/namespaces/NS/services/NAME:PORT/proxy/...``); returns the raw body.
        Same authentication, rate limit, retries and errors as every other request."""
        response = self._request(Verb.GET, "GET", path, target=path, stream=True)
        try:
            return bytes(response.data)
        finally:
            response.release_conn()

    def list(
        self,
        api_version: str,
        kind: str,
        *,
        namespace: str | None = None,
        label_selector: str | selectors.Selector | None = None,
        field_selector: str | None = None,
        page_size: int | None = None,
        metadata_only: bool = False,
    ) -> tuple[list[dict[str, Any]], str]:
        """The objects of a kind (in one namespace, or all), and the list's resourceVersion.

        Items get ``apiVersion`` and ``kind`` filled in (list items carry neither). With
        ``page_size``, the list is fetched in pages (``limit``/``continue``), one request each.
        With ``metadata_only``, items are ``{"apiVersion", "kind", "metadata"}``, without
        managedFields (the server sends a ``PartialObjectMetadataList``, in protobuf where it can,
        else JSON; one that cannot convert sends the full list, cut down here).
        """
        resource, namespace, target = self._locate(api_version, kind, None, namespace, single=False)
        query: list[tuple[str, Any]] = []
        if label_selector:
            query.append(("labelSelector", str(label_selector)))
        if field_selector:
            query.append(("fieldSelector", field_selector))
        if page_size:
            query.append(("limit", int(page_size)))
        items: list[dict[str, Any]] = []
        token: str | None = None
        path = self._path(resource, namespace=namespace)
        while True:
            page_query = query + ([("continue", token)] if token else [])
            doc = self._request(
                Verb.LIST,
                "GET",
                path,
                target=target,
                kind=kind,
                query=page_query,
                accept=METADATA_LIST_ACCEPT if metadata_only else "application/json",
                protobuf_metadata=metadata_only,
            )
            for item in doc.get("items") or []:
                if metadata_only:
                    meta = {k: v for k, v in (item.get("metadata") or {}).items() if k != "managedFields"}
                    item = {"apiVersion": api_version, "kind": kind, "metadata": meta}
                item.setdefault("apiVersion", api_version)
                item.setdefault("kind", kind)
                items.append(item)
            meta = doc.get("metadata") or {}
            token = meta.get("continue") or None
            if not token or not page_size:
                return items, str(meta.get("resourceVersion") or "")

    def create(
        self, obj: Mapping[str, Any], *, dry_run: bool = False, field_manager: str | None = None
    ) -> dict[str, Any]:
        """Create ``obj``; ``AlreadyExists`` if an object of that name exists."""
        api_version, kind, name, namespace = _object_name(obj)
        resource, namespace, target = self._locate(api_version, kind, name, namespace, single=True)
        result: dict[str, Any] = self._request(
            Verb.CREATE,
            "POST",
            self._path(resource, namespace=namespace),
            target=target,
            kind=kind,
            query=self._write_query(dry_run=dry_run, field_manager=field_manager),
            body=dict(obj),
        )
        return result

    def replace(
        self,
        obj: Mapping[str, Any],
        *,
        dry_run: bool = False,
        field_manager: str | None = None,
        subresource: str | None = None,
    ) -> dict[str, Any]:
        """Replace (PUT) the whole object; with ``metadata.resourceVersion`` set, a stale one is a ``Conflict``."""
        api_version, kind, name, namespace = _object_name(obj)
        resource, namespace, target = self._locate(api_version, kind, name, namespace, single=True)
        result: dict[str, Any] = self._request(
            Verb.UPDATE,
            "PUT",
            self._path(resource, namespace=namespace, name=name, subresource=subresource),
            target=target,
            kind=kind,
            query=self._write_query(dry_run=dry_run, field_manager=field_manager),
            body=dict(obj),
        )
        return result

    def patch(
        self,
        api_version: str,
        kind: str,
        name: str,
        patch: Mapping[str, Any] | Sequence[Mapping[str, Any]],
        *,
        namespace: str | None = None,
        patch_type: PatchType | str = PatchType.MERGE,
        dry_run: bool = False,
        field_manager: str | None = None,
        subresource: str | None = None,
        force: bool = False,
    ) -> dict[str, Any]:
        """Patch an object: ``patch_type`` is "merge", "json" (a list of operations), "strategic" or "apply"."""
        try:
            kind_of_patch = PatchType(patch_type)
        except ValueError:
            raise errors.InputError(
                f"{patch_type!r} is not one of {', '.join(p.value for p in PatchType)}", field="patch_type"
            ) from None
        if kind_of_patch is PatchType.JSON and not isinstance(patch, list):
            raise errors.InputError("a JSON patch must be a list of operations", field="patch")
        if kind_of_patch is not PatchType.JSON and not isinstance(patch, Mapping):
            raise errors.InputError(f"a {kind_of_patch.value} patch must be a mapping", field="patch")
        resource, namespace, target = self._locate(api_version, kind, name, namespace, single=True)
        query = self._write_query(
            dry_run=dry_run, field_manager=field_manager, force=force and kind_of_patch is PatchType.APPLY
        )
        result: dict[str, Any] = self._request(
            Verb.APPLY if kind_of_patch is PatchType.APPLY else Verb.PATCH,
            "PATCH",
            self._path(resource, namespace=namespace, name=name, subresource=subresource),
            target=target,
            kind=kind,
            query=query,
            body=dict(patch) if isinstance(patch, Mapping) else list(patch),
            content_type=kind_of_patch.content_type,
        )
        return result

    def delete(
        self,
        api_version: str,
        kind: str,
        name: str,
        namespace: str | None = None,
        *,
        propagation_policy: PropagationPolicy | str = PropagationPolicy.BACKGROUND,
        dry_run: bool = False,
        grace_period_seconds: int | None = None,
    ) -> dict[str, Any] | None:
        """Delete an object; returns the server's answer, or None when it was already gone.

        With finalizers the object may live on (with ``deletionTimestamp``) after this returns.
        """
        try:
            policy = PropagationPolicy(propagation_policy)
        except ValueError:
            raise errors.InputError(
                f"{propagation_policy!r} is not one of {', '.join(p.value for p in PropagationPolicy)}",
                field="propagation_policy",
            ) from None
        resource, namespace, target = self._locate(api_version, kind, name, namespace, single=True)
        options: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": "DeleteOptions",
            "propagationPolicy": policy.value,
        }
        if grace_period_seconds is not None:
            options["gracePeriodSeconds"] = int(grace_period_seconds)
        query: list[tuple[str, Any]] = [("dryRun", "All")] if dry_run else []
        try:
            result: dict[str, Any] = self._request(
                Verb.DELETE,
                "DELETE",
                self._path(resource, namespace=namespace, name=name),
                target=target,
                kind=kind,
                query=query,
                body=options,
            )
        except NotFound:
            return None
        return result

    def watch(
        self,
        api_version: str,
        kind: str,
        *,
        namespace: str | None = None,
        label_selector: str | selectors.Selector | None = None,
        field_selector: str | None = None,
        resource_version: str | None = None,
        timeout_seconds: int = 60,
        allow_bookmarks: bool = False,
    ) -> Iterator[dict[str, Any]]:
        """Watch events ``{"type": ADDED|MODIFIED|DELETED|BOOKMARK, "object": {...}}``.

        The request is sent when iteration starts; the stream ends when the server closes it
        (after ``timeout_seconds``) or the iterator is closed. An ERROR event raises (``Gone``
        when ``resource_version`` is too old: list again). A connection lost mid-stream raises
        ``ClusterUnreachable``; restart from the last event's resourceVersion.
        """
        resource, namespace, target = self._locate(api_version, kind, None, namespace, single=False)
        query: list[tuple[str, Any]] = [("watch", "true"), ("timeoutSeconds", int(timeout_seconds))]
        if resource_version:
            query.append(("resourceVersion", resource_version))
        if label_selector:
            query.append(("labelSelector", str(label_selector)))
        if field_selector:
            query.append(("fieldSelector", field_selector))
        if allow_bookmarks:
            query.append(("allowWatchBookmarks", "true"))
        return self._watch_events(
            self._path(resource, namespace=namespace),
            query=query,
            target=target,
            kind=kind,
            api_version=api_version,
            read_timeout=timeout_seconds + self.timeout[1],
        )

    def _watch_events(
        self,
        path: str,
        *,
        query: builtins.list[
            tuple[str, Any]
        ],  # builtins: the method ClusterClient.list shadows the type here
        target: str,
        kind: str,
        api_version: str,
        read_timeout: float,
    ) -> Iterator[dict[str, Any]]:
        response = self._request(
            Verb.WATCH,
            "GET",
            path,
            target=target,
            kind=kind,
            query=query,
            stream=True,
            read_timeout=read_timeout,
        )
        buffer = b""
        try:
            try:
                for chunk in response.stream(4096, decode_content=True):
                    buffer += chunk
                    while b"\n" in buffer:
                        line, buffer = buffer.split(b"\n", 1)
                        if line.strip():
                            yield self._watch_event(line, target=target, kind=kind, api_version=api_version)
                if buffer.strip():
                    yield self._watch_event(buffer, target=target, kind=kind, api_version=api_version)
            except (url_exceptions.HTTPError, OSError) as exc:
                why, _ = _connection_failure(exc, (self.timeout[0], read_timeout))
                raise ClusterUnreachable(
                    cluster=self.name, verb=str(Verb.WATCH), target=target, why=why, attempts=1
                ) from exc
        finally:
            response.release_conn()

    def _watch_event(self, line: bytes, *, target: str, kind: str, api_version: str) -> dict[str, Any]:
        try:
            event = jsonfast.loads(line)
        except ValueError:
            raise ServerError(
                Status(500, "InvalidResponse", "a watch event is not JSON"),
                cluster=self.name,
                verb="watch",
                target=target,
            ) from None
        if event.get("type") == "ERROR":
            obj = event.get("object") or {}
            status = Status(
                code=int(obj.get("code") or 500),
                reason=str(obj.get("reason") or "Error"),
                message=_safe_message(str(obj.get("message") or ""), kind=kind),
                details=obj.get("details") or {},
            )
            raise _error_for(status, cluster=self.name, verb="watch", target=target)
        obj = event.get("object")
        if isinstance(obj, dict) and event.get("type") != "BOOKMARK":
            obj.setdefault("apiVersion", api_version)
            obj.setdefault("kind", kind)
        return dict(event)


def _named(resources: Mapping[str, discovery.Resource], name: str) -> discovery.Resource | None:
    if name in resources:
        return resources[name]
    lowered = name.lower()
    for resource in resources.values():
        if lowered in (resource.plural, resource.kind.lower()) or lowered in resource.short_names:
            return resource
    return None


def _retry_after(headers: Any) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), if there is one."""
    if not headers:
        return None
    value = headers.get("Retry-After") if hasattr(headers, "get") else None
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(str(value))
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _connection_failure(exc: BaseException, timeout: tuple[float, float]) -> tuple[str, bool]:
    """A short reason for a failed connection, and whether retrying makes sense.

    A read timeout is not retried here: the server took the request and did not answer, so another
    attempt would most likely wait just as long again (a hanging cluster must fail fast). Only a
    read that stalled while the server answered other requests is sent again (``_request``).
    """
    if isinstance(exc, url_exceptions.ReadTimeoutError):
        return f"no answer within {timeout[1]:g}s", False
    if isinstance(exc, url_exceptions.NameResolutionError):
        return "the host name does not resolve", True
    if isinstance(exc, url_exceptions.NewConnectionError):
        return f"connection failed ({_os_reason(exc)})", True
    if isinstance(exc, url_exceptions.ConnectTimeoutError):
        return f"no connection within {timeout[0]:g}s", True
    if isinstance(exc, url_exceptions.ProxyError):
        return f"the proxy failed ({_os_reason(exc)})", True
    if isinstance(exc, url_exceptions.ProtocolError):
        return f"the connection was lost ({_os_reason(exc)})", True
    if isinstance(exc, TimeoutError):
        return f"no answer within {timeout[1]:g}s", False
    return f"{type(exc).__name__}", True


def _is_read_timeout(exc: BaseException) -> bool:
    """Whether the server took the request and never answered (not: could not be reached)."""
    return isinstance(exc, url_exceptions.ReadTimeoutError | TimeoutError)


def _os_reason(exc: BaseException) -> str:
    """The innermost OS-level reason (``connection refused``) of a urllib3 error."""
    names = {"RemoteDisconnected": "closed by the server", "ConnectionResetError": "connection reset"}
    seen: BaseException | None = exc
    innermost = exc
    for _ in range(8):
        if seen is None:
            break
        innermost = seen
        if isinstance(seen, OSError) and seen.strerror:
            return seen.strerror.lower()
        nested = next((a for a in getattr(seen, "args", ()) if isinstance(a, BaseException)), None)
        seen = nested or seen.__cause__ or seen.__context__
    return names.get(type(innermost).__name__, type(innermost).__name__)


def connect(cluster: models.Cluster, **options: Any) -> ClusterClient:
    """A ``ClusterClient`` for ``cluster`` (keyword options as for ``ClusterClient``)."""
    return ClusterClient(cluster, **options)
