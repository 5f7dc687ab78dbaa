"""A chart archive whose sha256 differs from the digest in the repository's index is refused:
nothing is unpacked or cached, and the error names the Application, repository, chart,
targetRevision and both digests. An index without a digest is trusted, as Helm trusts it."""

from __future__ import annotations

import hashlib

import pytest

from fleet import errors
from fleet.render import helmrepo


def test_an_archive_that_does_not_match_the_index_digest_is_refused(helm_repo, tmp_path) -> None:
    listed = next(e for e in helm_repo.index()["entries"]["podinfo"] if e["version"] == "6.5.1")
    # Another valid chart archive behind the index's back.
    swapped = (helm_repo.root / "podinfo-6.5.0.tgz").read_bytes()
    helm_repo.replace_file("podinfo-6.5.1.tgz", swapped)
    fetcher = helmrepo.ChartFetcher()
    with pytest.raises(helmrepo.DigestMismatchError) as caught:
        fetcher.fetch(helm_repo.url, "podinfo", "6.5.*", app="web-c001")
    message = str(caught.value)
    for word in [
        "application web-c001",
        helm_repo.url,
        "'podinfo'",
        "'6.5.*'",
        listed["digest"],
        hashlib.sha256(swapped).hexdigest(),
        "refusing",
    ]:
        assert word in message
    assert isinstance(caught.value, errors.PermanentError) and not caught.value.retryable
    assert not list((tmp_path / "cache").rglob("Chart.yaml"))
    # The run remembers the refusal: another Application on the same chart asks no more.
    with pytest.raises(helmrepo.DigestMismatchError, match="application web-c002"):
        fetcher.fetch(helm_repo.url, "podinfo", "6.5.1", app="web-c002")
    assert helm_repo.downloads() == 1


@pytest.mark.parametrize("digest", ["", "sha256:{sha}", "{SHA}"], ids=["absent", "prefixed", "upper-case"])
def test_an_index_digest_that_is_absent_or_differently_written_is_accepted(helm_repo, digest: str) -> None:
    data = (helm_repo.root / "podinfo-6.5.1.tgz").read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    helm_repo.publish_archive("podinfo", "6.7.0", data, digest=digest.format(sha=sha, SHA=sha.upper()))
    fetched = helmrepo.ChartFetcher().fetch(helm_repo.url, "podinfo", "6.7.0")
    assert fetched.version == "6.7.0" and (fetched.path / "Chart.yaml").is_file()
