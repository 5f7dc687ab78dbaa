"""JUnit XML of one run, for CI systems (GitLab's test reports, Jenkins' junit step, and the
many CI tools that read the same shape).

Where it sits: a report format beside HTML, Markdown, JSON and metrics (``fleet report --format
junit``, ``fleet sync -o junit``, ``fleet diff -o junit``), computed from one ``RunResult``.

The shape: ``<testsuites>`` holds one ``<testsuite>`` per cluster (named after it) and one
``<testcase>`` per Application on it, with ``classname`` the cluster and ``name`` the Application,
so CI lists "c001 / web". An Application that is not Synced and Healthy is a ``<failure>`` whose
``type`` is its sync status and health and whose ``message`` is its reason and the root cause of
its (masked) message; the body lists its objects that need attention. An Application left out on
purpose (its rollout step did not start, no step selects it) is ``<skipped>``. A cluster that
failed as a whole with no Application to show is one failing test case named ``(cluster)``;
generation errors are test cases of a suite named ``(generation)``.

ElementTree writes and escapes the XML; names and messages never reach it unmasked.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from fleet import redact, results
from fleet.health import Health
from fleet.report import pictures
from fleet.status import SyncStatus

CLUSTER_CASE = "(cluster)"  # the test case of a cluster that failed as a whole
GENERATION_SUITE = "(generation)"  # the suite of the run's generation errors

# XML 1.0 cannot carry most control characters at all (not even escaped), and tool output in
# messages has them (ANSI colours from Helm or kubectl): they become U+FFFD so the file parses.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _text(value: str) -> str:
    return _NOT_XML.sub("\ufffd", redact.mask(value))


def _seconds(value: float) -> str:
    return f"{max(value, 0.0):.3f}"


def _failure(case: ET.Element, *, kind: str, message: str, details: str) -> None:
    element = ET.SubElement(case, "failure", type=_text(kind), message=_text(message))
    element.text = _text(details)


def _app_case(suite: ET.Element, app: results.AppResult) -> str:
    """Add the test case of one Application; what it counts as ("passed", "failure", "skipped")."""
    case = ET.SubElement(
        suite, "testcase", classname=_text(app.cluster), name=_text(app.name), time=_seconds(app.seconds)
    )
    if app.skipped or not app.observed:
        ET.SubElement(
            case,
            "skipped",
            message=_text(
                app.rollout.message
                if app.rollout and app.rollout.message
                else f"{app.reason.value}: not looked at in this run"
            ),
        )
        return "skipped"
    if app.ok:
        return "passed"
    state = f"{app.sync_status.value}/{app.health.value}"
    if app.deletion is not None:
        state = f"{state} ({app.deletion.value})"
    message = (
        f"{app.reason.value}: {results.root_cause(redact.mask(app.message))}"
        if app.message
        else app.reason.value
    )
    lines = [f"{app.name} on {app.cluster}: {state}, {app.reason.value}"]
    if app.message:
        lines.append(redact.mask(app.message))
    if app.revision:
        lines.append(f"revision {app.revision}")
    for r in app.resources:
        if _needs_attention(r):
            health = r.health.value if r.health is not None else "-"
            detail = r.message or r.health_message
            lines.append(f"  {r.ref}: {r.status.value}, {health}{': ' + detail if detail else ''}")
    _failure(case, kind=state, message=message, details="\n".join(lines))
    return "failure"


def _needs_attention(r: results.ResourceResult) -> bool:
    unhealthy = r.health is not None and r.health not in (Health.HEALTHY, Health.SUSPENDED)
    failed = r.result is not None and r.result.is_failure()
    return r.status is not SyncStatus.SYNCED or unhealthy or failed


def render(run: results.RunResult) -> str:
    """The run as a JUnit XML document (UTF-8, with its XML declaration)."""
    root = ET.Element("testsuites", name=_text(f"fleet {run.kind.value} {run.run_id}"))
    totals = {"tests": 0, "failures": 0, "skipped": 0}
    timestamp = run.started_at[:19]  # the schema's xs:dateTime without a zone (UTC here)
    for cluster in run.clusters:
        suite = ET.SubElement(
            root,
            "testsuite",
            name=_text(cluster.cluster),
            timestamp=timestamp,
            hostname=_text(cluster.worker or "fleet"),
            time=_seconds(cluster.seconds),
        )
        counts = {"tests": 0, "failures": 0, "skipped": 0}
        if cluster.reason is not None and not cluster.apps:
            case = ET.SubElement(
                suite,
                "testcase",
                classname=_text(cluster.cluster),
                name=CLUSTER_CASE,
                time=_seconds(cluster.seconds),
            )
            message = f"{cluster.reason.value}: {results.root_cause(redact.mask(cluster.message))}"
            _failure(case, kind=cluster.reason.value, message=message, details=cluster.message)
            counts["tests"] += 1
            counts["failures"] += 1
        for app in cluster.apps:
            outcome = _app_case(suite, app)
            counts["tests"] += 1
            if outcome == "failure":
                counts["failures"] += 1
            elif outcome == "skipped":
                counts["skipped"] += 1
        _count(suite, counts, totals)
    if run.errors:
        suite = ET.SubElement(
            root, "testsuite", name=GENERATION_SUITE, timestamp=timestamp, hostname="fleet", time=_seconds(0)
        )
        for number, error in enumerate(run.errors, start=1):
            case = ET.SubElement(
                suite, "testcase", classname=GENERATION_SUITE, name=f"error {number}", time=_seconds(0)
            )
            _failure(
                case, kind="GenerationError", message=results.root_cause(redact.mask(error)), details=error
            )
        _count(suite, {"tests": len(run.errors), "failures": len(run.errors), "skipped": 0}, totals)
    seconds = _run_seconds(run)
    root.set("tests", str(totals["tests"]))
    root.set("failures", str(totals["failures"]))
    root.set("errors", "0")
    root.set("skipped", str(totals["skipped"]))
    root.set("time", _seconds(seconds))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _count(suite: ET.Element, counts: dict[str, int], totals: dict[str, int]) -> None:
    suite.set("tests", str(counts["tests"]))
    suite.set("failures", str(counts["failures"]))
    suite.set("errors", "0")
    suite.set("skipped", str(counts["skipped"]))
    for key, value in counts.items():
        totals[key] += value


def _run_seconds(run: results.RunResult) -> float:
    return pictures.run_seconds(run) or 0.0


__all__ = ["CLUSTER_CASE", "GENERATION_SUITE", "render"]
