"""A Helm repository that does not answer, times out or answers 5xx/429 is a TemporaryError (a
retry may help); one that answers 401/403/404 is a PermanentError. Either names the Application,
the repository, the chart and the targetRevision, and the run remembers it: the other
Applications on that repository do not wait for the same timeout again."""

from __future__ import annotations

import socket
import time

import pytest

from fleet import errors
from fleet.render import helmrepo


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_repository_nobody_listens_on_is_a_temporary_error_naming_everything() -> None:
    url = f"http://127.0.0.1:{_closed_port()}/charts"
    with pytest.raises(helmrepo.RepoUnreachableError) as caught:
        helmrepo.ChartFetcher().fetch(url, "podinfo", "6.5.*", app="web-c001")
    error = caught.value
    assert isinstance(error, errors.TemporaryError) and error.retryable
    message = str(error)
    for word in [
        "application web-c001",
        url,
        "'podinfo'",
        "'6.5.*'",
        f"{url}/index.yaml",
        "connection refused",
    ]:
        assert word in message


# (id, HTTP status, error class)
STATUSES = [
    ("server-error", 503, helmrepo.RepoUnreachableError),
    ("rate-limited", 429, helmrepo.RepoUnreachableError),
    ("not-found", 404, helmrepo.RepoRefusedError),
    ("forbidden", 403, helmrepo.RepoRefusedError),
]


@pytest.mark.parametrize(("status", "kind"), [c[1:] for c in STATUSES], ids=[c[0] for c in STATUSES])
def test_http_statuses_say_whether_a_retry_may_help(helm_repo, status: int, kind: type) -> None:
    helm_repo.fail_with(status)
    with pytest.raises(kind, match=f"HTTP {status}") as caught:
        helmrepo.ChartFetcher().fetch(helm_repo.url, "podinfo", "6.5.*", app="web")
    assert caught.value.retryable is (kind is helmrepo.RepoUnreachableError)


def test_a_repository_that_hangs_times_out_once_per_run(helm_repo) -> None:
    helm_repo.hang(30)
    fetcher = helmrepo.ChartFetcher(timeout=0.3)
    started = time.monotonic()
    with pytest.raises(helmrepo.RepoUnreachableError, match="timed out"):
        fetcher.fetch(helm_repo.url, "podinfo", "6.5.*", app="web-c001")
    # Every other Application on that repository gets the same answer at once, naming itself.
    with pytest.raises(helmrepo.RepoUnreachableError, match="application db-c002"):
        fetcher.fetch(helm_repo.url, "podinfo", "6.4.0", app="db-c002")
    assert time.monotonic() - started < 5
    assert helm_repo.requests("/index.yaml") == 1
