"""Credentials in a Helm repository URL (https://user:pass@host/charts) are sent as basic auth to
that repository only, never to a chart URL on another host, and never appear in an error message,
a log line, the run's output, the status store or any file of the cache."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from fleet import redact
from fleet.render import helmrepo
from tests.fixtures.helmrepo import HelmRepo

USER = "fleet-bot"
PASSWORD = "s3cr3t-Pa55-word"
TOKEN = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()


def _files_mentioning(root: Path, *needles: str) -> list[Path]:
    hits = []
    for path in root.rglob("*"):
        if any(n in str(path) for n in needles):
            hits.append(path)
        elif path.is_file() and any(n.encode() in path.read_bytes() for n in needles):
            hits.append(path)
    return hits


def test_credentials_in_the_url_are_sent_to_the_repository_and_stored_nowhere(helm_repo, tmp_path) -> None:
    helm_repo.require_auth(USER, PASSWORD)
    fetched = helmrepo.ChartFetcher().fetch(helm_repo.url_with(USER, PASSWORD), "podinfo", "6.5.*", app="web")
    assert fetched.version == "6.5.1"
    assert fetched.repo_url == helm_repo.url
    assert helm_repo.requests_with_credentials() == 2  # the index and the archive
    assert _files_mentioning(tmp_path / "cache", PASSWORD, TOKEN) == []


def test_wrong_credentials_are_refused_without_quoting_them(helm_repo) -> None:
    helm_repo.require_auth(USER, PASSWORD)
    with pytest.raises(helmrepo.RepoRefusedError) as caught:
        helmrepo.ChartFetcher().fetch(helm_repo.url_with(USER, "wrong-password"), "podinfo", "6.5.*")
    message = str(caught.value)
    assert "HTTP 401" in message and helm_repo.url in message and "'podinfo'" in message
    assert "wrong-password" not in message and USER not in message


def test_a_chart_url_on_another_host_gets_no_credentials(helm_repo, tmp_path) -> None:
    other_root = tmp_path / "other-host"
    other_root.mkdir()
    other = HelmRepo(other_root).start()
    try:
        data = (helm_repo.root / "podinfo-6.5.1.tgz").read_bytes()
        (other_root / "podinfo-9.0.0.tgz").write_bytes(data)
        helm_repo.publish_archive("podinfo", "9.0.0", data, url=f"{other.url}/podinfo-9.0.0.tgz")
        fetched = helmrepo.ChartFetcher().fetch(helm_repo.url_with(USER, PASSWORD), "podinfo", "9.0.0")
        assert fetched.version == "9.0.0"
        assert other.requests("/podinfo-9.0.0.tgz") == 1 and other.requests_with_credentials() == 0
        assert helm_repo.requests_with_credentials() == 1  # the index only
    finally:
        other.stop()


def test_a_sync_with_credentials_leaves_them_in_no_output_or_file(make_fleet, helm_repo, tmp_path) -> None:
    helm_repo.require_auth(USER, PASSWORD)
    env = make_fleet("helmrepo", clusters=1)
    appset = env.root / "appset.yaml"
    appset.write_text(appset.read_text().replace("HELM_REPO_URL", helm_repo.url_with(USER, PASSWORD)))
    run = env.run("--verbose", "--log-format", "json", "sync", *env.args(), "-o", "json")  # debug lines too
    assert run.exit_code == 0, run.stderr
    assert all(app.ok for app in run.run_result.apps())
    helm_repo.require_auth(USER, "rotated-elsewhere")  # the next run fails: its error must not leak either
    failed = env.sync()
    assert failed.exit_code == 1
    assert "HTTP 401" in failed.app(env.cluster_names[0], f"podinfo-{env.cluster_names[0]}").message
    live = json.dumps([env.objects(cluster) for cluster in env.cluster_names])
    # Not even masked: a masked value would mean it reached a message before the mask caught it.
    for text in (run.stdout, run.stderr, failed.stdout, failed.stderr, live):
        assert PASSWORD not in text and TOKEN not in text and redact.MASK not in text
    assert _files_mentioning(tmp_path / "cache", PASSWORD, TOKEN) == []
    assert _files_mentioning(env.state_dir, PASSWORD, TOKEN) == []
