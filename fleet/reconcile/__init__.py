"""The per-cluster worker: reconcile every Application of one cluster, in named phases.

Where it sits: the driver (``fleet.driver``) expands the fleet, renders every source once and hands
one ``ClusterWork`` per cluster to the executor (a Ray actor or a local thread). ``sync_cluster``
runs there and returns a ``ClusterResult``; it needs nothing from the driver's disk.

One cluster, in phases (each failure ends with its own ``Reason``, as Flux's kustomize-controller
marks Ready=False with BuildFailed or PruneFailed):

1. connect: credentials are resolved through the secret layer here, in the worker;
2. prepare every Application (``preparation``, no writes): SOPS decryption, namespaces, stamp, the
   desired hash, its AppProject's restrictions;
3. read live state: ONE LIST of inventory ConfigMaps (``fleet-system``), then ONE LIST per resource
   type the cluster's Applications need, across namespaces, filtered by fleet's managed-by label;
   an unchanged fleet therefore costs a LIST per type per cluster and not a request per object.
   Where this process ran the cluster before, a LIST asks for metadata only and fetches just the
   objects whose resourceVersion moved; in long-running mode, watches answer it with no request
   at all (``livecache``);
4. per Application, on a small thread pool (``app_sync``): resolve secret references (and seal
   Secrets delivered as SealedSecrets), diff, classify drift, plan, execute the plan's steps
   (prune, server-side apply, hooks, wait for health per wave, SyncFail hooks), record the
   inventory, compute health, retry per ``syncPolicy.retry``; Applications removed from Git are
   deleted, preserved or kept on the same pool (``removal``);
5. the cluster's result, masked.

Drift: every applied object carries the hash of its desired, pre-secret-resolution form
(``DESIRED_HASH_ANNOTATION``). An object that differs from Git while its live hash still equals
the desired hash was changed by hand (Git did not change since fleet applied it): it is reported
as drifted with its masked diff, and healed only with ``syncPolicy.automated.selfHeal``. An object
that holds secret references (or is sealed per cluster) is re-applied whenever it differs: the
secret backend is authoritative and a rotated value must reach the cluster.

Secrets: values exist only in this process's memory; everything returned is masked here (the
driver's mask does not know values resolved in another process).

Modules, bottom up (each imports only modules listed above it):

- ``units``: the frozen work (``WorkerSettings``, ``AppWork``, ``ClusterWork``) the driver pickles;
- ``failures``: the ``Reason`` an error means, masked messages, results of work that failed whole;
- ``preparation``: one Application's objects before they meet the cluster, and the LISTs needed;
- ``livecache``: the live objects this process keeps per cluster across runs (metadata LISTs, watches);
- ``sessions``: one cluster for one run (client, LIST cache, inventories, certificate, resolver);
- ``app_sync``: one Application's sync, phase by phase, with retries;
- ``removal``: Applications removed from Git (delete, preserve or keep);
- this module: ``sync_cluster``, the cluster's phases, and the public names.
"""

from __future__ import annotations

import concurrent.futures
import os
import socket

from fleet import clocks, dependencies, errors, inventory, lifecycle, log, models, redact, results, waves
from fleet.clusters import auth, client
from fleet.reconcile import app_sync, failures, preparation, removal, sessions

# The public surface, re-exported: the driver (fleet.driver) and the tests name these from here
# (and fleet.loop's docstring names shared_resolver).
from fleet.reconcile.failures import did_not_run, failed_cluster
from fleet.reconcile.preparation import DESIRED_HASH_ANNOTATION, desired_hash, prepare
from fleet.reconcile.sessions import shared_resolver as shared_resolver
from fleet.reconcile.units import AppWork, ClusterWork, WorkerSettings
from fleet.status import Reason

_log = log.get_logger(__name__)

Ref = inventory.ObjectRef


def _worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _register_literal_credentials(cluster: models.Cluster) -> None:
    """Literal credentials arrive in the payload; this process's mask must know them too."""
    creds = cluster.credentials
    for value in (creds.bearer_token, creds.password, creds.client_key_data):
        if value and not auth.is_reference(value):
            redact.register(value)


def _masked(result: results.ClusterResult) -> results.ClusterResult:
    """The result with every value this process registered masked (the driver's mask may not
    know values resolved here, on another process or machine)."""
    return results.ClusterResult.model_validate_json(redact.mask(result.model_dump_json()))


