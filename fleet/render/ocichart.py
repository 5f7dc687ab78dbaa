"""Helm charts from OCI registries: the reference, the version, the manifest and the chart layer.

Where it sits: ``chartfetch.ChartFetcher.fetch`` hands OCI sources here and keeps what comes back
in the same cache, unpacked the same safe way, as charts from Helm HTTP repositories. Two forms
of source are OCI, as in Argo CD:

- ``repoURL: oci://registry/path/chart`` (Argo CD 3.1's OCI source; ``path: .``), or
  ``repoURL: oci://registry/path`` with ``chart: name``;
- ``repoURL: registry/path`` without a scheme, with ``chart: name`` (Argo CD's Helm OCI form:
  a repoURL without a host part is an OCI registry, ``helm.IsHelmOciRepo``).

1. version: ``targetRevision`` is an exact version (its tag is read directly), a semver
   constraint resolved against the repository's tags (``GET /v2/<name>/tags/list``, following
   ``Link`` pagination; Helm writes ``+`` as ``_`` in tags, read back as ``+``), or a digest pin:
   ``sha256:<hex>`` or ``<version>@sha256:<hex>``;
2. manifest: ``GET /v2/<name>/manifests/<tag or digest>``; its sha256 must match a pinned digest
   and the registry's ``Docker-Content-Digest``; its config must be Helm's
   (``application/vnd.cncf.helm.config.v1+json``) and one layer the chart
   (``application/vnd.cncf.helm.chart.content.v1.tar+gzip``, or Helm 3.0's ``application/tar+gzip``);
3. chart: the layer blob (``GET /v2/<name>/blobs/<digest>``) unless the cache already holds that
   digest, checked against the layer's digest and size before it is unpacked.

Authentication: anonymous first; a 401 with ``WWW-Authenticate: Basic`` is answered with the
repository's username and password, one with ``Bearer realm=...,service=...,scope=...`` by
fetching a token from the realm (with basic auth when credentials are configured, anonymously
otherwise) and retrying with it. Tokens are kept in memory for their ``expires_in`` and
registered with ``fleet.redact``. HTTPS by default, with the CAs of ``argocd-tls-certs-cm`` and
the repository's client certificate; plain HTTP only for a repository Secret with
``insecureOCIForceHttp: "true"``.

Written with urllib rather than the ``oras`` package: oras-py sets no timeouts (a hung registry
would hold a render thread for good), reads ``~/.docker/config.json`` on its own, writes layers
to files without a size limit or digest check, prints to stdout, and takes no client
certificate; the part of the distribution API a chart needs is four GETs.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import Message
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

from fleet import redact, render, repocreds
from fleet.gotemplate import semver
from fleet.gotemplate.errors import FuncError
from fleet.render import chartfetch

SCHEME = "oci"
HELM_CONFIG = "application/vnd.cncf.helm.config.v1+json"
HELM_LAYER = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
LEGACY_HELM_LAYER = "application/tar+gzip"  # what Helm 3.0-3.6 pushed
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
MAX_MANIFEST_BYTES = 4 << 20  # the distribution spec's recommended manifest limit
MAX_TAGS_BYTES = 16 << 20
MAX_TAG_PAGES = 1000
TAGS_PAGE = 1000
TOKEN_TTL = 60.0  # seconds a token lives when the realm says nothing (the token spec's default)
# The distribution spec's repository name grammar.
_NAME = re.compile(r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*\Z")
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}\Z")
_PARAM = re.compile(r'(\w+)\s*=\s*"([^"]*)"')
_LINK = re.compile(r"<([^>]+)>\s*;\s*rel=\"?next\"?")


# --- what a source names -------------------------------------------------------------------------


def is_oci(repo_url: str, chart: str = "") -> bool:
    """Whether a source's chart comes from an OCI registry (see the module docstring)."""
    text = repo_url.strip()
    if text.lower().startswith(f"{SCHEME}://"):
        return True
    return bool(chart) and bool(text) and "://" not in text


@dataclass(frozen=True, slots=True)
class Reference:
    """A chart repository in a registry: ``registry`` (host[:port]) and ``repository`` (path/chart)."""

    registry: str
    repository: str

    @property
    def chart(self) -> str:
        return self.repository.rsplit("/", 1)[-1]

    @property
    def url(self) -> str:
        return f"{SCHEME}://{self.registry}/{self.repository}"


