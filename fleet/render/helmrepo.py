"""Charts from Helm repositories (``spec.source.chart``): pick the version, download, unpack.

Where it sits: on the driver, before rendering. ``fleet.driver.sources.Checkouts`` asks the run's
``ChartFetcher`` for ``(repoURL, chart, targetRevision)``; the chart directory it returns is handed
to ``render.render_source`` as the source directory (as a git checkout is for a ``path`` source),
and the resolved chart version becomes the Application's revision (Argo CD shows it there too).

1. index: ``<repoURL>/index.yaml``, fetched at most once per repository per run; a failure is
   remembered for the run too, so 200 Applications on an unreachable repository wait for one
   timeout, not 200;
2. version: ``targetRevision`` is an exact version or a Masterminds semver constraint (``6.5.*``,
   ``>=1.2 <2``, ``^1.4``, ``*``; empty means ``*``). An exact match of a listed version wins;
   otherwise the highest version satisfying the constraint, where a pre-release counts only if
   the constraint itself names one (``>=1.0.0-0``), as in Helm and Argo CD;
3. download: the entry's first URL (relative URLs are relative to the repository), checked
   against the index's sha256 ``digest`` when the index gives one; once per (repository, chart,
   version) per run;
4. unpack: regular files and directories only, under one top-level directory, no absolute paths
   or ``..``, within Helm's size limits, into ``$FLEET_CACHE_DIR/helm/charts/`` under a key of
   (repository, chart, version, digest), renamed into place whole: a later run or another process
   reuses it without downloading again.

Credentials in the URL (``https://user:pass@host/charts``) are sent as basic auth to that
repository's own scheme, host and port only (a chart URL on another host gets none, as in Helm
without ``--pass-credentials``). They are registered with ``fleet.redact`` and are never part of a
cache key, a file on disk, a log line or an error message. A repository whose URL carries none
gets them from Argo CD repository Secrets and templates (``fleet.repocreds``): username and
password as basic auth, a client certificate, the CAs of ``argocd-tls-certs-cm`` for its host,
and ``insecure``.

Charts from OCI registries (``oci://``, or a repoURL without a scheme) are resolved by
``fleet.render.ocichart`` and kept in the same cache, unpacked the same way.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import gzip
import hashlib
import http.client
import io
import json
import os
import re
import shutil
import tarfile
import tempfile
import threading
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, TypeVar
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

import yaml

from fleet import errors, log, redact, render, repocreds
from fleet.gotemplate import semver
from fleet.gotemplate.errors import FuncError
from fleet.render import chartfetch, ocichart

# The errors of a chart fetch and the HTTP limits live in fleet.render.chartfetch, below this
# module and fleet.render.ocichart (which raise them alike); callers know them by these names.
from fleet.render.chartfetch import (
    DEFAULT_DEADLINE,
    DEFAULT_TIMEOUT,
    MAX_CHART_BYTES,
    USER_AGENT,
    ChartError,
    ChartNotFoundError,
    DigestMismatchError,
    RepoRefusedError,
    RepoUnreachableError,
    UnsafeChartError,
    VersionNotFoundError,
)

_log = log.get_logger(__name__)

CACHE_ENV = "FLEET_CACHE_DIR"
MAX_INDEX_BYTES = 256 << 20  # the largest public indexes are tens of MiB
# Helm's own limit for one file of a chart archive (`--max-chart-file-size`; the archive's,
# MAX_CHART_BYTES, lives in fleet.render.chartfetch with what OCI charts share).
MAX_FILE_BYTES = 5 << 20
MAX_ENTRIES = 10_000
_CHART_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*\Z")
_SHA256 = re.compile(r"[0-9a-f]{64}\Z")


# --- URLs and credentials ---------------------------------------------------------------------


def repo_key(url: str) -> str:
    """The identity of a repository: scheme and host lower-cased, no credentials, no trailing '/'."""
    parts = urlsplit(redact.safe_url(url.strip()))
    host = (parts.hostname or "").lower() + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme.lower(), host, parts.path.rstrip("/"), parts.query, ""))


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme.lower())
    return parts.scheme.lower(), (parts.hostname or "").lower(), parts.port or default


@dataclass(frozen=True, slots=True)
class _Credentials:
    """Basic auth from the repository URL, for requests to that repository's origin only."""

    origin: tuple[str, str, int | None]
    header: str

    def __repr__(self) -> str:  # never print the header
        return f"_Credentials(origin={self.origin!r})"

    @classmethod
    def from_url(cls, url: str) -> _Credentials | None:
        parts = urlsplit(url)
        if not (parts.username or parts.password):
            return None
        return cls.basic(url, unquote(parts.username or ""), unquote(parts.password or ""))

    @classmethod
    def basic(cls, url: str, user: str, password: str) -> _Credentials:
        redact.register(password)
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        redact.register(token)
        return cls(_origin(url), f"Basic {token}")

    def applies_to(self, url: str) -> bool:
        return _origin(url) == self.origin


