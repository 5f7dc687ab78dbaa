"""Credentials in a repository URL authenticate the clone and fetches but never reach the disk.

``https://user:token@host/repo.git`` is a common way to hand a CI job read access. Plain git
would record the token in the mirror's config for good. The server here is git's "dumb" HTTP
protocol (static files of a bare repository after ``git update-server-info``) behind HTTP Basic
authentication, on a loopback port; every file of the cache is searched for the token.
"""

from __future__ import annotations

import base64
import functools
import http.server
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from fleet import gitsource

USER = "ci-bot"
TOKEN = "glpat-Zq81xW0cT4vR"


class _BasicAuthFiles(http.server.SimpleHTTPRequestHandler):
    expected = "Basic " + base64.b64encode(f"{USER}:{TOKEN}".encode()).decode()
    seen: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.seen.append(self.headers.get("Authorization", ""))
        if self.headers.get("Authorization") != self.expected:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="git"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        super().do_GET()

    def log_message(self, *args: Any) -> None:  # keep the test output clean
        pass


@pytest.fixture
def served(tmp_path: Path, make_git_repo: Callable[..., Any]) -> Iterator[tuple[str, Any, Path]]:
    """(URL without credentials, the origin GitRepo, the served bare repository)."""
    origin = make_git_repo("origin", files={"apps/web/a.yaml": "a: 1\n"})
    root = tmp_path / "served"
    bare = root / "fleet.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(origin.path), str(bare)], check=True)
    subprocess.run(["git", "update-server-info"], cwd=bare, check=True)
    handler = functools.partial(_BasicAuthFiles, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/fleet.git", origin, bare
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _with_credentials(url: str, user: str = USER, token: str = TOKEN) -> str:
    return url.replace("http://", f"http://{user}:{token}@")


def _files_holding(root: Path, text: str) -> list[str]:
    return [str(p) for p in root.rglob("*") if p.is_file() and text.encode() in p.read_bytes()]


def test_credentials_in_the_url_authenticate_but_are_not_written_to_the_cache(
    served: tuple[str, Any, Path], tmp_path: Path
) -> None:
    url, origin, bare = served
    cache = gitsource.RepoCache(tmp_path / "cache", max_age=0)
    assert cache.open(_with_credentials(url), "main").list_files() == ["apps/web/a.yaml"]
    sha = origin.commit("more", {"apps/api/b.yaml": "b: 2\n"})
    subprocess.run(["git", "fetch", "-q", str(origin.path), "+main:main"], cwd=bare, check=True)
    subprocess.run(["git", "update-server-info"], cwd=bare, check=True)
    source = cache.open(_with_credentials(url), "main")  # max_age 0: fetches with the credentials
    assert source.resolve_revision() == sha and "apps/api/b.yaml" in source.list_files()
    assert _BasicAuthFiles.expected in _BasicAuthFiles.seen
    assert _files_holding(tmp_path / "cache", TOKEN) == []
    mirror = cache.mirror_path(url)
    recorded = subprocess.run(
        ["git", "config", "remote.origin.url"], cwd=mirror, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert recorded == url


def test_a_wrong_token_is_a_fetch_error_that_does_not_name_it(
    served: tuple[str, Any, Path], tmp_path: Path
) -> None:
    url, _, _ = served
    cache = gitsource.RepoCache(tmp_path / "cache", max_age=0)
    with pytest.raises(gitsource.FetchError) as caught:
        cache.open(_with_credentials(url, token="wrong-token-4f2a"), "main")
    assert "wrong-token-4f2a" not in str(caught.value)
    assert _files_holding(tmp_path / "cache", "wrong-token-4f2a") == []


def test_a_mirror_that_recorded_credentials_forgets_them_when_next_opened(
    served: tuple[str, Any, Path], tmp_path: Path
) -> None:
    url, _, _ = served
    cache = gitsource.RepoCache(tmp_path / "cache", max_age=0)
    mirror = cache.mirror_path(url)
    subprocess.run(["git", "clone", "-q", "--bare", _with_credentials(url), str(mirror)], check=True)
    (mirror / "fleet-fetched").touch()
    assert _files_holding(tmp_path / "cache", TOKEN)  # what plain git leaves behind
    assert cache.open(_with_credentials(url), "main").list_files() == ["apps/web/a.yaml"]
    assert _files_holding(tmp_path / "cache", TOKEN) == []