def sync_cluster(work: ClusterWork) -> results.ClusterResult:
    """Reconcile (or diff, or dry-run) every Application of one cluster. Never raises for a
    cluster or Application failure: those are in the result, with their reasons."""
    # One clock for the cluster's whole sync: its deadline is measured on the clock the session
    # compares it with (fleet.clocks; a test's clock moved forward must not eat the cluster's time).
    clock = clocks.current()
    started = clock.monotonic()
    settings = work.settings
    deadline = (
        started + settings.cluster_timeout - sessions.DEADLINE_MARGIN if settings.cluster_timeout else None
    )
    worker = _worker_name()
    _register_literal_credentials(work.cluster)
    fields = {"cluster": work.cluster.name, "apps": len(work.apps), "kind": settings.kind.value}
    _log.debug("cluster sync started", extra={"fields": fields})

    # 1. connect (references among the credentials are resolved here, in the worker)
    try:
        api = _connect(work)
    except errors.FleetError as exc:
        reason = (
            Reason.SECRET_RESOLUTION_FAILED if failures.is_secret_error(exc) else Reason.PERMISSION_DENIED
        )
        return _masked(
            failures.failed_cluster(
                work,
                reason=reason,
                message=f"cannot connect: {failures.message(exc)}",
                seconds=clock.monotonic() - started,
                worker=worker,
            )
        )

    session = sessions.Session(work, api, deadline, connect=lambda: _connect(work), clock=clock)
    try:
        # 2. prepare every Application (local work; discovery tells which kinds are cluster-scoped)
        prepared = _prepare_all(session)
        # 3. read the live state: ONE LIST of the inventories, ONE LIST per resource type; who
        #    keeps an object that several Applications render
        removed = _read_live_state(session, prepared)
        session.claims = _claims(session, prepared)
        session.released = frozenset(r.name for r in removed if r.decision is not lifecycle.Decision.KEEP)
    except Exception as exc:  # noqa: BLE001 - the whole cluster failed; say why and stop here
        stats = api.stats().by_verb
        api.close()
        reason = failures.reason_for(exc, Reason.CLUSTER_UNREACHABLE)
        _log.warning(
            "cluster failed",
            extra={"fields": {**fields, "reason": reason.value, "error": failures.message(exc)}},
        )
        return _masked(
            failures.failed_cluster(
                work,
                reason=reason,
                message=failures.message(exc),
                seconds=clock.monotonic() - started,
                worker=worker,
                requests=stats,
                reachable=reason is Reason.PERMISSION_DENIED,
            )
        )

    # 4. every Application (and every one removed from Git) on the cluster's pool of threads
    apps = _run_apps(session, prepared, removed)

    # 5. the cluster's result: unreachable when every Application found it so; the live copies
    #    the next process may start from written to disk (``livecache``: plain objects only)
    stats = api.stats().by_verb
    api.close()
    session.kept.plain(_plain_refs(session, prepared))
    session.kept.save()
    unreachable = [a for a in apps if a.reason is Reason.CLUSTER_UNREACHABLE]
    cluster_reason = Reason.CLUSTER_UNREACHABLE if apps and len(unreachable) == len(apps) else None
    result = results.ClusterResult(
        cluster=work.cluster.name,
        server=work.cluster.server,
        reachable=cluster_reason is None,
        reason=cluster_reason,
        message=unreachable[0].message if cluster_reason else "",
        apps=tuple(apps),
        requests=dict(stats),
        seconds=round(clock.monotonic() - started, 3),
        worker=worker,
    )
    _log.debug(
        "cluster sync finished",
        extra={"fields": {**fields, "ok": result.ok, "requests": result.request_total}},
    )
    return _masked(result)


def _connect(work: ClusterWork) -> client.ClusterClient:
    """The cluster's API client; references among its credentials are resolved here."""
    settings = work.settings
    # A request never waits much beyond the cluster's budget, so an abandoned worker thread ends
    # soon; the driver's per-cluster deadline fires first and reports a hanging cluster (Timeout).
    read_timeout = settings.request_timeout
    if settings.cluster_timeout:
        read_timeout = max(1.0, min(read_timeout, settings.cluster_timeout + 5.0))
    credential_resolver = None
    creds = work.cluster.credentials
    if any(
        auth.is_reference(v)
        for v in (
            creds.bearer_token,
            creds.password,
            creds.client_key_data,
            creds.client_cert_data,
            creds.ca_data,
            creds.username,
        )
    ):
        resolver = sessions.shared_resolver(work)
        if resolver is None:
            from fleet.secrets import resolver as resolver_mod

            resolver = resolver_mod.Resolver()
        credential_resolver = resolver.credential_resolver(work.cluster)
    return client.connect(
        work.cluster,
        credential_resolver=credential_resolver,
        qps=settings.qps,
        burst=settings.burst,
        timeout=(min(5.0, read_timeout), read_timeout),
        pool_size=max(4, settings.app_concurrency * 2),
        field_manager=waves.FIELD_MANAGER,
    )


def _prepare_all(session: sessions.Session) -> list[preparation.Prepared]:
    """Every Application of the cluster prepared, and checked against its AppProject."""
    work = session.work
    scoped = preparation.cluster_scope(session.api, work.apps)
    return [
        preparation.check_project(preparation.prepare_safely(app, scoped), scoped, work.cluster)
        for app in work.apps
    ]


