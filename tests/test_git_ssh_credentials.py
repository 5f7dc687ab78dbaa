"""Git over SSH with an Argo CD repository Secret (``sshPrivateKey``), against a real sshd on
loopback: the key reaches ssh only as a 0600 file in a private directory that is gone when the
clone or fetch returns; the host key is checked against ``argocd-ssh-known-hosts-cm`` (or not at
all with ``insecure: "true"``); a wrong host key or a missing key fails with a FetchError; the key
is in no error, no file of the mirror cache and not in its config."""

from __future__ import annotations

import os
import shlex
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest

from fleet import gitsource, repocreds
from tests.fixtures.git_servers import make_bare


def _objects(
    sshd: Any,
    *,
    key: str | None = None,
    known_hosts: str | None = "",
    insecure: bool = False,
    kind: str = "repository",
    url: str | None = None,
) -> list[dict[str, Any]]:
    data = {"type": "git", "url": url or sshd.url("fleet.git")}
    if key is not None:
        data["sshPrivateKey"] = key
    if insecure:
        data["insecure"] = "true"
    objects: list[dict[str, Any]] = [
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": "private-repo",
                "namespace": "argocd",
                "labels": {"argocd.argoproj.io/secret-type": kind},
            },
            "stringData": data,
        }
    ]
    if known_hosts is not None:
        objects.append(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "argocd-ssh-known-hosts-cm", "namespace": "argocd"},
                "data": {"ssh_known_hosts": known_hosts or sshd.known_hosts_line() + "\n"},
            }
        )
    return objects


@pytest.fixture
def sshd(git_sshd) -> Any:
    make_bare(git_sshd.root, "fleet.git", {"apps/web/a.yaml": "a: 1\n"})
    return git_sshd


def _key_body(key: str) -> str:
    return "".join(key.strip().splitlines()[1:-1])[:40]


def _files_holding(root: Path, text: str) -> list[str]:
    return [str(p) for p in root.rglob("*") if p.is_file() and text.encode() in p.read_bytes()]


def test_a_private_key_and_known_hosts_clone_over_ssh_and_leave_nothing_behind(sshd, tmp_path) -> None:
    creds = repocreds.RepoCredentials.from_objects(_objects(sshd, key=sshd.client_key))
    cache = gitsource.RepoCache(tmp_path / "cache", max_age=0, credentials=creds)
    assert cache.open(sshd.url("fleet.git"), "main").list_files() == ["apps/web/a.yaml"]
    assert cache.open(
        sshd.url("fleet.git"), "main"
    ).resolve_revision()  # max_age 0: a fetch, with the key too
    assert sshd.uploads() == 3  # the clone, then a fetch at each open (max_age 0): each with the key
    assert _files_holding(tmp_path / "cache", _key_body(sshd.client_key)) == []
    config = (cache.mirror_path(sshd.url("fleet.git")) / "config").read_text()
    assert "sshCommand" not in config and "id_key" not in config


def test_the_key_file_is_private_and_removed_when_the_call_returns(sshd) -> None:
    creds = repocreds.RepoCredentials.from_objects(_objects(sshd, key=sshd.client_key))
    with gitsource._git_access(sshd.url("fleet.git"), creds) as (_, env):
        command = shlex.split(env["GIT_SSH_COMMAND"])
        key = Path(command[command.index("-i") + 1])
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
        assert stat.S_IMODE(key.parent.stat().st_mode) == 0o700
        assert key.read_text().strip() == sshd.client_key.strip()
        listed = subprocess.run(
            ["git", "ls-remote", sshd.url("fleet.git")],
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert listed.returncode == 0 and "refs/heads/main" in listed.stdout, listed.stderr
    assert not key.exists() and not key.parent.exists()


# (id, Secret and ConfigMap options, words in the FetchError)
FAILURES = [
    (
        "unknown-host-key",
        {"key": "CLIENT", "known_hosts": "OTHER"},
        ["clone failed", "Host key verification failed"],
    ),
    ("no-private-key", {"key": None}, ["clone failed", "Permission denied"]),
]


@pytest.mark.parametrize(("options", "words"), [f[1:] for f in FAILURES], ids=[f[0] for f in FAILURES])
def test_a_wrong_host_key_or_no_key_is_a_fetch_error(
    sshd, tmp_path, options: dict[str, Any], words: list[str]
) -> None:
    from tests.fixtures.git_servers import _ed25519

    other_public = _ed25519()[1]
    key = sshd.client_key if options["key"] == "CLIENT" else None
    known = sshd.known_hosts_line(other_public) + "\n" if options.get("known_hosts") == "OTHER" else ""
    creds = repocreds.RepoCredentials.from_objects(_objects(sshd, key=key, known_hosts=known))
    cache = gitsource.RepoCache(tmp_path / "cache", credentials=creds)
    with pytest.raises(gitsource.FetchError) as caught:
        cache.open(sshd.url("fleet.git"), "main")
    for word in words:
        assert word in str(caught.value)
    assert _key_body(sshd.client_key) not in str(caught.value)
    assert sshd.uploads() == 0


def test_insecure_skips_the_host_key_check(sshd, tmp_path) -> None:
    creds = repocreds.RepoCredentials.from_objects(
        _objects(sshd, key=sshd.client_key, known_hosts=None, insecure=True)
    )
    cache = gitsource.RepoCache(tmp_path / "cache", credentials=creds)
    assert cache.open(sshd.url("fleet.git"), "main").list_files() == ["apps/web/a.yaml"]


def test_a_template_for_the_host_covers_scp_style_urls(sshd, tmp_path) -> None:
    scp = f"{sshd.user}@127.0.0.1:{sshd.root / 'fleet.git'}"  # scp form: no port, so only for matching
    creds = repocreds.RepoCredentials.from_objects(
        _objects(
            sshd, key=sshd.client_key, kind="repo-creds", url=f"ssh://{sshd.user}@127.0.0.1:{sshd.port}/"
        )
    )
    assert creds.lookup(sshd.url("fleet.git")).ssh_private_key == sshd.client_key
    assert creds.lookup(scp) is not None and creds.lookup(scp).ssh_private_key == ""  # another host:port
    cache = gitsource.RepoCache(tmp_path / "cache", credentials=creds)
    assert cache.open(sshd.url("fleet.git"), "main").list_files() == ["apps/web/a.yaml"]
