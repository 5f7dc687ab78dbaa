"""Which chart version an OCI source gets, against a real registry (docker-registry) holding podinfo
6.4.0, 6.5.0, 6.5.1, 6.6.0-rc.1 and 7.0.0+build.1 (pushed as tag ``7.0.0_build.1``, as Helm does):
semver constraints are resolved from the repository's tags, an exact version is read by its tag
without listing tags, and a digest pins the manifest (alone, or after a version that must match).
Every source form names the same chart: Argo CD's ``repoURL: registry/path`` + ``chart``,
``oci://registry/path/chart``, and an http(s) repoURL whose repository Secret sets ``enableOCI``."""

from __future__ import annotations

import http.server
import json
import threading
import urllib.parse
from typing import Any, ClassVar

import pytest

from fleet import repocreds
from fleet.render import helmrepo, ocichart


@pytest.fixture
def registry(oci_registry) -> Any:
    oci_registry.digests = oci_registry.publish_podinfo()
    return oci_registry


def _fetcher(registry: Any) -> helmrepo.ChartFetcher:
    # A plain-HTTP registry needs insecureOCIForceHttp, as in Argo CD: one template covers the registry;
    # the http:// URL is an OCI registry only because its repository Secret says enableOCI.
    creds = repocreds.RepoCredentials.from_objects(
        [
            registry.repo_secret(kind="repo-creds", url=registry.host),
            registry.repo_secret(url=f"http://{registry.host}/charts"),
        ]
    )
    return helmrepo.ChartFetcher(credentials=creds)


# (id, targetRevision, version chosen, tag lists read)
CASES = [
    ("wildcard-patch", "6.5.*", "6.5.1", 1),
    ("range", ">=6.4.0 <6.5.1", "6.5.0", 1),
    ("caret", "^6.0.0", "6.5.1", 1),
    ("star-takes-build-metadata-versions", "*", "7.0.0+build.1", 1),
    ("prerelease-only-when-named", ">=6.6.0-0 <7.0.0", "6.6.0-rc.1", 1),
    ("exact-version-reads-its-tag", "6.4.0", "6.4.0", 0),
    ("exact-version-with-build-metadata", "7.0.0+build.1", "7.0.0+build.1", 0),
]


@pytest.mark.parametrize(
    ("revision", "version", "tag_lists"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
@pytest.mark.parametrize("form", ["argocd-helm-oci", "oci-url", "http-url-of-an-enable-oci-repository"])
def test_a_constraint_is_resolved_from_the_registry_tags(
    registry, form: str, revision: str, version: str, tag_lists: int
) -> None:
    fetcher = _fetcher(registry)
    before = registry.served("/tags/list")
    if form == "argocd-helm-oci":
        fetched = fetcher.fetch(f"{registry.host}/charts", "podinfo", revision, app="web")
    elif form == "http-url-of-an-enable-oci-repository":
        fetched = fetcher.fetch(f"http://{registry.host}/charts", "podinfo", revision, app="web")
    else:
        fetched = fetcher.fetch(f"oci://{registry.host}/charts/podinfo", "", revision, app="web")
    assert fetched.version == version
    assert fetched.manifest_digest == registry.digests[version]
    assert fetched.repo_url == f"oci://{registry.host}/charts/podinfo"
    assert (fetched.path / "Chart.yaml").is_file() and fetched.downloaded
    assert registry.served("/tags/list") - before == tag_lists


def test_a_digest_pins_the_manifest(registry) -> None:
    pinned = registry.digests["6.5.0"]
    fetched = _fetcher(registry).fetch(f"{registry.host}/charts", "podinfo", pinned)
    assert (fetched.version, fetched.manifest_digest) == ("6.5.0", pinned)
    both = _fetcher(registry).fetch(f"oci://{registry.host}/charts/podinfo", "", f"6.5.0@{pinned}")
    assert (both.version, both.manifest_digest) == ("6.5.0", pinned)


def test_a_version_pinned_to_another_versions_digest_is_refused(registry) -> None:
    with pytest.raises(helmrepo.VersionNotFoundError) as caught:
        _fetcher(registry).fetch(f"{registry.host}/charts", "podinfo", f"6.5.1@{registry.digests['6.5.0']}")
    assert "holds version 6.5.0, not 6.5.1" in str(caught.value)


def test_a_digest_the_registry_does_not_hold_is_version_not_found(registry) -> None:
    missing = "sha256:" + "0" * 64
    with pytest.raises(helmrepo.VersionNotFoundError) as caught:
        _fetcher(registry).fetch(f"{registry.host}/charts", "podinfo", missing, app="web")
    message = str(caught.value)
    assert "application web" in message and missing in message and "OCI registry" in message


def test_no_matching_tag_names_the_tags_there_are(registry) -> None:
    with pytest.raises(helmrepo.VersionNotFoundError) as caught:
        _fetcher(registry).fetch(f"{registry.host}/charts", "podinfo", "9.*")
    assert "no tag satisfies it" in str(caught.value) and "6.5.1" in str(caught.value)


def test_an_unknown_chart_is_chart_not_found(registry) -> None:
    with pytest.raises(helmrepo.ChartNotFoundError) as caught:
        _fetcher(registry).fetch(f"{registry.host}/charts", "nginx", "1.*")
    assert "has no repository charts/nginx" in str(caught.value)


class _PagedTags(http.server.BaseHTTPRequestHandler):
    """The distribution spec's tag pagination (``n``, ``last``, ``Link: <...>; rel="next"``), which
    docker-registry 2.8 does not implement (it answers every tag at once): served on loopback."""

    tags: ClassVar[list[str]] = sorted(f"1.0.{i}" for i in range(7))
    seen: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.seen.append(self.path)
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        size = int(query.get("n", ["100"])[0])
        last = query.get("last", [""])[0]
        rest = [t for t in self.tags if t > last]
        page, more = rest[:size], rest[size:]
        body = json.dumps({"name": "charts/podinfo", "tags": page}).encode()
        self.send_response(200)
        if more:
            self.send_header("Link", f'</v2/charts/podinfo/tags/list?n={size}&last={page[-1]}>; rel="next"')
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        return


def test_tags_are_read_page_by_page_following_the_link_header() -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _PagedTags)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        client = ocichart.Client(f"127.0.0.1:{server.server_port}", plain_http=True)
        client.page_size = 3
        assert client.tags("charts/podinfo") == _PagedTags.tags
        assert client.requests == 3  # seven tags, three per page
        assert [urllib.parse.urlsplit(p).query for p in _PagedTags.seen] == [
            "n=3",
            "n=3&last=1.0.2",
            "n=3&last=1.0.5",
        ]
    finally:
        server.shutdown()
        server.server_close()


# (id, targetRevision, the field named in the error)
BAD_REVISIONS = [
    ("short-digest", "sha256:abc", "targetRevision"),
    ("branch-name", "main", "targetRevision"),
    ("digest-of-another-algorithm", "sha512:" + "a" * 128, "targetRevision"),
]


@pytest.mark.parametrize(
    ("revision", "field"), [c[1:] for c in BAD_REVISIONS], ids=[c[0] for c in BAD_REVISIONS]
)
def test_a_target_revision_that_is_no_version_or_digest_is_bad_input(revision: str, field: str) -> None:
    with pytest.raises(helmrepo.render.RenderError) as caught:
        helmrepo.check_source("registry.example.com/charts", "podinfo", revision, app="web")
    assert f"field spec.source.{field}" in str(caught.value) and "application web" in str(caught.value)
