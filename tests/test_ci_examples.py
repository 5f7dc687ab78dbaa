"""The CI examples in examples/ci (GitHub Actions and GitLab CI) do what they say: their YAML is
valid for each forge (check-jsonschema's vendored schemas), and their commands, run as the
forge's runner runs them (tests/ci_runner.py), sync a fleet on the simulator, and preview a
change as a comment posted to a loopback stand-in for the forge's API.

The clusters come as in production: a kubeconfig whose context `argocd` is Argo CD's management
cluster, holding the cluster Secrets of c001 and c002. GitHub's "Install fleet" step is the one
step not run: it installs the released package from PyPI, where these tests use this checkout's
fleet (first on PATH).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from fleet import cli
from fleet.clusters import argocd
from fleet.clusters.sim import SimServer
from tests.ci_runner import ApiRecorder, load, run_github_job, run_gitlab_job
from tests.conftest import REPO_ROOT
from tests.fixtures.sync import DATA as SYNC_DATA
from tests.fixtures.sync import REPO_URL as SYNC_REPO_URL

EXAMPLES = REPO_ROOT / "examples" / "ci"
GITHUB_PREVIEW = load(EXAMPLES / "github" / "fleet-preview.yml")
GITHUB_SYNC = load(EXAMPLES / "github" / "fleet-sync.yml")
GITLAB = load(EXAMPLES / "gitlab" / ".gitlab-ci.yml")
BIN = Path(sys.executable).parent
CHECK_JSONSCHEMA = BIN / "check-jsonschema"


def _fleet_has(command: str) -> bool:
    return CliRunner().invoke(cli.app, [command, "--help"]).exit_code == 0


@pytest.mark.parametrize(
    ("path", "schema"),
    [
        ("github/fleet-preview.yml", "vendor.github-workflows"),
        ("github/fleet-sync.yml", "vendor.github-workflows"),
        ("gitlab/.gitlab-ci.yml", "vendor.gitlab-ci"),
    ],
    ids=["github-preview", "github-sync", "gitlab"],
)
def test_each_example_is_valid_for_its_forge(path: str, schema: str) -> None:
    done = subprocess.run(
        [str(CHECK_JSONSCHEMA), "--builtin-schema", schema, str(EXAMPLES / path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_preview_command_variable_names_a_fleet_command_that_exists() -> None:
    for chosen in (GITHUB_PREVIEW["env"]["FLEET_PREVIEW"], GITLAB["variables"]["FLEET_PREVIEW"]):
        assert chosen in ("diff", "plan")
        assert _fleet_has(chosen), f"the examples use `fleet {chosen}`, which this fleet does not have"


@pytest.fixture
def clusters() -> Iterator[SimServer]:
    with SimServer(["argocd", "c001", "c002"], rollout_seconds=0.1, tls=True) as sim:
        sim.apply_object("argocd", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "argocd"}})
        for cluster in sim.clusters():
            if cluster.name != "argocd":
                sim.apply_object("argocd", argocd.cluster_secret(cluster, namespace="argocd"))
        yield sim


def _checkout(make_git_repo: Any, repo_url: str) -> Any:
    """The fleet repository as the job's checkout, its ApplicationSets reading `repo_url`."""
    repo = make_git_repo("checkout")
    shutil.copytree(SYNC_DATA / "basic", repo.path, dirs_exist_ok=True)
    repo.write({"appset.yaml": (repo.path / "appset.yaml").read_text().replace(SYNC_REPO_URL, repo_url)})
    repo.commit("the web fleet")
    return repo


def _base_env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return {
        "PATH": f"{BIN}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(home),
        "CI": "true",
        "FLEET_CACHE_DIR": str(tmp_path / "cache"),
    }


