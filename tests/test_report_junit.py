"""JUnit XML for CI systems (`fleet report --format junit`, `fleet sync -o junit`, `fleet diff -o
junit`): one test case per Application and cluster with the cluster as classname, a failure for
each that is not Synced and Healthy (its sync status and health as type, its reason and masked
message), skipped for the ones a rollout left out, a failing case for a cluster that failed whole
and for each generation error. Every document parses with xml.etree and validates against the
shape GitLab and Jenkins read (tests/data/junit/junit.xsd)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import xmlschema

from fleet import redact, report, results
from fleet.health import Health
from fleet.report import junit
from fleet.status import OperationPhase, Reason, SyncStatus

SCHEMA = xmlschema.XMLSchema(str(Path(__file__).parent / "data" / "junit" / "junit.xsd"))
SECRET = "s3cr3t-token-value"


def app(
    name: str,
    cluster: str,
    sync: SyncStatus,
    health: Health,
    reason: Reason,
    message: str = "",
    rollout: results.AppRollout | None = None,
    phase: OperationPhase = OperationPhase.SUCCEEDED,
) -> results.AppResult:
    return results.AppResult(
        name=name,
        cluster=cluster,
        sync_status=sync,
        health=health,
        phase=phase,
        reason=reason,
        message=message,
        seconds=1.25,
        rollout=rollout,
    )


RUN = results.RunResult(
    run_id="r1",
    kind=results.RunKind.SYNC,
    started_at="2026-01-02T03:04:05.000000Z",
    finished_at="2026-01-02T03:04:35.500000Z",
    errors=("ApplicationSet broken: generators[0].list: elements must be a list",),
    clusters=(
        results.ClusterResult(
            cluster="c001",
            seconds=2.5,
            apps=(
                app("web", "c001", SyncStatus.SYNCED, Health.HEALTHY, Reason.SUCCEEDED),
                app(
                    "api",
                    "c001",
                    SyncStatus.OUT_OF_SYNC,
                    Health.DEGRADED,
                    Reason.HEALTH_CHECK_FAILED,
                    f"Deployment api: crash loop; token {SECRET}\x1b[31m red\x1b[0m",
                ),
                app(
                    "batch",
                    "c001",
                    SyncStatus.SYNCED,
                    Health.HEALTHY,
                    Reason.ROLLOUT_WAITING,
                    phase=OperationPhase.NOT_STARTED,
                    rollout=results.AppRollout(
                        rollout="web",
                        step=2,
                        steps=2,
                        state=results.RolloutState.WAITING,
                        message="step 1 failed",
                    ),
                ),
            ),
        ),
        results.ClusterResult(
            cluster="c002",
            reachable=False,
            reason=Reason.CLUSTER_UNREACHABLE,
            message="dial tcp 10.0.0.2:443: connection refused",
        ),
    ),
)


def cases(xml: str) -> dict[tuple[str, str], ET.Element]:
    return {(c.get("classname"), c.get("name")): c for c in ET.fromstring(xml).iter("testcase")}


def test_each_application_is_a_test_case_of_its_cluster_and_failures_say_why() -> None:
    redact.register(SECRET)
    xml = report.render(RUN, fmt="junit")
    SCHEMA.validate(xml)
    found = cases(xml)
    assert set(found) == {
        ("c001", "web"),
        ("c001", "api"),
        ("c001", "batch"),
        ("c002", junit.CLUSTER_CASE),
        (junit.GENERATION_SUITE, "error 1"),
    }
    assert list(found["c001", "web"]) == []  # passed
    failure = found["c001", "api"].find("failure")
    assert failure is not None and failure.get("type") == "OutOfSync/Degraded"
    assert failure.get("message", "").startswith("HealthCheckFailed: Deployment api: crash loop; token ***")
    assert "\ufffd[31m" in failure.get("message", "")  # control characters XML cannot carry
    skipped = found["c001", "batch"].find("skipped")
    assert skipped is not None and skipped.get("message") == "step 1 failed"
    cluster_failure = found["c002", junit.CLUSTER_CASE].find("failure")
    assert cluster_failure is not None and cluster_failure.get("type") == "ClusterUnreachable"
    assert SECRET not in xml
    assert found["c001", "api"].get("time") == "1.250"


def test_counts_add_up_per_suite_and_in_total() -> None:
    root = ET.fromstring(report.render(RUN, fmt="junit"))
    assert (
        root.get("tests"),
        root.get("failures"),
        root.get("errors"),
        root.get("skipped"),
        root.get("time"),
    ) == ("5", "3", "0", "1", "30.500")
    for suite in root.iter("testsuite"):
        testcases = suite.findall("testcase")
        assert int(suite.get("tests", "")) == len(testcases)
        assert int(suite.get("failures", "")) == sum(1 for c in testcases if c.find("failure") is not None)
        assert int(suite.get("skipped", "")) == sum(1 for c in testcases if c.find("skipped") is not None)
    assert [s.get("name") for s in root.iter("testsuite")] == ["c001", "c002", junit.GENERATION_SUITE]
    assert root.find("testsuite").get("timestamp") == "2026-01-02T03:04:05"


@pytest.fixture
def synced(make_fleet):
    env = make_fleet("basic", clusters=2)
    # c002 refuses fleet's token (fails fast: no retries on a 401)
    env.clusters_file.write_text(env.clusters_file.read_text().replace(env.sim.token_for("c002"), "revoked"))
    return env


@pytest.mark.parametrize("command", ["sync", "diff"])
def test_sync_and_diff_print_junit(synced, command) -> None:
    run = synced.sync(output="junit") if command == "sync" else synced.diff(output="junit")
    assert run.exit_code == 1, run.stderr
    SCHEMA.validate(run.stdout)
    found = cases(run.stdout)
    web = found["c001", "web-c001"]
    if command == "sync":
        assert list(web) == []  # passed
    else:
        assert web.find("failure") is not None  # nothing was applied yet: it differs from Git
    failure = found["c002", "web-c002"].find("failure")
    assert failure is not None and failure.get("message", "").startswith("PermissionDenied")


def test_fleet_report_prints_the_latest_run_as_junit(synced) -> None:
    assert synced.sync().exit_code == 1
    run = synced.run("report", *synced.store_args(), "--format", "junit")
    assert run.exit_code == 0, run.stderr
    SCHEMA.validate(run.stdout)
    assert set(cases(run.stdout)) == {("c001", "web-c001"), ("c002", "web-c002")}


def test_junit_with_every_is_bad_input_naming_the_flag(synced) -> None:
    run = synced.run("sync", *synced.args("--every", "1m"), "-o", "junit")
    assert run.exit_code == 2
    assert "-o" in run.stderr and "junit prints one run" in run.stderr
