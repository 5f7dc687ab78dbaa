"""Bad input ends the run with exit 2 and a message naming the file, object and field, before
any cluster is contacted; an invalid Application among valid ones fails alone (InvalidSpec)."""

from __future__ import annotations

import pytest

from fleet.status import Reason

BAD_APPSET = """\
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata:
  name: broken
spec:
  generators: "not a list"
  template: {}
"""

# (what to do to the fleet or the flags, text the error must contain)
CASES = [
    pytest.param(
        {"file": ("broken.yaml", BAD_APPSET)},
        [],
        ["broken.yaml", "ApplicationSet broken", "field spec.generators"],
        id="invalid-appset-field",
    ),
    pytest.param(
        {
            "file": (
                "broken.yaml",
                "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: x\n",
            )
        },
        [],
        ["broken.yaml", "is not valid YAML"],
        id="invalid-yaml",
    ),
    pytest.param({}, ["--selector", "env in (prod"], ["--selector"], id="bad-selector"),
    pytest.param(
        {},
        ["--selector", "env=nowhere"],
        ["--selector", "no registered cluster matches"],
        id="selector-matches-nothing",
    ),
    pytest.param(
        {},
        ["--app", "no-such-app"],
        ["--app", "no Application matches no-such-app"],
        id="app-matches-nothing",
    ),
    pytest.param({}, ["--repo-map", "missing-equals-sign"], ["--repo-map", "URL=PATH"], id="bad-repo-map"),
    pytest.param(
        {}, ["--cluster-timeout", "0"], ["--cluster-timeout", "must be positive"], id="zero-timeout"
    ),
    pytest.param({}, ["--executor", "threads"], ["--executor", "want ray or local"], id="unknown-executor"),
    pytest.param(
        {},
        ["--clusters", "/nonexistent/clusters.yaml"],
        ["/nonexistent/clusters.yaml"],
        id="missing-cluster-file",
    ),
]


@pytest.mark.parametrize("change, flags, says", CASES)
def test_bad_input_exits_2_naming_what_is_wrong_and_touches_no_cluster(
    make_fleet, change, flags, says
) -> None:
    env = make_fleet("basic", clusters=2)
    if "file" in change:
        env.write(*change["file"])
    args = env.args()
    if "--executor" in flags:
        args[args.index("--executor") + 1] = flags[flags.index("--executor") + 1]
        flags = []
    run = env.run("sync", *args, *flags)
    assert run.exit_code == 2, (run.stdout, run.stderr)
    for text in says:
        assert text in run.stderr
    assert run.stdout == ""
    assert all(c["total"] == 0 for c in env.sim.request_counts().values())


def test_a_missing_fleet_directory_is_bad_input(make_fleet, tmp_path) -> None:
    env = make_fleet("basic", clusters=1)
    run = env.run(
        "sync", str(tmp_path / "nowhere"), "--clusters", str(env.clusters_file), "--executor", "local"
    )
    assert run.exit_code == 2 and "nowhere: does not exist" in run.stderr


def test_an_invalid_sync_policy_fails_only_its_application(make_fleet) -> None:
    env = make_fleet("basic", clusters=1)
    env.write(
        "other.yaml",
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Application",
            "metadata": {"name": "other"},
            "spec": {
                "project": "default",
                "destination": {"name": "c001", "namespace": "other"},
                "source": {"repoURL": "https://git.example.com/fleet.git", "path": "apps/web"},
                "syncPolicy": {"syncOptions": ["CreateNamespace=maybe"]},
            },
        },
    )
    run = env.sync()
    assert run.exit_code == 1
    bad = run.app("c001", "other")
    assert (
        bad.reason is Reason.INVALID_SPEC
        and "syncPolicy.syncOptions" in bad.message
        and "maybe" in bad.message
    )
    assert run.app("c001", "web-c001").ok


def test_an_unknown_destination_is_a_generation_error_naming_the_application(make_fleet) -> None:
    env = make_fleet("basic", clusters=1)
    env.write(
        "other.yaml",
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Application",
            "metadata": {"name": "lost"},
            "spec": {
                "project": "default",
                "destination": {"name": "c999", "namespace": "x"},
                "source": {"repoURL": "https://git.example.com/fleet.git", "path": "apps/web"},
            },
        },
    )
    run = env.sync()
    assert run.exit_code == 1
    assert any("Application lost" in e and "c999" in e for e in run.run_result.errors)
    assert "error: Application lost: destination 'c999' is not a registered cluster" in run.stderr
    assert run.app("c001", "web-c001").ok