def _github(
    workflow: dict[str, Any],
    sim: SimServer,
    repo: Any,
    tmp_path: Path,
    api: str,
    *,
    base_sha: str | None = None,
) -> Any:
    tmp_path.mkdir(parents=True, exist_ok=True)
    kubeconfig = sim.write_kubeconfig(tmp_path / "admin.kubeconfig").read_text()
    temp = tmp_path / "runner-temp"
    temp.mkdir(exist_ok=True)
    env = {
        **_base_env(tmp_path),
        "GITHUB_API_URL": api,
        "GITHUB_REPOSITORY": "example-org/fleet",
        "GITHUB_SHA": repo.head,
    }
    expressions = {
        "secrets.FLEET_KUBECONFIG": kubeconfig,
        "github.token": "ghs_test_token",
        "github.event.pull_request.number": "7",
        "github.event.pull_request.base.sha": base_sha or repo.head,
        "github.event.pull_request.head.sha": repo.head,
    }
    (job,) = workflow["jobs"]
    return run_github_job(
        workflow,
        job,
        base_env=env,
        expressions=expressions,
        cwd=repo.path,
        runner_temp=temp,
        skip_ids=("install-fleet",),
    )


def _greeting(sim: SimServer, cluster: str) -> str:
    found = sim.get_object(cluster, "v1", "ConfigMap", "web", "web-config")
    assert found is not None
    return str(found["data"]["greeting"])


def _change_the_greeting(repo: Any) -> None:
    path = repo.path / "apps" / "web" / "configmap.yaml"
    path.write_text(path.read_text().replace("hello", "bonjour"))


@pytest.mark.slow
def test_github_scheduled_sync_then_a_pull_request_preview_commenting_what_would_change(
    clusters: SimServer, make_git_repo: Any, tmp_path: Path
) -> None:
    assert GITHUB_SYNC["env"]["FLEET_REPO_URL"] == GITHUB_PREVIEW["env"]["FLEET_REPO_URL"]
    repo = _checkout(make_git_repo, GITHUB_SYNC["env"]["FLEET_REPO_URL"])

    # 1. The scheduled sync makes every cluster match and keeps the report.
    with ApiRecorder().serve() as api:
        sync = _github(GITHUB_SYNC, clusters, repo, tmp_path / "sync", api)
    assert sync.ok, sync.log()
    assert sync.not_run == [
        "actions/checkout@v4",
        "actions/setup-python@v5",
        "install-fleet",
        "actions/upload-artifact@v4",
    ]
    assert [_greeting(clusters, c) for c in ("c001", "c002")] == ["hello", "hello"]
    summary = (tmp_path / "sync" / "runner-temp" / "_github_step_summary").read_text()
    assert "| c001 | ok | 1/1 |" in summary and "| c002 | ok | 1/1 |" in summary
    report = (tmp_path / "sync" / "runner-temp" / "fleet-report.html").read_text()
    assert "<td>c001</td>" in report and "<td>c002</td>" in report

    # 2. A pull request changes the fleet: the preview comments what would change, and writes nothing.
    _change_the_greeting(repo)
    recorder = ApiRecorder()
    with recorder.serve() as api:
        preview = _github(GITHUB_PREVIEW, clusters, repo, tmp_path / "preview", api)
    assert preview.ok, preview.log()
    assert [_greeting(clusters, c) for c in ("c001", "c002")] == ["hello", "hello"]
    (comment,) = recorder.requests
    assert comment.path == "/repos/example-org/fleet/issues/7/comments"
    assert comment.headers["Authorization"] == "Bearer ghs_test_token"
    body = json.loads(comment.body)["body"]
    assert "| c001 | web-c001 | OutOfSync |" in body and "| c002 | web-c002 | OutOfSync |" in body
    assert "-  greeting: hello" in body and "+  greeting: bonjour" in body
    assert body in (tmp_path / "preview" / "runner-temp" / "_github_step_summary").read_text()


@pytest.mark.slow
def test_github_preview_fails_on_bad_input_instead_of_commenting(
    clusters: SimServer, make_git_repo: Any, tmp_path: Path
) -> None:
    repo = _checkout(make_git_repo, GITHUB_PREVIEW["env"]["FLEET_REPO_URL"])
    (repo.path / "appset.yaml").write_text(
        "apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nmetadata: {name: web}\nspec: [not, a, map\n"
    )
    recorder = ApiRecorder()
    with recorder.serve() as api:
        job = _github(GITHUB_PREVIEW, clusters, repo, tmp_path, api)
    assert not job.ok
    assert job.steps[-1].name == "Preview" and job.steps[-1].returncode == 2, job.log()
    assert recorder.requests == []


