"""Automatic rollback through the CLI against the simulator, from a git fleet: a change that
breaks the staging step (step 2) is synced back there to each Application's last Synced and
Healthy revision, prod (step 3) receives zero requests, the result and the table say what was
rolled back and why (so do the Markdown notification and the HTML and Markdown reports); with no
known-good revision nothing is rolled back and the result says so."""

from __future__ import annotations

import shutil

import pytest
import yaml

from fleet import clocks
from fleet.results import RolloutState, StepState
from fleet.status import Reason
from tests.clocks import ManualClock
from tests.fixtures.sync import DATA


def bad(text: str) -> str:
    return text.replace("image: nginx:1.27", "image: nginx:bad").replace(
        "replicas: 2", "replicas: 2\n  progressDeadlineSeconds: 1"
    )


@pytest.fixture
def git_rolling(make_fleet, make_git_repo, tmp_path, monkeypatch):
    """The rolling fleet in git, one source directory per env, with autoRollback."""
    monkeypatch.setenv("FLEET_CACHE_DIR", str(tmp_path / "cache"))
    env = make_fleet("rolling")
    repo = make_git_repo("fleet")
    doc = yaml.safe_load((DATA / "rolling" / "appset.yaml").read_text())
    doc["spec"]["strategy"]["rollingSync"]["autoRollback"] = True
    doc["spec"]["template"]["spec"]["source"]["path"] = "apps/web-{{metadata.labels.env}}"
    doc["spec"]["template"]["spec"]["source"]["repoURL"] = repo.url
    for env_name in ("dev", "staging", "prod"):
        shutil.copytree(DATA / "rolling" / "apps" / "web", repo.path / "apps" / f"web-{env_name}")
    repo.write({"appset.yaml": yaml.safe_dump(doc, sort_keys=False)})
    repo.commit("web on every env")
    return env, repo


def sync_git(env, repo, *flags: str, output: str = "json"):
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
        "--health-timeout",
        "20",
        "-o",
        output,
        *flags,
    )


def break_staging_and_prod(repo) -> str:
    changes = {}
    for env_name in ("staging", "prod"):
        rel = f"apps/web-{env_name}/deployment.yaml"
        changes[rel] = bad((repo.path / rel).read_text())
    rel = "apps/web-dev/configmap.yaml"
    changes[rel] = (repo.path / rel).read_text().replace("greeting: hello", "greeting: salut")
    return repo.commit("a change that breaks staging", changes)


def image(env, cluster: str) -> str:
    found = env.sim.get_object(cluster, "apps/v1", "Deployment", "web", "web")
    return found["spec"]["template"]["spec"]["containers"][0]["image"]


def test_a_failed_step_is_rolled_back_and_the_next_step_gets_zero_requests(git_rolling) -> None:
    env, repo = git_rolling
    good = repo.head
    assert sync_git(env, repo).exit_code == 0
    env.sim.reset_counts()
    bad_sha = break_staging_and_prod(repo)
    later = ManualClock()
    later.advance(2.1)  # older than the git mirror's max age: the run fetches the new commit
    summary = env.root.parent / "summary.md"
    with clocks.installed(later):
        run = sync_git(env, repo, "--notify-markdown", str(summary), "--notify-on", "always")
    assert run.exit_code == 1
    (found,) = run.run_result.rollouts
    assert [s.state for s in found.steps] == [StepState.COMPLETED, StepState.FAILED, StepState.NOT_STARTED]
    assert "rolled back 1 of 1 Application(s)" in found.message
    (entry,) = found.rollbacks
    assert (entry.cluster, entry.from_revision, entry.to_revision, entry.ok) == ("c002", bad_sha, good, True)
    staging = run.app("c002", "web-c002")
    assert staging.reason is Reason.ROLLED_BACK and staging.rollout.state is RolloutState.ROLLED_BACK
    assert staging.revision == good and "step 2 failed" in staging.message
    assert image(env, "c002") == "nginx:1.27"  # back where it was
    assert env.sim.request_counts("c003")["total"] == 0  # step 3 untouched
    assert run.app("c001", "web-c001").revision == bad_sha  # step 1 keeps the change
    # The notification and the reports say what was rolled back, from and to which revision.
    rolled = f"| c002 | web-c002 | 2 | `{bad_sha}` | `{good}` | rolled back |"
    assert rolled in summary.read_text()
    html = env.run("report", "--state-dir", str(env.state_dir), "--format", "html")
    assert html.exit_code == 0
    assert "Rollback after the failed step" in html.stdout and f"<code>{good}</code>" in html.stdout


def test_without_a_known_good_revision_nothing_is_rolled_back_and_the_result_says_so(git_rolling) -> None:
    env, repo = git_rolling
    break_staging_and_prod(repo)
    run = sync_git(env, repo)  # the first sync: no revision was ever Synced and Healthy
    assert run.exit_code == 1
    (found,) = run.run_result.rollouts
    assert "nothing was rolled back" in found.message and "no Synced and Healthy revision" in found.message
    (entry,) = found.rollbacks
    assert entry.to_revision == "" and not entry.ok
    markdown = env.run("report", "--state-dir", str(env.state_dir), "--format", "markdown")
    assert "| c002 | web-c002 | 2 |" in markdown.stdout and "| not rolled back |" in markdown.stdout
    assert image(env, "c002") == "nginx:bad"
    assert env.sim.request_counts("c003")["total"] == 0