def index_url(repo_url: str) -> str:
    """Where a repository's index is: ``<repoURL>/index.yaml`` (query kept, as Helm does)."""
    parts = urlsplit(redact.safe_url(repo_url))
    path = parts.path.rstrip("/") + "/index.yaml"
    return urlunsplit((parts.scheme.lower(), parts.netloc, path, parts.query, ""))


def chart_url(repo_url: str, listed: str) -> str:
    """An index entry's URL: absolute as it is, else relative to the repository (Helm's
    ResolveReferenceURL: the repository path gets a trailing '/', its query is kept)."""
    if urlsplit(listed).scheme:
        return listed
    base = urlsplit(redact.safe_url(repo_url))
    base = base._replace(scheme=base.scheme.lower())
    directory = urlunsplit((base.scheme, base.netloc, base.path.rstrip("/") + "/", "", ""))
    joined = urlsplit(urljoin(directory, listed))
    return urlunsplit((joined.scheme, joined.netloc, joined.path, base.query or joined.query, ""))


# --- checking the source ------------------------------------------------------------------------


def check_source(
    repo_url: str, chart: str, constraint: str, *, app: str = "", where: str = "spec.source"
) -> None:
    """Refuse what cannot be fetched before any request: a ``render.RenderError`` (an InputError)
    naming the Application and the field."""
    if ocichart.is_oci(repo_url, chart):
        reference = ocichart.parse_reference(repo_url, chart, app=app, where=where)
        ocichart.parse_revision(constraint, chart=reference.chart, app=app, where=where)
        return
    scheme = urlsplit(repo_url).scheme.lower() if "://" in repo_url else ""
    shown = redact.safe_url(repo_url)
    if scheme not in ("http", "https"):
        raise render.RenderError(
            f"repoURL {shown!r} of chart {chart!r} is neither an http(s) Helm repository nor an OCI registry",
            app=app,
            path=chart,
            field=f"{where}.repoURL",
        )
    try:
        host = urlsplit(repo_url).hostname
        urlsplit(repo_url).port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        host = None
    if not host:
        raise render.RenderError(
            f"repoURL {shown!r} of chart {chart!r} is not a valid URL",
            app=app,
            path=chart,
            field=f"{where}.repoURL",
        )
    if not _CHART_NAME.match(chart):
        raise render.RenderError(
            f"chart name {chart!r} is not a Helm chart name (letters, digits, '.', '_', '-')",
            app=app,
            path=chart,
            field=f"{where}.chart",
        )
    try:
        semver.check(constraint.strip() or "*", "0.0.0")
    except FuncError as exc:
        raise render.RenderError(
            f"targetRevision {constraint!r} of chart {chart!r} is neither a version nor a semver "
            f"constraint ({exc})",
            app=app,
            path=chart,
            field=f"{where}.targetRevision",
        ) from None


# --- versions ---------------------------------------------------------------------------------


def _by_version(a: tuple[semver.Version, str], b: tuple[semver.Version, str]) -> int:
    return a[0].compare(b[0])


def select_version(versions: Iterable[str], constraint: str) -> str | None:
    """The version ``targetRevision`` picks from ``versions``, or None.

    An exact match of a listed version wins (Helm's IndexFile.Get); otherwise the highest
    version satisfying the constraint (Argo CD's MaxVersion), pre-releases only when the
    constraint names one. Versions that are not semver are skipped, as Helm does. Raises
    ``FuncError`` for a constraint that does not parse.
    """
    listed = list(versions)
    wanted = constraint.strip()
    if wanted and wanted in listed:
        return wanted
    wanted = wanted or "*"
    semver.check(wanted, "0.0.0")  # a bad constraint fails even when no version parses
    parsed: list[tuple[semver.Version, str]] = []
    for text in listed:
        try:
            parsed.append((semver.parse_version(text), text))
        except FuncError:
            continue
    parsed.sort(key=functools.cmp_to_key(_by_version), reverse=True)
    for _, text in parsed:
        if semver.check(wanted, text):
            return text
    return None