def _gitlab(job: str, sim: SimServer, repo: Any, tmp_path: Path, api: str, source: str) -> Any:
    kubeconfig = sim.write_kubeconfig(tmp_path / "kubeconfig")  # a CI/CD variable of type File
    tmp = tmp_path / "job-tmp"
    tmp.mkdir(exist_ok=True)
    env = {
        **_base_env(tmp_path),
        "TMPDIR": str(tmp),
        "KUBECONFIG": str(kubeconfig),
        "CI_PIPELINE_SOURCE": source,
        "CI_PROJECT_DIR": str(repo.path),
        "CI_API_V4_URL": f"{api}/api/v4",
        "CI_PROJECT_ID": "42",
        "CI_MERGE_REQUEST_IID": "9",
        "CI_COMMIT_SHA": repo.head,
        "CI_MERGE_REQUEST_DIFF_BASE_SHA": repo.head,
        "FLEET_GITLAB_TOKEN": "glpat-test-token",
    }
    rule = GITLAB[job]["rules"][0]["if"]
    assert source in rule, f"{job} does not run for {source} pipelines"
    return run_gitlab_job(GITLAB, job, base_env=env, cwd=repo.path)


@pytest.mark.slow
def test_gitlab_scheduled_sync_and_merge_request_preview(
    clusters: SimServer, make_git_repo: Any, tmp_path: Path
) -> None:
    repo = _checkout(make_git_repo, GITLAB["variables"]["FLEET_REPO_URL"])
    with ApiRecorder().serve() as api:
        sync = _gitlab("fleet-sync", clusters, repo, tmp_path, api, "schedule")
    assert sync.ok, sync.log()
    assert [_greeting(clusters, c) for c in ("c001", "c002")] == ["hello", "hello"]
    assert "| c001 | ok | 1/1 |" in sync.steps[0].stdout  # `fleet report --format markdown` in the job log

    _change_the_greeting(repo)
    recorder = ApiRecorder()
    with recorder.serve() as api:
        preview = _gitlab("fleet-preview", clusters, repo, tmp_path, api, "merge_request_event")
    assert preview.ok, preview.log()
    (note,) = recorder.requests
    assert note.path == "/api/v4/projects/42/merge_requests/9/notes"
    assert note.headers["PRIVATE-TOKEN"] == "glpat-test-token"
    body = urllib.parse.parse_qs(note.body.decode())["body"][0]
    assert "| c001 | web-c001 | OutOfSync |" in body and "+  greeting: bonjour" in body
    assert [_greeting(clusters, c) for c in ("c001", "c002")] == ["hello", "hello"]


@pytest.mark.slow
def test_the_plan_preview_path_works_when_switched_on(
    clusters: SimServer, make_git_repo: Any, tmp_path: Path
) -> None:
    repo = _checkout(make_git_repo, GITHUB_PREVIEW["env"]["FLEET_REPO_URL"])
    base = repo.head
    _change_the_greeting(repo)
    repo.commit("bonjour")
    workflow = {**GITHUB_PREVIEW, "env": {**GITHUB_PREVIEW["env"], "FLEET_PREVIEW": "plan"}}
    recorder = ApiRecorder()
    with recorder.serve() as api:
        job = _github(workflow, clusters, repo, tmp_path, api, base_sha=base)
    assert job.ok, job.log()
    (comment,) = recorder.requests
    body = json.loads(comment.body)["body"]
    assert body.startswith("### fleet plan: 2 of 2 Applications change on 2 clusters")
    assert "the same diff on 2 clusters" in body and "+  greeting: bonjour" in body
    for cluster in ("c001", "c002"):  # a plan applies nothing
        assert clusters.get_object(cluster, "v1", "ConfigMap", "web", "web-config") is None