def parse_reference(repo_url: str, chart: str, *, app: str = "", where: str = "spec.source") -> Reference:
    """The repository a source names; a ``render.RenderError`` naming the field when it is not one."""
    text = redact.safe_url(repo_url.strip())
    body = text[len(SCHEME) + 3 :] if text.lower().startswith(f"{SCHEME}://") else text
    registry, _, path = body.partition("/")
    path = path.strip("/")
    name = f"{path}/{chart}" if chart and path else (chart or path)
    shown = redact.safe_url(repo_url)
    try:
        parts = urlsplit(f"//{registry}")
        host, _port = parts.hostname, parts.port
    except ValueError:
        host = None
    if not registry or not host or "@" in registry:
        raise render.RenderError(
            f"repoURL {shown!r} does not name an OCI registry (host[:port]/path)",
            app=app,
            path=chart or shown,
            field=f"{where}.repoURL",
        )
    if not name or not _NAME.match(name):
        path_ok = not path or bool(_NAME.match(path))
        field = f"{where}.chart" if chart and path_ok else f"{where}.repoURL"
        raise render.RenderError(
            f"{name or '(nothing)'!r} is not an OCI repository name (lower-case letters, digits, "
            "'.', '_', '-', separated by '/')",
            app=app,
            path=chart or shown,
            field=field,
        )
    return Reference(registry=registry.lower(), repository=name)


@dataclass(frozen=True, slots=True)
class Revision:
    """``targetRevision`` of an OCI chart: a version or constraint, and/or a pinned manifest digest."""

    version: str  # exact version or constraint ("" with a bare digest pin)
    digest: str  # "sha256:<hex>" or ""

    @property
    def exact(self) -> bool:
        """A plain version (read by its tag, without listing tags), not a constraint."""
        if not self.version:
            return False
        try:
            semver.parse_version(self.version)
        except FuncError:
            return False
        return not any(c in self.version for c in "<>=~^*|, ") and not self.version.lower().startswith("v")


def parse_revision(text: str, *, chart: str = "", app: str = "", where: str = "spec.source") -> Revision:
    """``1.2.3``, ``>=1.2 <2``, ``sha256:<hex>`` or ``1.2.3@sha256:<hex>``."""
    value = text.strip()
    version, _, digest = value.rpartition("@") if "@" in value else (value, "", "")
    if not digest and value.startswith("sha256:"):
        version, digest = "", value
    if digest and not _DIGEST.match(digest):
        raise render.RenderError(
            f"targetRevision {text!r} pins {digest!r}, which is not a sha256 digest (sha256:<64 hex digits>)",
            app=app,
            path=chart,
            field=f"{where}.targetRevision",
        )
    if version:
        try:
            semver.check(version.strip() or "*", "0.0.0")
        except FuncError as exc:
            raise render.RenderError(
                f"targetRevision {text!r} of chart {chart!r} is neither a version, a semver constraint nor "
                f"a digest ({exc})",
                app=app,
                path=chart,
                field=f"{where}.targetRevision",
            ) from None
    return Revision(version=version.strip() if (version or not digest) else "", digest=digest)


# --- the registry client -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Manifest:
    """What a chart's manifest says."""

    digest: str  # "sha256:<hex>" of the manifest itself
    layer_digest: str  # "sha256:<hex>" of the chart archive
    layer_size: int


def _failure(kind: type[chartfetch.ChartError], detail: str) -> chartfetch.Failure:
    return chartfetch.Failure(kind, detail)


def _challenge(header: str) -> tuple[str, dict[str, str]]:
    """``Bearer realm="...",service="..."`` -> ("bearer", {...}); hand-parsed: urllib has no parser
    for WWW-Authenticate, and the token spec uses only this quoted-pair form."""
    scheme, _, rest = header.strip().partition(" ")
    return scheme.lower(), {k.lower(): v for k, v in _PARAM.findall(rest)}


