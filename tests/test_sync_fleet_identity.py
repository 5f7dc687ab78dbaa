"""Every inventory records the fleet that wrote it (its repository, normalised, and an optional
--fleet-name); a run deletes only Applications whose inventory its own fleet wrote, never another
fleet's, and keeps inventories that record no fleet unless told to adopt them (issue 8, item 1).

The issue's second scenario: syncing a second, unrelated fleet repository to the same clusters
cascade-deleted the first fleet's Applications as "removed from Git".
"""

from __future__ import annotations

import shutil
from pathlib import Path

import git
import pytest
import yaml

from fleet import driver, lifecycle
from fleet.driver import sources
from fleet.results import Deletion
from fleet.status import Reason

INVENTORY = ("v1", "ConfigMap", "fleet-system")
OTHER_URL = "https://git.example.com/other.git"


def other_fleet(env, tmp_path: Path, *, app: str = "api", namespace: str = "api") -> list[str]:
    """A second fleet repository (another directory, another repoURL) for the same clusters: the
    same manifests, under another ApplicationSet. Returns its `fleet sync` arguments."""
    root = tmp_path / "other-fleet"
    shutil.copytree(env.root, root)
    doc = yaml.safe_load((root / "appset.yaml").read_text())
    doc["metadata"]["name"] = app
    doc["spec"]["template"]["metadata"]["name"] = f"{app}-{{{{name}}}}"
    doc["spec"]["template"]["spec"]["source"]["repoURL"] = OTHER_URL
    doc["spec"]["template"]["spec"]["destination"]["namespace"] = namespace
    (root / "appset.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return [
        str(root),
        "--clusters",
        str(env.clusters_file),
        "--repo-map",
        f"{OTHER_URL}={root}",
        "--executor",
        "local",
        "--state-dir",
        str(tmp_path / "other-state"),
        "-o",
        "json",
    ]


def test_a_second_fleet_never_deletes_the_first_fleets_applications(make_fleet, tmp_path) -> None:
    env = make_fleet("basic")
    assert env.sync().exit_code == 0
    # Even with the deletion guard lifted: the first fleet's Applications are not the second's.
    second = env.run("--log-format", "json", "sync", *other_fleet(env, tmp_path), "--allow-mass-delete")
    assert second.exit_code == 0, second.stderr
    assert not [a for a in second.run_result.apps() if a.deletion]  # not even reported
    for cluster in env.cluster_names:
        assert env.names(cluster, "web", "Deployment") == ["web"]
        assert env.names(cluster, "api", "Deployment") == ["web"]
    first_again = env.sync("--allow-mass-delete")
    assert first_again.exit_code == 0, first_again.stderr
    assert not [a for a in first_again.run_result.apps() if a.deletion]
    assert all(env.names(c, "api", "Deployment") == ["web"] for c in env.cluster_names)


def test_inventories_record_the_fleet_and_its_name(make_fleet) -> None:
    env = make_fleet("basic", clusters=1)
    assert env.sync("--fleet-name", "platform").exit_code == 0
    annotations = env.sim.get_object("c001", *INVENTORY, "inventory-web-c001")["metadata"]["annotations"]
    assert annotations[lifecycle.FLEET_REPO_ANNOTATION] == env.root.resolve().as_uri()
    assert annotations[lifecycle.FLEET_NAME_ANNOTATION] == "platform"


def test_the_same_repository_under_another_fleet_name_is_another_fleet(make_fleet) -> None:
    env = make_fleet("basic", clusters=2)
    assert env.sync("--fleet-name", "blue").exit_code == 0
    env.remove("appset.yaml")
    green = env.sync("--fleet-name", "green", "--allow-empty", "--allow-mass-delete")
    assert green.exit_code == 0, green.stderr
    assert not [a for a in green.run_result.apps() if a.deletion]
    assert all(env.names(c, "web", "Deployment") == ["web"] for c in env.cluster_names)