def _read_live_state(
    session: sessions.Session, prepared: list[preparation.Prepared]
) -> list[removal.Removed]:
    """ONE LIST of the inventories, then ONE LIST per resource type the Applications (and those
    removed from Git, returned) need, into the session."""
    work = session.work
    renders_configmaps = any(
        Ref.from_object(o).kind == "ConfigMap" and Ref.from_object(o).group == ""
        for p in prepared
        if not p.failure
        for o in p.objects
    )
    session.read_inventories(also_configmaps=renders_configmaps)
    removed = removal.find_removed(work, session)
    kinds = preparation.kinds_needed(prepared, session.inventories)
    for key, api_version in removal.removal_kinds(removed).items():
        kinds.setdefault(key, api_version)
    create_namespace = any(not p.failure and p.policy.options.flag("create_namespace") for p in prepared)
    if create_namespace:
        session.list_kind("", "Namespace", "v1", everything=True)
    for (group, kind), api_version in sorted(kinds.items()):
        if (group, kind) == ("", "ConfigMap") and renders_configmaps and not work.cluster.namespaces:
            continue  # already listed with the inventories
        if (group, kind) == ("", "Namespace") and create_namespace:
            continue
        session.check_time(f"listing {kind}")
        session.list_kind(group, kind, api_version)
    return removed


def _plain_refs(session: sessions.Session, prepared: list[preparation.Prepared]) -> set[Ref]:
    """The live objects whose copies may be kept on disk: those Git holds in plain text and fleet's
    own inventories (``livecache``, which keeps namespaces too: never a Secret, nor anything
    secret-bearing)."""
    refs = {ref for item in prepared for ref in item.plain}
    refs.update(Ref.from_object(obj) for obj in session.inventory_objects.values())
    return refs


def _claims(session: sessions.Session, prepared: list[preparation.Prepared]) -> dict[Ref, str]:
    """For each object that several Applications of the cluster render: the one that keeps it.
    The Application whose tracking id the live object carries keeps it; else (nobody applied it
    yet) the first by name, so every run and every worker decides alike and the object never
    changes hands between syncs (issue 8, item 5)."""
    renderers: dict[Ref, set[str]] = {}
    for item in prepared:
        if item.failure is not None:
            continue
        for obj in item.objects:
            if not waves.is_hook(obj) and not waves.is_skipped(obj):
                renderers.setdefault(Ref.from_object(obj), set()).add(item.work.name)
    claims: dict[Ref, str] = {}
    for ref, apps in renderers.items():
        if len(apps) > 1:
            owner = inventory.owner_of(session.get_live(ref) or {})
            claims[ref] = owner if owner in apps else min(apps)
    return claims


def _run_apps(
    session: sessions.Session, prepared: list[preparation.Prepared], removed: list[removal.Removed]
) -> list[results.AppResult]:
    """Every Application on a small pool of threads (bounded concurrency per cluster), by name.

    Applications that depend on others (``fleet.gitops.io/depends-on``) start once those ended
    Synced and Healthy; the rest start at once, side by side. One whose dependency did not is
    left untouched (``DependencyNotReady``).
    """
    apps: list[results.AppResult] = []
    by_name = {item.work.name: item for item in prepared}
    # A dry run or a diff changes nothing: there is nothing to wait for, so all compare at once.
    writes = session.settings.writes
    graph = dependencies.Graph(
        {name: item.work.depends_on if writes else () for name, item in by_name.items()},
        ready=session.work.ready,
    )
    with concurrent.futures.ThreadPoolExecutor(
        max_workers=max(1, session.settings.app_concurrency),
        thread_name_prefix=f"fleet-{session.cluster.name}",
    ) as pool:
        running: dict[concurrent.futures.Future[results.AppResult], str] = {
            pool.submit(app_sync.run_app, session, by_name[name]): name for name in graph.startable()
        }
        running.update({pool.submit(removal.run_removal, session, item): "" for item in removed})
        while running:
            done, _ = concurrent.futures.wait(running, return_when=concurrent.futures.FIRST_COMPLETED)
            for future in done:
                name = running.pop(future)
                result = future.result()
                apps.append(result)
                if name:
                    graph.finish(name, result.ok)
            for name in graph.startable():
                running[pool.submit(app_sync.run_app, session, by_name[name])] = name
    for name, why in graph.blocked().items():
        work = by_name[name].work
        # held back (Reason.held_back): NotStarted, nothing touched
        apps.append(
            failures.did_not_run(
                work,
                cluster=session.cluster.name,
                reason=Reason.DEPENDENCY_NOT_READY,
                message=f"not synced: it depends on {why} in this run ({dependencies.ANNOTATION})",
            )
        )
    apps.sort(key=lambda a: a.name)
    return apps


__all__ = [
    "DESIRED_HASH_ANNOTATION",
    "AppWork",
    "ClusterWork",
    "WorkerSettings",
    "desired_hash",
    "did_not_run",
    "failed_cluster",
    "prepare",
    "sync_cluster",
]
