"""`fleet status` shows the latest state per Application and cluster from the status store (exit
1 while anything needs attention); `fleet report` renders the latest run and its history in
every format. Every test runs on both store backends (SQLite and PostgreSQL, ``store_url``)."""

from __future__ import annotations

import json

import pytest


@pytest.fixture
def synced_twice(make_fleet, store_url):
    env = make_fleet("basic", clusters=2, store=store_url)
    assert env.sync().exit_code == 0
    # c002 now refuses fleet's token (fails fast: no retries on a 401)
    env.clusters_file.write_text(env.clusters_file.read_text().replace(env.sim.token_for("c002"), "revoked"))
    assert env.sync().exit_code == 1
    return env


def test_status_table_shows_each_application_and_the_failed_cluster(synced_twice) -> None:
    env = synced_twice
    run = env.run("status", *env.store_args())
    assert run.exit_code == 1
    assert "web-c001" in run.stdout and "web-c002" in run.stdout
    assert "cluster c002: PermissionDenied" in run.stdout
    assert "2 applications on 2 clusters: 1 Synced and Healthy, 1 need attention" in run.stdout


@pytest.mark.parametrize(
    "flags, expected, code",
    [
        (["--cluster", "c001"], {"web-c001"}, 0),
        (["--app", "web-c00*"], {"web-c001", "web-c002"}, 1),
    ],
    ids=["one-healthy-cluster", "glob"],
)
def test_status_json_filters(synced_twice, flags, expected, code) -> None:
    env = synced_twice
    run = env.run("status", *env.store_args(), "-o", "json", *flags)
    assert run.exit_code == code
    doc = json.loads(run.stdout)
    assert {a["name"] for a in doc["applications"]} == expected


def test_status_without_any_run_is_bad_input(tmp_path, make_fleet) -> None:
    env = make_fleet("basic", clusters=1)
    run = env.run("status", "--state-dir", str(tmp_path / "empty"))
    assert run.exit_code == 2 and "status.db" in run.stderr


def test_status_of_an_empty_postgresql_store_is_bad_input_naming_it_without_its_password(
    make_fleet, postgres_server, postgres_url
) -> None:
    env = make_fleet("basic", clusters=1)
    run = env.run("status", "--store", postgres_url)
    assert run.exit_code == 2 and "holds no runs yet" in run.stderr
    assert f"127.0.0.1:{postgres_server.port}" in run.stderr and postgres_server.password not in run.stderr


@pytest.mark.parametrize(
    "fmt, expect",
    [
        ("html", "<html"),
        ("markdown", "# Fleet sync report"),
        ("json", '"history"'),
        ("metrics", "fleet_cluster_reachable"),
    ],
)
def test_report_renders_the_latest_run_with_its_history(synced_twice, tmp_path, fmt, expect) -> None:
    env = synced_twice
    target = tmp_path / f"report.{fmt}"
    run = env.run("report", *env.store_args(), "--format", fmt, "--output", str(target))
    assert run.exit_code == 0, run.stderr
    text = target.read_text()
    assert expect in text and "c002" in text
    if fmt == "json":
        doc = json.loads(text)
        assert len(doc["history"]) == 2 and doc["ok"] is False


def test_report_goes_to_stdout_and_limits_the_history(synced_twice) -> None:
    env = synced_twice
    run = env.run("report", *env.store_args(), "--format", "json", "--runs", "1")
    assert run.exit_code == 0
    assert len(json.loads(run.stdout)["history"]) == 1
