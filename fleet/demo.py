"""``fleet demo``: the whole loop on simulated clusters, with no set-up.

Where it sits: on top of everything else. It starts ``fleet sim`` in this process (50 clusters
labelled like the bundled ``examples/clusters.yaml``), builds the bundled example fleet
(``examples/fleet-repo``) into a real git repository with GitPython, and points the example's
repository URL at it with git's own ``url.<base>.insteadOf`` (set for this process only), so the
fleet is read from git at a resolved commit, as in production. Then:

1. sync the fleet on Ray (every Application Synced and Healthy);
2. break one cluster (unreachable) and change one object by hand (drift);
3. sync again: the broken cluster is reported, the drift is found and healed (selfHeal), every
   other cluster costs only its LISTs;
4. print the fleet's state and write the report (HTML and Markdown) into a directory it names.

It returns 0 when all of that behaved as expected, 1 (saying what did not) otherwise.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import yaml

from fleet import driver, errors, report, results, store
from fleet import executor as executors
from fleet.driver import recording
from fleet.report import text
from fleet.status import Reason

EXAMPLE_REPO_URL = "https://git.example.com/platform/fleet.git"
BROKEN_CLUSTER = "c007"  # made unreachable before the second sync
DRIFT_CLUSTER = "c003"  # a dev cluster: its platform Application heals drift (selfHeal)
DRIFT_APP = "platform-c003"
DRIFT_OBJECT = ("v1", "ConfigMap", "platform-system", "cluster-info")
MIN_CLUSTERS = 50


def examples_dir() -> Path:
    root = executors.project_root()
    folder = (root / "examples") if root else None
    if folder is None or not (folder / "fleet-repo").is_dir():
        raise errors.InputError(
            "the bundled examples are not here; run `fleet demo` from a source checkout",
            file=str(folder or "examples"),
        )
    return folder


def cluster_labels(path: Path) -> dict[str, dict[str, str]]:
    """Labels per cluster name from the example's Argo CD cluster Secrets."""
    out: dict[str, dict[str, str]] = {}
    for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
        if not isinstance(doc, dict):
            continue
        name = str((doc.get("stringData") or {}).get("name") or "")
        labels = {
            k: str(v)
            for k, v in ((doc.get("metadata") or {}).get("labels") or {}).items()
            if k != "argocd.argoproj.io/secret-type"
        }
        if name:
            out[name] = labels
    return out


def build_repository(source: Path, dest: Path) -> str:
    """``source`` as a git repository at ``dest`` (one commit on main); returns the commit."""
    import git

    shutil.copytree(source, dest)
    repo = git.Repo.init(dest, initial_branch="main")
    with repo.config_writer() as config:
        config.set_value("user", "name", "fleet demo")
        config.set_value("user", "email", "demo@fleet.example")
        config.set_value("commit", "gpgsign", "false")
    repo.git.add("--all")
    return repo.index.commit("The example fleet").hexsha


@contextlib.contextmanager
def _git_redirect(url: str, path: Path) -> Iterator[None]:
    """git's ``url.<path>.insteadOf <url>`` for this process only (GIT_CONFIG_COUNT, git >= 2.31)."""
    keys = ("GIT_CONFIG_COUNT", "GIT_CONFIG_KEY_0", "GIT_CONFIG_VALUE_0")
    saved = {k: os.environ.get(k) for k in keys}
    os.environ.update(
        {"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": f"url.{path}.insteadOf", "GIT_CONFIG_VALUE_0": url}
    )
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def cluster_table(run: results.RunResult, *, only_problems: bool = False) -> Any:
    from rich import box
    from rich.table import Table

    table = Table(box=box.SIMPLE, show_edge=False, pad_edge=False, header_style="bold")
    for column in ("CLUSTER", "APPS", "SYNCED+HEALTHY", "CHANGED", "DRIFTED", "REQUESTS", "SECONDS", "STATE"):
        table.add_column(column, overflow="fold")
    for c in run.clusters:
        changed = sum(
            1
            for a in c.apps
            for r in a.resources
            if r.action in (results.Action.CREATED, results.Action.CONFIGURED, results.Action.PRUNED)
        )
        drifted = sum(1 for a in c.apps for r in a.resources if r.drift)
        if only_problems and c.ok and not changed and not drifted:
            continue
        state = "ok" if c.ok else (f"{c.reason.value}: {c.message[:70]}" if c.reason else "attention")
        verbs = ",".join(f"{v}={n}" for v, n in sorted(c.requests.items()))
        table.add_row(
            c.cluster,
            str(len(c.apps)),
            str(sum(1 for a in c.apps if a.ok)),
            str(changed),
            str(drifted),
            f"{c.request_total} ({verbs})" if verbs else "0",
            f"{c.seconds:.2f}",
            state,
        )
    return table


