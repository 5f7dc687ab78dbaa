"""A fleet given as a git repository is read at --revision (branch, tag or commit) through the git
mirror cache; the run records the resolved commit, and a commit pushed later is picked up by the
next run (once the mirror is older than its max age: the test moves fleet.clocks forward)."""

from __future__ import annotations

import shutil

import pytest

from fleet import clocks
from tests.clocks import ManualClock
from tests.fixtures.sync import DATA, REPO_URL


@pytest.fixture
def git_fleet(make_fleet, make_git_repo, tmp_path, monkeypatch):
    monkeypatch.setenv("FLEET_CACHE_DIR", str(tmp_path / "cache"))  # never ~/.cache in tests
    env = make_fleet("basic", clusters=1)
    repo = make_git_repo("fleet")
    shutil.copytree(DATA / "basic", repo.path, dirs_exist_ok=True)
    appset = (repo.path / "appset.yaml").read_text().replace(REPO_URL, repo.url)
    repo.write({"appset.yaml": appset})
    repo.commit("the web fleet")
    return env, repo


def sync_git(env, repo, *flags: str):
    return env.run(
        "--log-format",
        "json",
        "sync",
        repo.url,
        "--clusters",
        str(env.clusters_file),
        "--executor",
        "local",
        "--state-dir",
        str(env.state_dir),
        "-o",
        "json",
        *flags,
    )


def greeting(env) -> str:
    return env.sim.get_object("c001", "v1", "ConfigMap", "web", "web-config")["data"]["greeting"]


def test_the_run_records_the_commit_it_read(git_fleet) -> None:
    env, repo = git_fleet
    run = sync_git(env, repo, "--revision", "main")
    assert run.exit_code == 0, run.stderr
    assert run.run_result.revision == repo.head
    assert run.app("c001", "web-c001").revision == repo.head
    assert greeting(env) == "hello"


def test_a_new_commit_is_applied_by_the_next_run(git_fleet) -> None:
    env, repo = git_fleet
    assert sync_git(env, repo, "--revision", "main").exit_code == 0
    text = (repo.path / "apps/web/configmap.yaml").read_text().replace("greeting: hello", "greeting: salut")
    sha = repo.commit("say salut", {"apps/web/configmap.yaml": text})
    later = ManualClock()
    later.advance(2.1)  # older than the mirror's max age (2 s): the next run fetches
    with clocks.installed(later):
        run = sync_git(env, repo, "--revision", "main")
    assert run.exit_code == 0, run.stderr
    assert run.run_result.revision == sha and greeting(env) == "salut"


def test_an_unknown_revision_fails_naming_it(git_fleet) -> None:
    env, repo = git_fleet
    run = sync_git(env, repo, "--revision", "no-such-branch")
    assert run.exit_code == 1
    assert "no-such-branch" in run.stderr and "no branch, tag or commit" in run.stderr
    assert env.sim.request_counts("c001")["total"] == 0