def test_an_inventory_that_records_no_fleet_is_kept_unless_adopted(make_fleet) -> None:
    env = make_fleet("basic", clusters=2)
    assert env.sync().exit_code == 0
    for cluster in env.cluster_names:  # as fleet wrote it before inventories had an identity

        def forget(obj: dict) -> None:
            for key in (lifecycle.FLEET_REPO_ANNOTATION, lifecycle.FLEET_NAME_ANNOTATION):
                obj["metadata"]["annotations"].pop(key)

        env.sim.edit_object(cluster, *INVENTORY, f"inventory-web-{cluster}", forget)
    doc = yaml.safe_load((env.root / "appset.yaml").read_text())
    doc["spec"]["generators"] = [{"list": {"elements": [{"name": "c001"}]}}]
    env.write("appset.yaml", doc)
    kept = env.sync("--allow-mass-delete")
    assert kept.exit_code == 0, kept.stderr
    app = kept.app("c002", "web-c002")
    assert app.deletion is Deletion.KEPT and "--adopt-inventories" in app.message
    assert env.names("c002", "web", "Deployment") == ["web"]
    # The Application still generated took its inventory over when it synced.
    annotations = env.sim.get_object("c001", *INVENTORY, "inventory-web-c001")["metadata"]["annotations"]
    assert annotations[lifecycle.FLEET_REPO_ANNOTATION] == env.root.resolve().as_uri()
    adopted = env.sync("--allow-mass-delete", "--adopt-inventories")
    assert adopted.exit_code == 0, adopted.stderr
    assert adopted.app("c002", "web-c002").deletion is Deletion.DELETED
    assert env.names("c002", "web", "Deployment") == []


def test_an_application_another_fleet_synced_is_not_synced_over(make_fleet, tmp_path) -> None:
    env = make_fleet("basic", clusters=1)
    assert env.sync().exit_code == 0
    # The second fleet generates an Application of the same name for the same cluster.
    second = env.run(
        "--log-format", "json", "sync", *other_fleet(env, tmp_path, app="web", namespace="elsewhere")
    )
    assert second.exit_code == 1
    app = second.app("c001", "web-c001")
    assert app.reason is Reason.SHARED_RESOURCE and "belongs to another fleet" in app.message
    assert env.root.resolve().as_uri() in app.message
    assert env.objects("c001", "elsewhere") == []
    annotations = env.sim.get_object("c001", *INVENTORY, "inventory-web-c001")["metadata"]["annotations"]
    assert annotations[lifecycle.FLEET_REPO_ANNOTATION] == env.root.resolve().as_uri()


def checkout(tmp_path: Path) -> Path:
    repo = git.Repo.init(tmp_path / "checkout")
    repo.create_remote("origin", "https://user:s3cret@Git.Example.com/Platform/Fleet.git")
    (tmp_path / "checkout" / "envs" / "prod").mkdir(parents=True)
    return tmp_path / "checkout"


IDENTITIES = [
    pytest.param(lambda t: (t / "plain").mkdir() or t / "plain", None, id="directory-outside-git"),
    pytest.param(checkout, "https://git.example.com/platform/fleet", id="checkout-reads-as-its-origin"),
    pytest.param(
        lambda t: checkout(t) / "envs" / "prod",
        "https://git.example.com/platform/fleet//envs/prod",
        id="folder-inside-a-checkout",
    ),
]


@pytest.mark.parametrize("make, repo", IDENTITIES)
def test_a_local_fleet_is_identified_by_its_repository(tmp_path, make, repo) -> None:
    path = make(tmp_path)
    found = sources.fleet_identity(driver.RunRequest(fleet=str(path), fleet_name="x"))
    assert found == lifecycle.FleetIdentity(repo or path.resolve().as_uri(), "x")
    assert "s3cret" not in str(found)


def test_a_git_url_fleet_is_identified_by_its_normalised_url() -> None:
    request = driver.RunRequest(fleet="https://tok@GIT.example.com/Platform/Fleet.git/")
    assert sources.fleet_identity(request) == lifecycle.FleetIdentity(
        "https://git.example.com/platform/fleet"
    )


def test_a_bad_fleet_name_is_bad_input(make_fleet) -> None:
    env = make_fleet("basic", clusters=1)
    run = env.sync("--fleet-name", "not a name!")
    assert run.exit_code == 2 and "--fleet-name" in run.stderr
    assert env.objects("c001", "web") == []
