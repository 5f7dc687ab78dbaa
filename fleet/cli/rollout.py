"""``fleet windows`` (sync windows and what they block now) and ``fleet rollout status|approve|abort``
(where progressive rollouts stand, from the status store): thin shells over ``fleet.windows``,
``fleet.driver.plan_run`` (phases 1 to 5 of a run, which touch no cluster) and ``fleet.store``."""

from __future__ import annotations

import datetime as dt
import getpass
import json
import shutil
import socket
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer

from fleet import errors
from fleet.cli import common
from fleet.cli import sync as sync_cli

RolloutNameOpt = Annotated[
    str | None,
    typer.Option(
        "--rollout",
        metavar="NAME",
        help="The rollout (its ApplicationSet, or --rollout); needed when there are several.",
    ),
]


def _by() -> str:
    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name in this environment (a container without one)
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def _store(state_dir: str | None, store_url: str | None) -> Any:
    from fleet import store

    return store.open(store_url, state_dir=state_dir)


def _fleet_key(fleet: str) -> str:
    from fleet import driver
    from fleet.driver import recording

    return recording.fleet_key(driver.RunRequest(fleet=fleet))


def _pick(records: list[Any], name: str | None, where: str) -> Any:
    if not records:
        raise errors.InputError("has no rollout of this fleet yet: run fleet sync first", file=where)
    if name is None:
        if len(records) > 1:
            names = ", ".join(r.rollout for r in records)
            raise errors.InputError(f"there are several rollouts ({names}): name one", field="--rollout")
        return records[0]
    for record in records:
        if record.rollout == name:
            return record
    raise errors.InputError(
        f"no rollout {name!r} (known: {', '.join(r.rollout for r in records)})", field="--rollout"
    )


def _status_lines(record: Any) -> list[str]:
    position = record.position
    lines = [f"rollout {record.rollout}: {len(position.completed)}/{position.steps} steps completed"]
    if record.aborted:
        lines.append(f"  ABORTED by {record.aborted_by} at {record.aborted_at}: {record.abort_message}")
    if position.held_at:
        lines.append(f"  held at step {position.held_at}: {position.gate}")
    if record.approved:
        lines.append(f"  step {record.approved} approved by {record.approved_by} at {record.approved_at}")
    lines.append(f"  last run {record.run_id} at {record.updated_at}; fingerprint {position.fingerprint}")
    return lines