def run_demo(
    *,
    clusters: int = 50,
    output_dir: Path | None = None,
    executor: str = executors.ExecutorKind.RAY,
    echo: Callable[[str], None] = print,
    table: Callable[[Any], None] = print,
) -> int:
    from fleet.clusters.sim import SimServer

    if clusters < MIN_CLUSTERS:
        # The demo plays the 50 clusters of examples/clusters.yaml (their labels, the broken c007,
        # the drifted c003); the example fleet itself works with any number (see the README).
        raise errors.InputError(
            f"the demo needs at least {MIN_CLUSTERS} clusters (got {clusters})", field="--clusters"
        )
    examples = examples_dir()
    out = Path(output_dir) if output_dir else Path(tempfile.mkdtemp(prefix="fleet-demo-"))
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="fleet-demo-work-"))
    started = time.monotonic()
    checks: list[tuple[str, bool]] = []
    try:
        labels = cluster_labels(examples / "clusters.yaml")
        names = [f"c{i:03d}" for i in range(1, clusters + 1)]
        templates = [labels[n] for n in sorted(labels)]
        label_map = {n: labels.get(n) or templates[i % len(templates)] for i, n in enumerate(names)}
        repo = work / "fleet-repo"
        sha = build_repository(examples / "fleet-repo", repo)
        # Not its path: the repository lives in a work directory removed when the demo ends, and a
        # path printed for the user to open should still be there (issue 8, item 13).
        echo(
            f"fleet demo: the example fleet is a temporary git repository (commit {sha[:12]}), served as "
            f"{EXAMPLE_REPO_URL}"
        )
        with (
            _git_redirect(EXAMPLE_REPO_URL, repo),
            SimServer(names, labels=label_map, rollout_seconds=0.3) as sim,
        ):
            echo(f"fleet demo: {clusters} simulated clusters at {sim.url}/clusters/<name>")
            request = driver.RunRequest(
                fleet=EXAMPLE_REPO_URL,
                revision="main",
                clusters=tuple(sim.clusters()),
                executor=executor,
                state_dir=str(out / "state"),
                git_cache=str(work / "git-cache"),
                cluster_timeout=90.0,
                health_timeout=60.0,
            )
            ex = executors.make_executor(
                request.executor, concurrency=request.concurrency, address=request.ray_address
            )
            db = recording.open_store(request)
            try:
                echo(f"\n== 1. sync the fleet ({ex.name} executor)")
                first = driver.run_recorded(request, db=db, executor_=ex)
                table(cluster_table(first))
                echo(text.summary_line(first))
                checks.append(("first sync: every Application Synced and Healthy on every cluster", first.ok))
                checks.append(
                    ("first sync: read the fleet at the repository's commit", first.revision == sha)
                )

                echo(
                    f"\n== 2. break cluster {BROKEN_CLUSTER} (unreachable) and change "
                    f"{DRIFT_OBJECT[1]} {DRIFT_OBJECT[2]}/{DRIFT_OBJECT[3]} by hand on {DRIFT_CLUSTER}"
                )
                sim.set_fault(BROKEN_CLUSTER, unreachable=True)
                api_version, kind, namespace, name = DRIFT_OBJECT
                sim.edit_object(
                    DRIFT_CLUSTER,
                    api_version,
                    kind,
                    namespace,
                    name,
                    lambda obj: obj.setdefault("data", {}).update(contact="someone-by-hand@example.com"),
                )
                sim.reset_counts()

                echo(
                    f"\n== 3. sync again (cluster {BROKEN_CLUSTER} is EXPECTED to fail: "
                    "it was broken on purpose)"
                )
                second = driver.run_recorded(request, db=db, executor_=ex)
                table(cluster_table(second, only_problems=True))
                echo(text.summary_line(second))
            finally:
                ex.close()
            checks.extend(_second_run_checks(second))
            counts = sim.request_counts()

        quiet = [c for c in second.clusters if c.cluster not in (BROKEN_CLUSTER, DRIFT_CLUSTER)]
        writes = {
            v: n
            for c in quiet
            for v, n in counts.get(c.cluster, {}).get("verbs", {}).items()
            if v not in ("list", "discovery")
        }
        lists = sum(counts.get(c.cluster, {}).get("verbs", {}).get("list", 0) for c in quiet)
        echo(
            f"\nunchanged clusters: {len(quiet)} clusters answered {lists} LISTs "
            f"({lists / max(1, len(quiet)):.1f} per cluster) and {sum(writes.values())} other requests"
        )
        checks.append(("second sync: unchanged clusters cost LISTs only", not writes))

        echo("\n== 4. the fleet's state (from the status store)")
        db = store.Store(out / "state")
        states = db.app_states()
        bad = [a for a in states if not a.ok]
        echo(
            f"{len(states)} applications on {len({a.cluster for a in states})} clusters; "
            f"{len(states) - len(bad)} Synced and Healthy; {len(bad)} need attention:"
        )
        for a in bad[:10]:
            echo(
                f"  {a.cluster}/{a.name}: {a.sync_status.value}, {a.health.value}, {a.reason.value}"
                + (" (expected: the broken cluster)" if a.cluster == BROKEN_CLUSTER else "")
            )
        if len(bad) > 10:
            echo(f"  ... and {len(bad) - 10} more")
        history = db.runs(limit=10)
        for fmt, file_name in (("html", "report.html"), ("markdown", "report.md")):
            (out / file_name).write_text(report.render(second, history, fmt=fmt))
        echo(f"\nreports: {out / 'report.html'} and {out / 'report.md'} (status store: {out / 'state'})")
    finally:
        shutil.rmtree(work, ignore_errors=True)

    echo(f"\n== what the demo expected ({time.monotonic() - started:.0f}s)")
    for description, passed in checks:
        echo(f"  [{'ok' if passed else 'FAILED'}] {description}")
    ok = all(passed for _, passed in checks)
    echo(
        "fleet demo: everything behaved as expected (the broken cluster's failure was part of the plan)"
        if ok
        else "fleet demo: something did NOT behave as expected (see FAILED above)"
    )
    return 0 if ok else 1


def _second_run_checks(run: results.RunResult) -> list[tuple[str, bool]]:
    by_name = {c.cluster: c for c in run.clusters}
    broken = by_name.get(BROKEN_CLUSTER)
    others = [c for c in run.clusters if c.cluster != BROKEN_CLUSTER]
    drifted = [
        r
        for c in run.clusters
        if c.cluster == DRIFT_CLUSTER
        for a in c.apps
        if a.name == DRIFT_APP
        for r in a.resources
        if r.drift
    ]
    healed = [r for r in drifted if r.action is results.Action.CONFIGURED and r.diff]
    return [
        (
            f"second sync: cluster {BROKEN_CLUSTER} reported as "
            f"{Reason.CLUSTER_UNREACHABLE.value} (expected)",
            broken is not None and broken.reason is Reason.CLUSTER_UNREACHABLE,
        ),
        ("second sync: every other cluster Synced and Healthy", bool(others) and all(c.ok for c in others)),
        (
            f"second sync: the hand-made change on {DRIFT_CLUSTER} found (with its diff) "
            "and healed by selfHeal",
            len(healed) == 1,
        ),
    ]