class Client:
    """One registry, with one set of credentials (thread-safe: render threads share it).

    Parameters:
        registry: ``host[:port]``.
        credentials: the repository's credentials (``fleet.repocreds``), or None (anonymous,
            the system's CAs).
        plain_http: speak HTTP instead of HTTPS (``insecureOCIForceHttp``).
        timeout, deadline: seconds per connect/read, and for one whole response.

    ``requests`` counts the HTTP requests made (token requests included).
    """

    def __init__(
        self,
        registry: str,
        *,
        credentials: repocreds.Credentials | None = None,
        plain_http: bool = False,
        timeout: float = chartfetch.DEFAULT_TIMEOUT,
        deadline: float = chartfetch.DEFAULT_DEADLINE,
    ) -> None:
        self.registry = registry
        self.base = f"{'http' if plain_http else 'https'}://{registry}"
        self.credentials = credentials
        self.timeout = timeout
        self.deadline = deadline
        handlers: list[Any] = [chartfetch.HttpOnlyRedirects()]
        if not plain_http:
            context = credentials.ssl_context() if credentials is not None else None
            if context is not None:
                handlers.append(urllib.request.HTTPSHandler(context=context))
        self._opener = urllib.request.build_opener(*handlers)
        self._lock = threading.Lock()
        self._tokens: dict[str, tuple[str, float]] = {}  # scope -> (Authorization value, expires)
        self._basic_ok = False  # the registry asked for Basic once: send it up front from then on
        self.requests = 0
        self.page_size = TAGS_PAGE

    def __repr__(self) -> str:
        return f"Client({self.base!r})"

    # --- requests ----------------------------------------------------------------------------

    def _basic(self) -> str:
        import base64

        creds = self.credentials
        if creds is None or not creds.has_basic:
            return ""
        token = base64.b64encode(f"{creds.username}:{creds.password}".encode()).decode()
        redact.register(token)
        return f"Basic {token}"

    def _authorization(self, scope: str) -> str:
        with self._lock:
            found = self._tokens.get(scope)
            if found is not None and found[1] > time.monotonic():
                return found[0]
            basic_ok = self._basic_ok
        return self._basic() if basic_ok else ""

    def _open(self, url: str, *, accept: str, authorization: str, limit: int) -> tuple[bytes, Message]:
        request = urllib.request.Request(url, headers={"User-Agent": chartfetch.USER_AGENT})
        if accept:
            request.add_header("Accept", accept)
        if authorization:
            # Unredirected: a blob may redirect to storage on another host, which must not get it.
            request.add_unredirected_header("Authorization", authorization)
        with self._lock:
            self.requests += 1
        started = time.monotonic()
        with self._opener.open(request, timeout=self.timeout) as response:
            body = chartfetch.read_body(
                response, limit=limit, deadline=self.deadline, started=started, shown=redact.safe_url(url)
            )
            return body, response.headers

    def get(
        self,
        path: str,
        *,
        scope: str,
        accept: str = "",
        limit: int,
        missing: type[chartfetch.ChartError] = chartfetch.RepoRefusedError,
        what: str = "",
    ) -> tuple[bytes, Message, str]:
        """GET ``path`` (relative to the registry, or absolute), answering one authentication
        challenge; returns (body, headers, the URL asked for). A 404 raises ``missing`` (saying
        ``what`` is not there)."""
        url = path if "://" in path else self.base + path
        shown = redact.safe_url(url)
        for attempt in (1, 2):
            try:
                body, headers = self._open(
                    url, accept=accept, authorization=self._authorization(scope), limit=limit
                )
                return body, headers, url
            except urllib.error.HTTPError as exc:
                if exc.code == 401 and attempt == 1:
                    self._answer(exc.headers.get("WWW-Authenticate", ""), scope=scope, shown=shown)
                    continue
                status = exc.code
                if status == 404 and what:
                    raise _failure(missing, f"the registry has no {what} (GET {shown}: HTTP 404)") from None
                if status == 401:
                    detail = f"GET {shown}: HTTP 401 (the credentials were refused)"
                    raise _failure(chartfetch.RepoRefusedError, detail) from None
                kind = (
                    chartfetch.RepoUnreachableError
                    if status in (408, 429) or status >= 500
                    else chartfetch.RepoRefusedError
                )
                raise _failure(kind, f"GET {shown}: HTTP {status}") from None
            except urllib.error.URLError as exc:
                detail = f"GET {shown}: {chartfetch.describe(exc.reason)}"
                if "WRONG_VERSION_NUMBER" in str(exc.reason).upper():
                    detail += (
                        ' (the registry may speak plain HTTP: set insecureOCIForceHttp: "true" in its '
                        "repository Secret)"
                    )
                raise _failure(chartfetch.RepoUnreachableError, detail) from None
            except OSError as exc:
                detail = f"GET {shown}: {chartfetch.describe(exc)}"
                raise _failure(chartfetch.RepoUnreachableError, detail) from None
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    def _answer(self, header: str, *, scope: str, shown: str) -> None:
        """Prepare the Authorization the registry's 401 challenge asks for."""
        scheme, params = _challenge(header)
        if scheme == "basic":
            if not self._basic():
                raise _failure(
                    chartfetch.RepoRefusedError,
                    f"GET {shown}: HTTP 401: the registry needs credentials and none are configured for it "
                    "(a repository Secret or repo-creds template)",
                )
            with self._lock:
                self._basic_ok = True
            return
        if scheme != "bearer" or not params.get("realm"):
            raise _failure(chartfetch.RepoRefusedError, f"GET {shown}: HTTP 401 without a usable challenge")
        realm = params["realm"]
        realm_scheme = urlsplit(realm).scheme.lower()
        insecure_ok = self.base.startswith("http://") or not self._basic()
        if realm_scheme != "https" and not (realm_scheme == "http" and insecure_ok):
            # The credentials would travel in clear to the token service.
            raise _failure(
                chartfetch.RepoRefusedError,
                f"GET {shown}: the token realm {redact.safe_url(realm)} is not https: refusing to send it credentials",
            )
        query = {"service": params.get("service", "")} if params.get("service") else {}
        query["scope"] = params.get("scope") or scope
        token_url = realm + ("&" if "?" in realm else "?") + urlencode(query)
        try:
            body, _ = self._open(
                token_url, accept="application/json", authorization=self._basic(), limit=1 << 20
            )
        except urllib.error.HTTPError as exc:
            kind = (
                chartfetch.RepoUnreachableError
                if exc.code >= 500 or exc.code == 429
                else chartfetch.RepoRefusedError
            )
            detail = f"token request to {redact.safe_url(realm)}: HTTP {exc.code}"
            raise _failure(
                kind, detail + (" (the credentials were refused)" if exc.code == 401 else "")
            ) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
            detail = f"token request to {redact.safe_url(realm)}: {chartfetch.describe(reason)}"
            raise _failure(chartfetch.RepoUnreachableError, detail) from None
        try:
            answer = json.loads(body)
            token = str(answer.get("token") or answer.get("access_token") or "")
            ttl = float(answer.get("expires_in") or TOKEN_TTL)
        except (ValueError, AttributeError, TypeError):
            token, ttl = "", 0.0
        if not token:
            raise _failure(
                chartfetch.RepoRefusedError,
                f"token request to {redact.safe_url(realm)}: no token in the answer",
            )
        redact.register(token)
        with self._lock:
            # Renew a little early so a request never carries a token about to expire.
            self._tokens[scope] = (f"Bearer {token}", time.monotonic() + max(ttl - 5.0, 1.0))

    # --- the distribution API ---------------------------------------------------------------

    def tags(self, repository: str) -> list[str]:
        """Every tag of ``repository``, following ``Link: <...>; rel="next"`` pages."""
        scope = f"repository:{repository}:pull"
        path = f"/v2/{repository}/tags/list?n={self.page_size}"
        found: list[str] = []
        for _ in range(MAX_TAG_PAGES):
            body, headers, url = self.get(
                path,
                scope=scope,
                accept="application/json",
                limit=MAX_TAGS_BYTES,
                missing=chartfetch.ChartNotFoundError,
                what=f"repository {repository}",
            )
            try:
                page = json.loads(body)
                tags = page.get("tags") or []
            except (ValueError, AttributeError):
                raise _failure(
                    chartfetch.RepoRefusedError, f"{redact.safe_url(url)} did not answer a JSON tag list"
                ) from None
            found.extend(str(t) for t in tags if isinstance(t, str))
            link = _LINK.search(headers.get("Link", "") or "")
            if not link:
                return found
            path = urljoin(url, link.group(1))
            if urlsplit(path).netloc != urlsplit(self.base).netloc:
                raise _failure(chartfetch.RepoRefusedError, "the tag list's next page is on another host")
        raise _failure(chartfetch.RepoRefusedError, f"more than {MAX_TAG_PAGES} pages of tags")

    def manifest(self, repository: str, reference: str, *, pinned: str = "") -> Manifest:
        """The chart manifest at a tag or digest, its digest checked."""
        scope = f"repository:{repository}:pull"
        accept = f"{OCI_MANIFEST}, {DOCKER_MANIFEST}, {OCI_INDEX}, {DOCKER_LIST}"
        body, headers, url = self.get(
            f"/v2/{repository}/manifests/{reference}",
            scope=scope,
            accept=accept,
            limit=MAX_MANIFEST_BYTES,
            missing=chartfetch.VersionNotFoundError,
            what=f"manifest {reference} in {repository}",
        )
        digest = "sha256:" + hashlib.sha256(body).hexdigest()
        announced = (headers.get("Docker-Content-Digest") or "").strip()
        expected = pinned or (reference if reference.startswith("sha256:") else "")
        if expected and digest != expected:
            raise _failure(
                chartfetch.DigestMismatchError,
                f"the manifest of {reference} has digest {digest}, not the pinned {expected}: refusing it",
            )
        if announced.startswith("sha256:") and announced != digest:
            raise _failure(
                chartfetch.DigestMismatchError,
                f"the manifest of {reference} has digest {digest}, but the registry says {announced}: refusing it",
            )
        try:
            data = json.loads(body)
            media = str(data.get("mediaType") or headers.get_content_type() or "")
            config = data.get("config") or {}
            layers = data.get("layers") or []
        except (ValueError, AttributeError):
            raise _failure(
                chartfetch.RepoRefusedError, f"{redact.safe_url(url)} is not a JSON manifest"
            ) from None
        if media in (OCI_INDEX, DOCKER_LIST) or "manifests" in data:
            raise _failure(chartfetch.RepoRefusedError, f"{reference} is an image index, not a Helm chart")
        config_type = str(config.get("mediaType") or "") if isinstance(config, dict) else ""
        if config_type != HELM_CONFIG:
            raise _failure(
                chartfetch.RepoRefusedError,
                f"{reference} is not a Helm chart (config media type {config_type or 'none'!r}, not {HELM_CONFIG})",
            )
        chart_layers = [
            layer
            for layer in layers
            if isinstance(layer, dict) and layer.get("mediaType") in (HELM_LAYER, LEGACY_HELM_LAYER)
        ]
        if len(chart_layers) != 1:
            raise _failure(
                chartfetch.RepoRefusedError,
                f"{reference} has {len(chart_layers)} chart layers ({HELM_LAYER}); a Helm chart has one",
            )
        layer = chart_layers[0]
        layer_digest = str(layer.get("digest") or "")
        try:
            size = int(layer.get("size", -1))  # absent: no size, refused below
        except (TypeError, ValueError):
            size = -1
        if not _DIGEST.match(layer_digest) or size < 0:
            raise _failure(
                chartfetch.RepoRefusedError, f"{reference}: the chart layer has no sha256 digest or size"
            )
        if size > chartfetch.MAX_CHART_BYTES:
            raise _failure(
                chartfetch.UnsafeChartError,
                f"the chart is {size} bytes, over Helm's {chartfetch.MAX_CHART_BYTES}",
            )
        return Manifest(digest=digest, layer_digest=layer_digest, layer_size=size)

    def blob(self, repository: str, digest: str, *, size: int) -> bytes:
        """A blob, checked against its digest and size."""
        body, _, url = self.get(
            f"/v2/{repository}/blobs/{digest}",
            scope=f"repository:{repository}:pull",
            limit=min(size, chartfetch.MAX_CHART_BYTES),
        )
        actual = "sha256:" + hashlib.sha256(body).hexdigest()
        if actual != digest or len(body) != size:
            raise _failure(
                chartfetch.DigestMismatchError,
                f"the chart layer from {redact.safe_url(url)} has digest {actual} ({len(body)} bytes), but the "
                f"manifest says {digest} ({size} bytes): refusing it",
            )
        return body


def tag_of(version: str) -> str:
    """The tag Helm pushes a version under (``+`` is not allowed in tags)."""
    return version.replace("+", "_")


def version_of(tag: str) -> str:
    """The version a tag stands for (Argo CD and Helm read ``_`` back as ``+``)."""
    return tag.replace("_", "+")


def versions(tags: list[str]) -> Mapping[str, str]:
    """{version: tag} for the tags of a chart repository."""
    return {version_of(tag): tag for tag in tags}


__all__ = [
    "HELM_CONFIG",
    "HELM_LAYER",
    "SCHEME",
    "Client",
    "Manifest",
    "Reference",
    "Revision",
    "is_oci",
    "parse_reference",
    "parse_revision",
    "tag_of",
    "version_of",
    "versions",
]