# --- the index ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChartVersion:
    """One entry of a repository index."""

    name: str
    version: str
    urls: tuple[str, ...]
    digest: str  # lower-case sha256 hex, or "" when the index gives none


@dataclass(frozen=True, slots=True)
class RepoIndex:
    url: str  # the repository, without credentials
    entries: Mapping[str, tuple[ChartVersion, ...]]


# BaseLoader keeps every scalar a string, as Helm's typed Go structs read them ("1.10" stays "1.10").
_IndexLoader: type = getattr(yaml, "CBaseLoader", yaml.BaseLoader)
_FIELDS = frozenset({"version", "urls", "digest"})
_NULL = ("", "null", "Null", "NULL", "~")
Events = Iterator[yaml.Event]


def _skip(events: Events, first: yaml.Event) -> None:
    """Consume the value that starts with ``first``."""
    if not isinstance(first, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
        return
    depth = 1
    for event in events:
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1
            if depth == 0:
                return


def _pairs(events: Events) -> Iterator[tuple[str | None, yaml.Event]]:
    """(key, first event of its value) of the mapping being read; the caller consumes each value."""
    for key in events:
        if isinstance(key, yaml.MappingEndEvent):
            return
        if not isinstance(key, yaml.ScalarEvent):
            _skip(events, key)
            yield None, next(events)
            continue
        yield key.value, next(events)


def _plain(events: Events, first: yaml.Event) -> Any:
    """The value that starts with ``first``, built whole (scalars are strings; aliases are None)."""
    if isinstance(first, yaml.ScalarEvent):
        return first.value
    if isinstance(first, yaml.SequenceStartEvent):
        items: list[Any] = []
        for event in events:
            if isinstance(event, yaml.SequenceEndEvent):
                return items
            items.append(_plain(events, event))
    if isinstance(first, yaml.MappingStartEvent):
        return {key: _plain(events, value) for key, value in _pairs(events)}
    return None


def _index_entries(text: bytes) -> dict[str, list[dict[str, Any]]] | None:
    """``entries`` of an index, each version with only its version, urls and digest.

    Written over the parser's events rather than ``yaml.load``: building every field of every
    entry (descriptions, maintainers, keywords) makes large public indexes 5-10 times slower.
    """
    events = iter(yaml.parse(text, Loader=_IndexLoader))
    preamble = (yaml.StreamStartEvent, yaml.DocumentStartEvent)
    root = next((event for event in events if not isinstance(event, preamble)), None)
    if not isinstance(root, yaml.MappingStartEvent):
        return None
    entries: dict[str, list[dict[str, Any]]] | None = None
    for key, value in _pairs(events):
        if key != "entries":
            _skip(events, value)
        elif isinstance(value, yaml.ScalarEvent) and value.value in _NULL:
            entries = {}
        elif not isinstance(value, yaml.MappingStartEvent):
            return None
        else:
            entries = {}
            for name, listed in _pairs(events):
                if name is None or not isinstance(listed, yaml.SequenceStartEvent):
                    _skip(events, listed)
                    continue
                versions = entries.setdefault(name, [])
                for item in events:
                    if isinstance(item, yaml.SequenceEndEvent):
                        break
                    if not isinstance(item, yaml.MappingStartEvent):
                        _skip(events, item)
                        continue
                    fields = {}
                    for field, first in _pairs(events):
                        if field in _FIELDS:
                            fields[field] = _plain(events, first)
                        else:
                            _skip(events, first)
                    versions.append(fields)
    return entries


def _json_entries(text: bytes) -> dict[str, list[dict[str, Any]]] | None:
    """``entries`` of an index written as JSON (``helm repo index --json``), or None if it is not JSON."""
    try:
        data = json.loads(text)
    except ValueError:
        return None
    entries = data.get("entries") if isinstance(data, dict) else None
    if entries is None and isinstance(data, dict) and "entries" in data:
        return {}
    if not isinstance(entries, dict):
        return None
    # Scalars as strings, as the YAML reading gives them.
    return {
        str(name): [
            {k: (v if isinstance(v, (str, list)) else json.dumps(v)) for k, v in item.items() if k in _FIELDS}
            if isinstance(item, dict)
            else {}
            for item in listed
        ]
        for name, listed in entries.items()
        if isinstance(listed, list)
    }


def parse_index(text: bytes, *, url: str) -> RepoIndex:
    """Read ``index.yaml`` (YAML or JSON). Entries without a version are skipped, as Helm does."""
    try:
        # JSON is YAML too, but json.loads reads it ten times faster than any YAML parser.
        found = _json_entries(text) if text.lstrip()[:1] == b"{" else None
        if found is None:
            found = _index_entries(text)
    except yaml.YAMLError as exc:
        detail = f"{index_url(url)} is not valid YAML ({type(exc).__name__})"
        raise chartfetch.Failure(RepoRefusedError, detail) from None
    if found is None:
        raise chartfetch.Failure(
            RepoRefusedError, f"{index_url(url)} is not a Helm repository index (no entries map)"
        )
    entries: dict[str, tuple[ChartVersion, ...]] = {}
    for name, listed in found.items():
        versions = []
        for item in listed:
            version, urls, digest = item.get("version"), item.get("urls"), item.get("digest")
            if not isinstance(version, str) or version in _NULL:
                continue
            digest = digest.strip().lower().removeprefix("sha256:") if isinstance(digest, str) else ""
            versions.append(
                ChartVersion(
                    name=name,
                    version=version,
                    urls=tuple(u for u in urls if isinstance(u, str) and u) if isinstance(urls, list) else (),
                    digest="" if digest in _NULL else digest,
                )
            )
        entries[name] = tuple(versions)
    return RepoIndex(url=redact.safe_url(url), entries=entries)


# --- HTTP -------------------------------------------------------------------------------------


_opener = urllib.request.build_opener(chartfetch.HttpOnlyRedirects)


def _http_get(
    url: str,
    *,
    credentials: _Credentials | None,
    timeout: float,
    deadline: float,
    limit: int,
    opener: urllib.request.OpenerDirector | None = None,
) -> bytes:
    """GET ``url`` (http or https) with a per-read timeout, a deadline and a size limit.

    Written with urllib rather than helm_python.repo_index/pull: those take no timeout or
    cancellation (a hung repository would hold a render thread for good), pull reads the index
    again for every chart and does not check the index digest, and their errors cannot be told
    apart (unreachable or not found) except by their text.
    """
    shown = redact.safe_url(url)
    if urlsplit(url).scheme.lower() not in ("http", "https"):
        raise chartfetch.Failure(RepoRefusedError, f"{shown} is not an http(s) URL")
    request = urllib.request.Request(redact.safe_url(url), headers={"User-Agent": USER_AGENT})
    if credentials is not None and credentials.applies_to(url):
        # Unredirected: urllib copies ordinary headers to wherever a redirect points.
        request.add_unredirected_header("Authorization", credentials.header)
    started = time.monotonic()
    try:
        with (opener or _opener).open(request, timeout=timeout) as response:
            return chartfetch.read_body(
                response, limit=limit, deadline=deadline, started=started, shown=shown
            )
    except urllib.error.HTTPError as exc:
        status = exc.code
        kind = RepoUnreachableError if status in (408, 429) or status >= 500 else RepoRefusedError
        raise chartfetch.Failure(kind, f"GET {shown}: HTTP {status}") from None
    except urllib.error.URLError as exc:
        raise chartfetch.Failure(
            RepoUnreachableError, f"GET {shown}: {chartfetch.describe(exc.reason)}"
        ) from None
    except (OSError, http.client.HTTPException) as exc:
        raise chartfetch.Failure(RepoUnreachableError, f"GET {shown}: {chartfetch.describe(exc)}") from None


# --- unpacking --------------------------------------------------------------------------------


def _unsafe(detail: str) -> chartfetch.Failure:
    return chartfetch.Failure(UnsafeChartError, detail)


def _member_parts(name: str) -> tuple[str, ...]:
    parts = tuple(p for p in PurePosixPath(name).parts if p not in ("", "."))
    if name.startswith("/") or "\x00" in name or not parts or ".." in parts:
        raise _unsafe(f"the archive holds {name!r}, a path outside the chart: refusing it")
    return parts


def _unpack(data: bytes, dest: Path) -> Path:
    """Unpack a chart archive into ``dest``; returns the chart directory (``dest/<top>``).

    Written by hand rather than ``tarfile.extractall(filter="data")``: the data filter still
    writes links inside the destination, and Helm's size limits must hold while reading, before
    a gzip bomb is inflated.
    """
    top = ""
    total = 0
    count = 0
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
            for member in archive:
                count += 1
                if count > MAX_ENTRIES:
                    raise _unsafe(f"the archive has more than {MAX_ENTRIES} entries")
                parts = _member_parts(member.name)
                if top and parts[0] != top:
                    raise _unsafe(f"the archive has more than one top-level directory: {top!r}, {parts[0]!r}")
                top = parts[0]
                if member.isdir():
                    dest.joinpath(*parts).mkdir(parents=True, exist_ok=True)
                    continue
                if not member.isfile():
                    kind = "link" if member.issym() or member.islnk() else "special file"
                    raise _unsafe(
                        f"the archive holds {member.name!r}, a {kind}: only files and directories are allowed"
                    )
                if len(parts) < 2:
                    raise _unsafe(f"the archive holds {member.name!r} outside a top-level chart directory")
                if member.size > MAX_FILE_BYTES:
                    raise _unsafe(f"{member.name!r} is larger than {MAX_FILE_BYTES} bytes (Helm's limit)")
                total += member.size
                if total > MAX_CHART_BYTES:
                    raise _unsafe(f"the chart is larger than {MAX_CHART_BYTES} bytes unpacked (Helm's limit)")
                source = archive.extractfile(member)
                content = source.read(MAX_FILE_BYTES + 1) if source is not None else b""
                target = dest.joinpath(*parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(content)
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise _unsafe(f"not a readable chart archive ({type(exc).__name__})") from None
    chart = dest / top if top else dest
    if not top or not (chart / "Chart.yaml").is_file():
        raise _unsafe("the archive has no Chart.yaml in its top-level directory")
    return chart


# --- the run's fetcher --------------------------------------------------------------------------


def cache_root() -> Path:
    """``$FLEET_CACHE_DIR/helm``, or ``~/.cache/fleet/helm``."""
    base = os.environ.get(CACHE_ENV)
    return Path(base) / "helm" if base else Path.home() / ".cache" / "fleet" / "helm"


@dataclass(frozen=True, slots=True)
class FetchedChart:
    """A chart ready to render."""

    path: Path  # the unpacked chart directory (holds Chart.yaml)
    name: str
    version: str  # as the index lists it: the Application's revision
    digest: str  # the index's sha256 of the archive ("" when it gives none)
    repo_url: str  # without credentials (``oci://registry/repository`` for an OCI chart)
    downloaded: bool  # False: served from the cache directory
    manifest_digest: str = ""  # an OCI chart's manifest digest ("sha256:..."); "" for HTTP repositories


_MARKER = ".fleet-chart.json"
T = TypeVar("T")


class ChartFetcher:
    """One run's view of Helm repositories (thread-safe: the render threads share it).

    Each repository's index is read at most once, and each (repository, chart, version) fetched
    at most once, per fetcher; failures are remembered the same way. Make one per run so a new
    run sees versions published since.

    Parameters:
        cache_dir: where unpacked charts are kept (default ``cache_root()``).
        timeout: seconds for connecting and for each read.
        deadline: seconds for one whole download.
        credentials: Argo CD repository Secrets, templates and CAs (``fleet.repocreds``) for
            repositories and registries whose URL carries no credentials.

    ``index_requests`` and ``downloads`` count this fetcher's requests for indexes and archives
    (OCI chart layers count as downloads); ``registry_requests`` counts requests to OCI registries.
    """

    def __init__(
        self,
        *,
        cache_dir: Path | str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        deadline: float = DEFAULT_DEADLINE,
        credentials: repocreds.RepoCredentials | None = None,
    ) -> None:
        self.cache_dir = Path(cache_dir) if cache_dir is not None else cache_root()
        self.timeout = timeout
        self.deadline = deadline
        self.credentials = credentials
        self._lock = threading.Lock()
        self._locks: dict[tuple[str, ...], threading.Lock] = {}
        self._done: dict[tuple[str, ...], Any] = {}
        self._clients: dict[tuple[str, str, bool], ocichart.Client] = {}  # (registry, who, plain http)
        self._openers: dict[str, urllib.request.OpenerDirector] = {}
        self.index_requests = 0
        self.downloads = 0

    @property
    def registry_requests(self) -> int:
        with self._lock:
            return sum(client.requests for client in self._clients.values())

    def _once(self, key: tuple[str, ...], compute: Callable[[], T]) -> T | chartfetch.Failure:
        with self._lock:
            if key in self._done:
                return self._done[key]
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            with self._lock:
                if key in self._done:
                    return self._done[key]
            value: T | chartfetch.Failure
            try:
                value = compute()
            except chartfetch.Failure as failure:
                value = failure
            with self._lock:
                self._done[key] = value
            return value

    def fetch(
        self, repo_url: str, chart: str, target_revision: str, *, app: str = "", where: str = "spec.source"
    ) -> FetchedChart:
        """The chart ``targetRevision`` selects, unpacked.

        Raises ``render.RenderError`` for a source that cannot be fetched at all (neither http(s)
        nor OCI, a bad chart name or constraint) and a ``ChartError`` subclass for what the
        repository did. An OCI source (``fleet.render.ocichart.is_oci``) may leave ``chart`` empty
        when its ``oci://`` URL names the chart.
        """
        check_source(repo_url, chart, target_revision, app=app, where=where)
        if ocichart.is_oci(repo_url, chart):
            return self._fetch_oci(repo_url, chart, target_revision, app=app, where=where)
        context = {"repo_url": repo_url, "chart": chart, "constraint": target_revision, "app": app}
        found = self._lookup(repo_url, context)
        if found is not None and found.enable_oci:
            # Argo CD's enableOCI: an http(s) repoURL of such a repository names an OCI registry.
            scheme, _, rest = redact.safe_url(repo_url).partition("://")
            return self._fetch_oci(
                rest,
                chart,
                target_revision,
                app=app,
                where=where,
                plain_http=scheme.lower() == "http",
                found=found,
            )
        credentials = _Credentials.from_url(repo_url)
        if credentials is None and found is not None and found.has_basic:
            credentials = _Credentials.basic(repo_url, found.username, found.password)
        # In memory only: other credentials for the same repository may be answered differently.
        who = (
            hashlib.sha256(
                ((credentials.header if credentials else "") + (found.identity() if found else "")).encode()
            ).hexdigest()
            if (credentials or found)
            else ""
        )
        try:
            opener = self._opener(found, who) if found is not None else None
        except errors.FleetError as exc:  # an unusable client certificate or CA
            raise RepoRefusedError(redact.mask(str(exc)), **context) from None
        key = repo_key(repo_url)
        index = self._once(("index", key, who), lambda: self._read_index(repo_url, credentials, opener))
        if isinstance(index, chartfetch.Failure):
            raise index.error(**context)
        entries = index.entries.get(chart)
        if not entries:
            known = ", ".join(sorted(index.entries)[:10]) or "none"
            detail = f"the repository's index has no chart of that name (it has: {known})"
            raise ChartNotFoundError(detail, **context)
        version = select_version((e.version for e in entries), target_revision)
        if version is None:
            listed = ", ".join(e.version for e in entries[:10]) + (", ..." if len(entries) > 10 else "")
            raise VersionNotFoundError(f"no version satisfies it (the index has {listed})", **context)
        entry = next(e for e in entries if e.version == version)
        got = self._once(
            ("chart", key, who, chart, version),
            lambda: self._materialize(repo_url, entry, credentials, opener),
        )
        if isinstance(got, chartfetch.Failure):
            raise got.error(**context)
        return got

    def _lookup(self, repo_url: str, context: dict[str, str]) -> repocreds.Credentials | None:
        """The repository's credentials from Argo CD Secrets (a ChartError when they cannot be used)."""
        if not self.credentials:
            return None
        try:
            return self.credentials.lookup(repo_url)
        except errors.FleetError as exc:  # unsupported fields, or a reference that did not resolve
            kind = RepoUnreachableError if exc.retryable else RepoRefusedError
            raise kind(redact.mask(str(exc)), **context) from None

    def _opener(self, found: repocreds.Credentials, who: str) -> urllib.request.OpenerDirector:
        with self._lock:
            opener = self._openers.get(who)
        if opener is None:
            opener = urllib.request.build_opener(
                chartfetch.HttpOnlyRedirects, urllib.request.HTTPSHandler(context=found.ssl_context())
            )
            with self._lock:
                self._openers[who] = opener
        return opener

    def _fetch_oci(
        self,
        repo_url: str,
        chart: str,
        target_revision: str,
        *,
        app: str,
        where: str,
        plain_http: bool = False,
        found: repocreds.Credentials | None = None,
    ) -> FetchedChart:
        """An OCI chart: version from the tags (or a pinned digest), manifest, chart layer."""
        ref = ocichart.parse_reference(repo_url, chart, app=app, where=where)
        revision = ocichart.parse_revision(target_revision, chart=ref.chart, app=app, where=where)
        context = {"repo_url": ref.url, "chart": ref.chart, "constraint": target_revision, "app": app}
        # Argo CD looks the source's repoURL up (the registry path, or the oci:// URL with the chart).
        if found is None:
            found = self._lookup(repo_url, context)
        if found is None and chart:
            found = self._lookup(ref.url, context)
        plain_http = plain_http or bool(found and found.insecure_oci_force_http)
        who = found.identity() if found is not None else ""
        with self._lock:
            client = self._clients.get((ref.registry, who, plain_http))
        if client is None:
            try:
                client = ocichart.Client(
                    ref.registry,
                    credentials=found,
                    plain_http=plain_http,
                    timeout=self.timeout,
                    deadline=self.deadline,
                )
            except errors.FleetError as exc:  # an unusable client certificate or CA
                raise RepoRefusedError(redact.mask(str(exc)), **context) from None
            with self._lock:
                client = self._clients.setdefault((ref.registry, who, plain_http), client)
        key = repo_key(ref.url)
        version = revision.version
        if revision.digest:
            reference = revision.digest
        elif revision.exact:
            reference = ocichart.tag_of(version)
        else:
            tags = self._once(("oci-tags", key, who), lambda: client.tags(ref.repository))
            if isinstance(tags, chartfetch.Failure):
                raise tags.error(**context)
            by_version = ocichart.versions(tags)
            picked = select_version(by_version, version)
            if picked is None:
                listed = sorted(by_version)
                shown = ", ".join(listed[:10]) + (", ..." if len(listed) > 10 else "")
                raise VersionNotFoundError(
                    f"no tag satisfies it (the repository has {shown or 'no tags'})", **context
                )
            version, reference = picked, by_version[picked]
        manifest = self._once(
            ("oci-manifest", key, who, reference),
            lambda: client.manifest(ref.repository, reference, pinned=revision.digest),
        )
        if isinstance(manifest, chartfetch.Failure):
            raise manifest.error(**context)
        entry = ChartVersion(
            name=ref.chart,
            version=version or revision.digest,
            urls=(),
            digest=manifest.layer_digest.removeprefix("sha256:"),
        )
        got = self._once(
            ("chart", key, who, entry.name, entry.version, entry.digest),
            lambda: self._materialize_oci(client, ref, entry, manifest),
        )
        if isinstance(got, chartfetch.Failure):
            raise got.error(**context)
        found_version = _chart_version(got.path)
        if revision.digest and revision.version and found_version != revision.version:
            raise VersionNotFoundError(
                f"the pinned digest {revision.digest} holds version {found_version or '?'}, not {revision.version}",
                **context,
            )
        return dataclasses.replace(
            got, version=found_version or entry.version, manifest_digest=manifest.digest
        )

    def _materialize_oci(
        self,
        client: ocichart.Client,
        ref: ocichart.Reference,
        entry: ChartVersion,
        manifest: ocichart.Manifest,
    ) -> FetchedChart:
        directory = self._directory(ref.url, entry)
        found = self._cached(directory)
        if found is not None:
            _log.debug(
                "Helm chart from the cache",
                extra={"fields": {"repo": ref.url, "chart": entry.name, "version": entry.version}},
            )
            return FetchedChart(found, entry.name, entry.version, entry.digest, ref.url, downloaded=False)
        data = client.blob(ref.repository, manifest.layer_digest, size=manifest.layer_size)
        with self._lock:
            self.downloads += 1
        return self._keep(ref.url, entry, data, directory)

    def _read_index(
        self,
        repo_url: str,
        credentials: _Credentials | None,
        opener: urllib.request.OpenerDirector | None = None,
    ) -> RepoIndex:
        with self._lock:
            self.index_requests += 1
        data = _http_get(
            index_url(repo_url),
            credentials=credentials,
            timeout=self.timeout,
            deadline=self.deadline,
            limit=MAX_INDEX_BYTES,
            opener=opener,
        )
        index = parse_index(data, url=repo_url)
        _log.debug(
            "read Helm repository index",
            extra={
                "fields": {
                    "repo": redact.safe_url(repo_url),
                    "charts": len(index.entries),
                    "bytes": len(data),
                }
            },
        )
        return index

    def _directory(self, repo_url: str, entry: ChartVersion) -> Path:
        identity = json.dumps([repo_key(repo_url), entry.name, entry.version, entry.digest])
        key = hashlib.sha256(identity.encode()).hexdigest()
        return self.cache_dir / "charts" / key[:2] / key

    @staticmethod
    def _cached(directory: Path) -> Path | None:
        try:
            marker = json.loads((directory / _MARKER).read_text())
            chart = directory / str(marker["directory"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return chart if (chart / "Chart.yaml").is_file() else None

    def _materialize(
        self,
        repo_url: str,
        entry: ChartVersion,
        credentials: _Credentials | None,
        opener: urllib.request.OpenerDirector | None = None,
    ) -> FetchedChart:
        directory = self._directory(repo_url, entry)
        shown = redact.safe_url(repo_url)
        found = self._cached(directory)
        if found is not None:
            _log.debug(
                "Helm chart from the cache",
                extra={"fields": {"repo": shown, "chart": entry.name, "version": entry.version}},
            )
            return FetchedChart(found, entry.name, entry.version, entry.digest, shown, downloaded=False)
        if not entry.urls:
            raise chartfetch.Failure(
                RepoRefusedError, f"the index lists no download URL for version {entry.version}"
            )
        url = chart_url(repo_url, entry.urls[0])
        data = _http_get(
            url,
            credentials=credentials,
            timeout=self.timeout,
            deadline=self.deadline,
            limit=MAX_CHART_BYTES,
            opener=opener,
        )
        with self._lock:
            self.downloads += 1
        actual = hashlib.sha256(data).hexdigest()
        if entry.digest and actual != entry.digest:
            raise chartfetch.Failure(
                DigestMismatchError,
                f"version {entry.version} from {redact.safe_url(url)} has sha256 {actual}, but the index says "
                f"{entry.digest}: refusing it",
            )
        return self._keep(repo_url, entry, data, directory)

    def _keep(self, repo_url: str, entry: ChartVersion, data: bytes, directory: Path) -> FetchedChart:
        """Unpack a verified archive into the cache (renamed into place whole) and return it."""
        shown = redact.safe_url(repo_url)
        actual = hashlib.sha256(data).hexdigest()
        directory.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".tmp-", dir=directory.parent))
        try:
            chart = _unpack(data, staging / "chart")
            marker = {
                "repo": shown,
                "chart": entry.name,
                "version": entry.version,
                "digest": entry.digest,
                "sha256": actual,
                "directory": str(chart.relative_to(staging)),
            }
            (staging / _MARKER).write_text(json.dumps(marker))
            try:
                os.rename(staging, directory)
            except OSError:
                if self._cached(directory) is None:  # not another process's finished copy
                    raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        found = self._cached(directory)
        if found is None:
            raise chartfetch.Failure(UnsafeChartError, f"the unpacked chart vanished from {directory}")
        _log.info(
            f"downloaded Helm chart {entry.name} {entry.version}",
            extra={
                "fields": {"repo": shown, "chart": entry.name, "version": entry.version, "bytes": len(data)}
            },
        )
        return FetchedChart(found, entry.name, entry.version, entry.digest, shown, downloaded=True)


def _chart_version(chart_dir: Path) -> str:
    """The ``version`` in an unpacked chart's Chart.yaml ("" when it has none)."""
    try:
        data = yaml.safe_load((Path(chart_dir) / "Chart.yaml").read_text())
    except (OSError, yaml.YAMLError):
        return ""
    version = data.get("version") if isinstance(data, dict) else None
    return str(version) if version is not None else ""


__all__ = [
    "ChartError",
    "ChartFetcher",
    "ChartNotFoundError",
    "ChartVersion",
    "DigestMismatchError",
    "FetchedChart",
    "RepoIndex",
    "RepoRefusedError",
    "RepoUnreachableError",
    "UnsafeChartError",
    "VersionNotFoundError",
    "cache_root",
    "chart_url",
    "check_source",
    "index_url",
    "parse_index",
    "repo_key",
    "select_version",
]


def archive_digest(chart_dir: Path) -> str:
    """The sha256 of the archive a cached chart directory was unpacked from ("" when it is not one
    of ours). The render cache keys Helm repository charts by it: a chart republished under the
    same version must not be served from an old render."""
    chart_dir = Path(chart_dir)
    for holder in chart_dir.parents[:3]:  # the marker sits in the entry directory above the chart
        try:
            marker = json.loads((holder / _MARKER).read_text())
        except (OSError, ValueError):
            continue
        if isinstance(marker, dict) and (holder / str(marker.get("directory", ""))) == chart_dir:
            return str(marker.get("sha256") or "")
    return ""
