"""What charts from Helm HTTP repositories (``fleet.render.helmrepo``) and from OCI registries
(``fleet.render.ocichart``) share: the errors of a chart fetch and HTTP reads within a size limit
and a deadline.

Where it sits: below both clients, so that ``helmrepo.ChartFetcher`` can hand OCI sources to
``ocichart`` while ``ocichart`` raises the same errors (no import cycle between the two).
``helmrepo`` keeps the errors' and limits' names for its callers.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from fleet import errors, redact

DEFAULT_TIMEOUT = 30.0  # seconds for connecting and for each read
DEFAULT_DEADLINE = 300.0  # seconds for one whole download
USER_AGENT = "fleet (Helm repository client)"
# Helm's own limit for a chart archive (`--max-chart-size`).
MAX_CHART_BYTES = 100 << 20
_CHUNK = 1 << 16


# --- errors -----------------------------------------------------------------------------------


class ChartError(errors.FleetError):
    """A chart could not be had from its repository.

    The message names the Application, the repository (without credentials), the chart and the
    ``targetRevision``; subclasses say whether a retry may help.
    """

    def __init__(self, detail: str, *, repo_url: str, chart: str, constraint: str, app: str = "") -> None:
        self.detail = detail
        self.repo_url = redact.safe_url(repo_url)
        self.chart = chart
        self.constraint = constraint
        self.app = app
        where = f"application {app}: " if app else ""
        place = "OCI registry" if self.repo_url.lower().startswith("oci://") else "Helm repository"
        super().__init__(
            redact.mask(
                f"{where}chart {chart!r} from {place} {self.repo_url} "
                f"(targetRevision {constraint!r}): {detail}"
            )
        )

    def __reduce__(self) -> tuple[Any, ...]:
        # Exceptions pickle their args only; ours need the keywords back.
        return (
            _rebuild,
            (type(self), self.detail, self.repo_url, self.chart, self.constraint, self.app),
        )


def _rebuild(
    cls: type[ChartError], detail: str, repo_url: str, chart: str, constraint: str, app: str
) -> ChartError:
    return cls(detail, repo_url=repo_url, chart=chart, constraint=constraint, app=app)


class ChartNotFoundError(ChartError, errors.PermanentError):
    """The repository's index lists no chart of that name."""


class VersionNotFoundError(ChartError, errors.PermanentError):
    """No version of the chart satisfies ``targetRevision``."""


class RepoUnreachableError(ChartError, errors.TemporaryError):
    """The repository did not answer, timed out, or answered 408, 429 or 5xx."""


class RepoRefusedError(ChartError, errors.PermanentError):
    """The repository answered but refused (401, 403), lacked the file (404), or sent something unusable."""


class DigestMismatchError(ChartError, errors.PermanentError):
    """The downloaded archive's sha256 differs from the index's ``digest``."""


class UnsafeChartError(ChartError, errors.PermanentError):
    """The archive is not a safe chart: links, paths leaving the chart, too large, or no Chart.yaml."""


class Failure(Exception):
    """A failure before the Application is known: which ChartError to raise, and its detail."""

    def __init__(self, kind: type[ChartError], detail: str) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail

    def error(self, *, repo_url: str, chart: str, constraint: str, app: str) -> ChartError:
        return self.kind(self.detail, repo_url=repo_url, chart=chart, constraint=constraint, app=app)


# --- HTTP -------------------------------------------------------------------------------------


class HttpOnlyRedirects(urllib.request.HTTPRedirectHandler):
    """Follow redirects to http(s) only (urllib would follow ftp too)."""

    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str) -> Any:
        if urlsplit(newurl).scheme.lower() not in ("http", "https"):
            raise urllib.error.HTTPError(
                redact.safe_url(newurl), code, "redirect to a non-http(s) URL", headers, fp
            )
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def describe(reason: object) -> str:
    if isinstance(reason, TimeoutError) or "timed out" in str(reason):
        return "timed out"
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror.lower()
    return type(reason).__name__ if not str(reason) else str(reason)


def read_body(response: Any, *, limit: int, deadline: float, started: float, shown: str) -> bytes:
    """A response's body, read in chunks within a size limit and a deadline."""
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = response.read(_CHUNK)
        if not chunk:
            break
        size += len(chunk)
        if size > limit:
            raise Failure(RepoRefusedError, f"GET {shown}: larger than {limit} bytes")
        if time.monotonic() - started > deadline:
            raise Failure(RepoUnreachableError, f"GET {shown}: not complete after {deadline:g}s")
        chunks.append(chunk)
    return b"".join(chunks)


__all__ = [
    "DEFAULT_DEADLINE",
    "DEFAULT_TIMEOUT",
    "MAX_CHART_BYTES",
    "USER_AGENT",
    "ChartError",
    "ChartNotFoundError",
    "DigestMismatchError",
    "Failure",
    "HttpOnlyRedirects",
    "RepoRefusedError",
    "RepoUnreachableError",
    "UnsafeChartError",
    "VersionNotFoundError",
    "describe",
    "read_body",
]