def register(app: typer.Typer) -> None:
    """Add windows and rollout to the root app."""

    @app.command("windows")
    def windows_command(
        fleet: sync_cli.FleetArg = ".",
        revision: sync_cli.RevisionOpt = None,
        kubeconfig: sync_cli.KubeconfigOpt = None,
        contexts: sync_cli.ContextsOpt = None,
        clusters: sync_cli.ClustersOpt = None,
        cluster_list: sync_cli.ClusterListOpt = None,
        repo_creds: sync_cli.RepoCredsOpt = None,
        selector: sync_cli.SelectorOpt = None,
        app_: sync_cli.AppOpt = None,
        repo_map: sync_cli.RepoMapOpt = None,
        in_cluster: sync_cli.InClusterOpt = False,
        ignore_windows: Annotated[
            bool, typer.Option("--ignore-windows", help="As `fleet sync --ignore-windows` would see them.")
        ] = False,
        output: sync_cli.OutputOpt = common.ResultFormat.TABLE,
    ) -> None:
        """The AppProjects' sync windows, which Applications they block now and when each opens
        next. Exit 0 when nothing is blocked, 1 when something is, 2 on bad input."""
        from fleet import clocks, driver, results, windows

        request = driver.RunRequest(
            fleet=fleet,
            revision=revision,
            kubeconfig=kubeconfig,
            contexts=tuple(c.strip() for c in (contexts or "").split(",") if c.strip()),
            cluster_files=tuple(clusters or ()),
            cluster_lists=tuple(cluster_list or ()),
            repo_creds_files=tuple(repo_creds or ()),
            selector=selector,
            apps=tuple(app_ or ()),
            kind=results.RunKind.SYNC,
            repo_map=sync_cli._repo_map(repo_map),
            in_cluster=in_cluster,
            ignore_windows=ignore_windows,
            record=False,
        )
        tmp = Path(tempfile.mkdtemp(prefix="fleet-windows-"))
        try:
            run_plan = driver.plan_run(request, tmp=tmp)
            found = run_plan.windows
        except errors.FleetError as exc:
            raise common.fail(exc) from None
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        now = dt.datetime.fromtimestamp(clocks.current().time(), tz=dt.UTC)
        listed: list[dict[str, Any]] = [
            {
                "project": w.project,
                "index": w.index,
                "kind": w.kind.value,
                "schedule": w.schedule,
                "duration": w.duration_text,
                "timeZone": w.time_zone,
                "applications": list(w.applications),
                "namespaces": list(w.namespaces),
                "clusters": list(w.clusters),
                "manualSync": w.manual_sync,
                "active": w.active(now),
            }
            for project in sorted(found)
            for w in found[project]
        ]
        blocked = []
        for key, verdict in sorted(run_plan.window_verdicts.items()):
            if verdict.allowed:
                continue
            work = run_plan.works[key]
            cluster = run_plan.clusters[key[0]]
            target = windows.Target(
                app=work.name,
                project=work.project,
                cluster=cluster.name,
                server=cluster.server,
                namespace=work.namespace,
            )
            opens = windows.next_open(found, target, now, manual=ignore_windows)
            blocked.append(
                {
                    "cluster": key[0],
                    "app": key[1],
                    "project": work.project,
                    "why": verdict.message,
                    "opens": opens.isoformat().replace("+00:00", "Z") if opens else "",
                }
            )
        if output is common.ResultFormat.JSON:
            doc = {"now": now.isoformat().replace("+00:00", "Z"), "windows": listed, "blocked": blocked}
            typer.echo(json.dumps(doc, indent=2))
        else:
            typer.echo(f"now: {now.isoformat().replace('+00:00', 'Z')}")
            if not listed:
                typer.echo("no sync windows")
            for w in listed:
                targets = "; ".join(
                    f"{k} {','.join(w[k])}" for k in ("applications", "namespaces", "clusters") if w[k]
                )
                state = "ACTIVE" if w["active"] else "inactive"
                manual = " manualSync" if w["manualSync"] else ""
                typer.echo(
                    f"{w['project']}[{w['index']}] {w['kind']} '{w['schedule']}' for {w['duration']} "
                    f"({w['timeZone']}) {targets}{manual}: {state}"
                )
            for b in blocked:
                when = f"opens {b['opens']}" if b["opens"] else "does not open within a year"
                typer.echo(f"BLOCKED {b['app']} on {b['cluster']}: {b['why']}; {when}")
            if listed and not blocked:
                typer.echo("nothing is blocked now")
        raise typer.Exit(1 if blocked else 0)

    rollout_app = typer.Typer(help="Where progressive rollouts stand; approve or abort them (status store).")
    app.add_typer(rollout_app, name="rollout")

    @rollout_app.command("status")
    def status_command(
        fleet: sync_cli.FleetArg = ".",
        state_dir: sync_cli.StateDirOpt = None,
        store_url: sync_cli.StoreOpt = None,
        output: sync_cli.OutputOpt = common.ResultFormat.TABLE,
    ) -> None:
        """Where each rollout of FLEET stands: steps completed, the gate that holds it, approvals
        and aborts. Exit 0 when none is held or aborted, 1 when one is."""
        try:
            db = _store(state_dir, store_url)
            records = db.rollouts(_fleet_key(fleet))
        except errors.FleetError as exc:
            raise common.fail(exc) from None
        if output is common.ResultFormat.JSON:
            typer.echo(json.dumps([r.to_dict() for r in records], indent=2))
        else:
            if not records:
                typer.echo("no rollout of this fleet is recorded")
            for record in records:
                for line in _status_lines(record):
                    typer.echo(line)
        raise typer.Exit(1 if any(r.position.held_at or r.aborted for r in records) else 0)

    @rollout_app.command("approve")
    def approve_command(
        fleet: sync_cli.FleetArg = ".",
        rollout: RolloutNameOpt = None,
        step: Annotated[
            int | None,
            typer.Option("--step", metavar="N", help="The step to approve (default: the one it is held at)."),
        ] = None,
        state_dir: sync_cli.StateDirOpt = None,
        store_url: sync_cli.StoreOpt = None,
    ) -> None:
        """Approve the manual gate of a rollout's step: the next `fleet sync` starts it."""
        try:
            db = _store(state_dir, store_url)
            record = _pick(db.rollouts(_fleet_key(fleet)), rollout, db.location.display)
            chosen = step if step is not None else record.position.held_at
            if chosen < 2 or chosen > record.position.steps:
                raise errors.InputError(
                    f"rollout {record.rollout} is not held at a step that waits for approval: give --step "
                    f"(2..{record.position.steps})",
                    field="--step",
                )
            approved = db.approve(record.fleet, record.rollout, chosen, by=_by())
        except errors.FleetError as exc:
            raise common.fail(exc) from None
        typer.echo(f"rollout {approved.rollout}: step {chosen} approved by {approved.approved_by}")

    @rollout_app.command("abort")
    def abort_command(
        fleet: sync_cli.FleetArg = ".",
        rollout: RolloutNameOpt = None,
        message: Annotated[
            str, typer.Option("--message", "-m", help="Why (shown by status and in reports).")
        ] = "",
        state_dir: sync_cli.StateDirOpt = None,
        store_url: sync_cli.StoreOpt = None,
    ) -> None:
        """Stop a rollout where it stands: no later step starts until what it rolls out changes."""
        try:
            db = _store(state_dir, store_url)
            record = _pick(db.rollouts(_fleet_key(fleet)), rollout, db.location.display)
            aborted = db.abort_rollout(record.fleet, record.rollout, by=_by(), message=message)
        except errors.FleetError as exc:
            raise common.fail(exc) from None
        typer.echo(f"rollout {aborted.rollout}: aborted by {aborted.aborted_by}")


__all__ = ["register"]
