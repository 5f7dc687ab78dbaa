"""The per-cluster worker: reconcile every Application of one cluster, in named phases.

Where it sits: the driver (``fleet.sync``) expands the fleet, renders every source once and hands
one ``ClusterWork`` per cluster to the executor (a Ray actor or a local thread). ``sync_cluster``
runs there and returns a ``ClusterResult``; it needs nothing from the driver's disk.

One cluster, in phases (each failure ends with its own ``Reason``, as Flux's kustomize-controller
marks Ready=False with BuildFailed or PruneFailed):

1. connect: credentials are resolved through the secret layer here, in the worker;
2. read live state: ONE LIST of inventory ConfigMaps (``fleet-system``), then ONE LIST per resource
   type the cluster's Applications need, across namespaces, filtered by fleet's managed-by label;
   an unchanged fleet therefore costs a LIST per type per cluster and not a request per object;
3. per Application, on a small thread pool: prepare (SOPS decryption, namespaces, stamp, the
   desired hash), resolve secret references (and seal Secrets delivered as SealedSecrets), diff,
   plan, execute the plan's steps (prune, server-side apply, hooks, wait for health per wave,
   SyncFail hooks), record the inventory, compute health, retry per ``syncPolicy.retry``.

Drift: every applied object carries the hash of its desired, pre-secret-resolution form
(``DESIRED_HASH_ANNOTATION``). An object that differs from Git while its live hash still equals
the desired hash was changed by hand (Git did not change since fleet applied it): it is reported
as drifted with its masked diff, and healed only with ``syncPolicy.automated.selfHeal``. An object
that holds secret references (or is sealed per cluster) is re-applied whenever it differs: the
secret backend is authoritative and a rotated value must reach the cluster.

Secrets: values exist only in this process's memory; everything returned is masked here (the
driver's mask does not know values resolved in another process).
"""

from __future__ import annotations

import concurrent.futures
import copy
import dataclasses
import hashlib
import json
import os
import socket
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from fleet import diff, errors, health, inventory, lifecycle, log, models, plan, projects, redact, results
from fleet.clusters import auth, client
from fleet.status import OperationPhase, Reason, ResultCode, SyncStatus

_log = log.get_logger(__name__)

Ref = inventory.ObjectRef

# The hash of the desired object (as rendered, stamped, before secrets are resolved or SOPS files
# decrypted) that fleet last applied; tells a change in Git from a change made by hand.
DESIRED_HASH_ANNOTATION = "fleet.gitops.io/desired-hash"
MANAGED_SELECTOR = f"{inventory.MANAGED_BY_LABEL}={inventory.MANAGED_BY_VALUE}"
SEALED_SECRET_API = "bitnami.com/v1alpha1"
# Time kept back from the cluster deadline so the result still gets home before the driver gives up.
DEADLINE_MARGIN = 1.0


# --- the unit of work (built by the driver, pickled to the worker) -------------------------------


@dataclass(frozen=True)
class Settings:
    """How to reconcile, the same for every cluster of a run."""

    kind: results.RunKind = results.RunKind.SYNC
    prune: bool | None = None  # True: prune whatever the policy says (``--prune``); None: per syncPolicy
    app_concurrency: int = 4  # Applications reconciled at once on one cluster
    qps: float = 50.0  # client-side rate limit per cluster
    burst: int = 100
    request_timeout: float = 30.0  # seconds to wait for one API answer
    health_timeout: float = 120.0  # seconds a wave may take to become healthy
    cluster_timeout: float | None = None  # the driver's per-cluster deadline, from dispatch
    poll_interval: float = 0.25  # first wait between two health polls (doubles up to 1 s)
    started_at: int = 0  # unix seconds of the run start (names of generateName hooks)
    retry: bool = True  # honour syncPolicy.retry
    # Long-running mode: the worker keeps the resolver under this key across runs (its TTL cache
    # survives in a Ray actor), and drops its cache when the refresh generation changes.
    resolver_key: str = ""
    secrets_generation: int = 0

    @property
    def writes(self) -> bool:
        return self.kind is results.RunKind.SYNC


@dataclass(frozen=True)
class AppWork:
    """One Application on one cluster, rendered: everything the worker needs to reconcile it.

    ``manifests`` are as rendered on the driver: SOPS-encrypted objects still encrypted, secret
    references unresolved (plain JSON-able dicts).
    """

    name: str
    namespace: str  # the destination namespace
    manifests: tuple[Mapping[str, Any], ...]
    project: str = "default"
    appset: str = ""
    revision: str = ""
    sync_policy: Mapping[str, Any] | None = None
    ignore_differences: tuple[Mapping[str, Any], ...] = ()
    # Recorded with the inventory, to decide its deletion once it is no longer generated:
    applications_sync: str = "sync"  # its ApplicationSet's spec.syncPolicy.applicationsSync
    cascade: bool = True  # it carries the resources finalizer (deleting it deletes its resources)
    # Its AppProject's restrictions (None: the fleet defines no AppProjects): every object's
    # group/kind and namespace are checked before anything is written.
    project_rules: projects.ProjectRules | None = None
    # Encrypted files its ref+sops:// references read, by sha256 (shipped by the driver, see
    # fleet.secrets.sops.provider.ship): the worker needs no checkout of the source.
    shipped_files: Mapping[str, bytes] = field(default_factory=dict)


@dataclass(frozen=True)
class ClusterWork:
    """One cluster's unit of work. Credentials stay as written (references unresolved).

    ``removal`` (only in a run that covers the whole fleet): also delete the Applications whose
    inventory is on the cluster but that are no longer generated (``fleet.lifecycle``).
    """

    cluster: models.Cluster
    apps: tuple[AppWork, ...]
    settings: Settings = field(default_factory=Settings)
    resolver: Any = None  # fleet.secrets.resolver.Resolver (configuration only); None: the default
    removal: lifecycle.Removal | None = None


# --- small helpers --------------------------------------------------------------------------------

_RESOLVERS: dict[str, tuple[Any, int]] = {}  # resolver_key -> (resolver, refresh generation seen)
_RESOLVERS_LOCK = threading.Lock()


def shared_resolver(work: ClusterWork) -> Any:
    """The resolver this process keeps for the run's ``resolver_key`` (long-running mode), so its
    TTL cache lasts across runs even where the work arrives pickled (a Ray actor); its cache is
    dropped when ``fleet secrets refresh`` bumped the generation the driver read. Without a key:
    the work's own resolver (None: the default providers)."""
    key = work.settings.resolver_key
    if work.resolver is None or not key:
        return work.resolver
    generation = work.settings.secrets_generation
    with _RESOLVERS_LOCK:
        found = _RESOLVERS.get(key)
        if found is None:
            _RESOLVERS[key] = (work.resolver, generation)
            return work.resolver
        resolver, seen = found
        if seen != generation:
            resolver.refresh()
            _RESOLVERS[key] = (resolver, generation)
        return resolver


def desired_hash(obj: Mapping[str, Any]) -> str:
    """A stable hash of a desired object (never of a resolved secret: see the module docstring)."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _annotations(obj: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return ((obj or {}).get("metadata") or {}).get("annotations") or {}


def _with_annotation(obj: Mapping[str, Any], key: str, value: str) -> dict[str, Any]:
    out = dict(obj)
    metadata = dict(obj.get("metadata") or {})
    metadata["annotations"] = {**(metadata.get("annotations") or {}), key: value}
    out["metadata"] = metadata
    return out


def _version(api_version: str) -> str:
    return api_version.rsplit("/", 1)[-1]


def _message(exc: BaseException) -> str:
    text = str(exc) if isinstance(exc, errors.FleetError) else f"{type(exc).__name__}: {exc}"
    return redact.mask(" ".join(text.split()))[:600]


def _reason_for(exc: BaseException, default: Reason) -> Reason:
    """The Reason an error of the cluster API means, whatever phase it happened in."""
    if isinstance(exc, client.ClusterUnreachable | client.TLSFailure):
        return Reason.CLUSTER_UNREACHABLE
    if isinstance(exc, client.Unauthorized | client.Forbidden):
        return Reason.PERMISSION_DENIED
    return default


def _cluster_level(exc: BaseException) -> bool:
    """Errors that mean the whole cluster is out of reach (not one object's problem)."""
    return isinstance(exc, client.ClusterUnreachable | client.TLSFailure | client.Unauthorized)


class _DeadlineExceeded(errors.TemporaryError):
    """The cluster's time budget ran out before this step."""


# --- preparation (pure, per Application) ----------------------------------------------------------


@dataclass
class _Prepared:
    work: AppWork
    policy: plan.SyncPolicy = field(default_factory=plan.SyncPolicy)
    rules: tuple[diff.IgnoreRule, ...] = ()
    objects: list[dict[str, Any]] = field(default_factory=list)  # stamped, hashed, decrypted; hooks too
    failure: tuple[Reason, str] | None = None
    sealed: set[Ref] = field(default_factory=set)  # Secrets to deliver as SealedSecrets


def _decrypt(obj: Mapping[str, Any], *, app: str) -> dict[str, Any]:
    """A SOPS-encrypted manifest, decrypted in memory (Flux-style, per object)."""
    from fleet.secrets import sops  # type: ignore[attr-defined]

    if not sops.is_encrypted(obj):
        return dict(obj)
    meta = obj.get("metadata") or {}
    where = f"application {app}: {obj.get('kind', '?')}/{meta.get('name', '?')}"
    # Indented JSON: the SOPS layer recognises a "sops" key at the start of a line.
    text = sops.decrypt_if_encrypted(json.dumps(obj, indent=2), path=f"{where}.json")
    decrypted = json.loads(text)
    if not isinstance(decrypted, dict) or sops.is_encrypted(decrypted):
        raise errors.InputError("is SOPS-encrypted but was not decrypted", obj=where)
    return decrypted


def prepare(work: AppWork, *, cluster_scoped: frozenset[tuple[str, str]] | None = None) -> _Prepared:
    """Parse the policy, decrypt SOPS objects, default namespaces, stamp and hash (no cluster access)."""
    from fleet.secrets.sealed import delivery  # type: ignore[attr-defined]

    prepared = _Prepared(work)
    try:
        prepared.policy = plan.parse_sync_policy(work.sync_policy)
        prepared.rules = diff.parse_ignore_differences(list(work.ignore_differences) or None)
    except errors.FleetError as exc:
        prepared.failure = (Reason.INVALID_SPEC, f"application {work.name}: {_message(exc)}")
        return prepared
    seen: set[Ref] = set()
    # Without a destination namespace, namespaced objects go where the API server puts them.
    namespace = work.namespace or "default"
    for index, raw in enumerate(work.manifests):
        meta = raw.get("metadata") or {}
        if (
            not raw.get("apiVersion")
            or not raw.get("kind")
            or not (meta.get("name") or meta.get("generateName"))
        ):
            prepared.failure = (
                Reason.INVALID_SPEC,
                f"application {work.name}: manifest {index} "
                f"({raw.get('kind') or 'object'} {meta.get('name') or '<unnamed>'}) needs apiVersion, "
                "kind and metadata.name",
            )
            return prepared
        # The hash is taken of the object as Git has it (ciphertext for SOPS files), stamped.
        shipped = plan.default_namespace([raw], namespace, cluster_scoped=cluster_scoped)[0]
        shipped = inventory.stamp(shipped, work.name)
        digest = desired_hash(shipped)
        try:
            plain = _decrypt(raw, app=work.name)
        except Exception as exc:  # noqa: BLE001 - the SOPS layer's errors never carry values
            prepared.failure = (Reason.SECRET_RESOLUTION_FAILED, f"SOPS decryption failed: {_message(exc)}")
            return prepared
        obj = plan.default_namespace([plain], namespace, cluster_scoped=cluster_scoped)[0]
        obj = _with_annotation(inventory.stamp(obj, work.name), DESIRED_HASH_ANNOTATION, digest)
        ref = Ref.from_object(obj)
        if ref in seen and not plan.is_hook(obj):
            prepared.failure = (
                Reason.INVALID_SPEC,
                f"application {work.name}: {ref} appears twice in the manifests",
            )
            return prepared
        seen.add(ref)
        try:
            if delivery.wants_sealed_delivery(obj):
                prepared.sealed.add(ref)
        except errors.FleetError as exc:
            prepared.failure = (Reason.INVALID_SPEC, _message(exc))
            return prepared
        prepared.objects.append(obj)
    return prepared


def _sealed_ref(ref: Ref) -> Ref:
    return Ref("bitnami.com", "SealedSecret", ref.namespace, ref.name)


def kinds_needed(
    prepared: Iterable[_Prepared], previous: Mapping[str, inventory.Inventory]
) -> dict[tuple[str, str], str]:
    """(group, kind) -> the apiVersion to LIST it with: what the Applications render, what their
    inventories hold (stale objects to prune), and what sealed delivery reads."""
    kinds: dict[tuple[str, str], str] = {}
    for item in prepared:
        if item.failure:
            continue
        for obj in item.objects:
            ref = Ref.from_object(obj)
            if ref in item.sealed:
                kinds.setdefault(("bitnami.com", "SealedSecret"), SEALED_SECRET_API)
                kinds.setdefault(("", "Secret"), "v1")
                continue
            kinds.setdefault((ref.group, ref.kind), str(obj["apiVersion"]))
        inv = previous.get(item.work.name)
        for entry in inv.entries if inv else ():
            kinds.setdefault((entry.ref.group, entry.ref.kind), entry.api_version)
    return kinds


# --- the session: one cluster, one run ------------------------------------------------------------


@dataclass
class _Row:
    """What is known about one object of an Application while it is reconciled."""

    ref: Ref
    api_version: str
    action: results.Action = results.Action.UNCHANGED
    status: SyncStatus = SyncStatus.SYNCED
    result: ResultCode | None = None
    message: str = ""
    diff: str = ""
    drift: bool = False
    wave: int = 0
    hook: str = ""


class _Session:
    """The connection and the live state of one cluster, shared by its Applications' threads."""

    def __init__(self, work: ClusterWork, api: client.ClusterClient, deadline: float | None) -> None:
        self.work = work
        self.settings = work.settings
        self.cluster = work.cluster
        self.api = api
        self.deadline = deadline
        self.live: dict[Ref, dict[str, Any]] = {}
        self.inventories: dict[str, inventory.Inventory] = {}
        self.inventory_objects: dict[str, dict[str, Any]] = {}
        self.list_errors: dict[tuple[str, str], BaseException] = {}
        self._lock = threading.Lock()
        self._namespace_ready = False
        self._certificate: Any = None
        self._resolution: Any = None

    # -- time ---------------------------------------------------------------------------------------

    def remaining(self) -> float:
        if self.deadline is None:
            return float("inf")
        return self.deadline - time.monotonic()

    def check_time(self, what: str) -> None:
        if self.remaining() <= 0:
            raise _DeadlineExceeded(f"cluster {self.cluster.name}: out of time before {what}")

    # -- reading ------------------------------------------------------------------------------------

    def read_inventories(self, *, also_configmaps: bool) -> None:
        """ONE LIST: the inventory ConfigMaps (or, when the Applications render ConfigMaps anyway,
        every labelled ConfigMap, which serves both purposes)."""
        namespace = None if also_configmaps and not self.cluster.namespaces else inventory.INVENTORY_NAMESPACE
        try:
            items, _ = self.api.list("v1", "ConfigMap", namespace=namespace, label_selector=MANAGED_SELECTOR)
        except client.NotFound:
            items = []
        for item in items:
            self._remember(item)
            meta = item.get("metadata") or {}
            app = (meta.get("annotations") or {}).get(inventory.APP_LABEL)
            if meta.get("namespace") == inventory.INVENTORY_NAMESPACE and app:
                self.inventories[str(app)] = inventory.from_configmap(item)
                self.inventory_objects[str(app)] = item
        if self.inventories:
            self._namespace_ready = True

    def list_kind(self, group: str, kind: str, api_version: str, *, everything: bool = False) -> None:
        """ONE LIST of a resource type across namespaces (label-filtered unless ``everything``)."""
        selector = None if everything else MANAGED_SELECTOR
        namespaces: Sequence[str | None] = [None]
        try:
            namespaced = self.api.resource(api_version, kind).namespaced
            if namespaced and self.cluster.namespaces:
                namespaces = list(self.cluster.namespaces)  # RBAC may only allow these (Argo CD's namespaces)
            for namespace in namespaces:
                try:
                    items, _ = self.api.list(api_version, kind, namespace=namespace, label_selector=selector)
                except client.NotFound:
                    items = []
                for item in items:
                    self._remember(item)
        except client.UnknownKind:
            return  # not served (yet): a CRD applied in this sync; nothing of it exists
        except (client.Forbidden, client.BadRequest, client.Invalid) as exc:
            self.list_errors[(group, kind)] = exc

    def _remember(self, obj: dict[str, Any]) -> None:
        with self._lock:
            self.live[Ref.from_object(obj)] = obj

    def get_live(self, ref: Ref) -> dict[str, Any] | None:
        with self._lock:
            return self.live.get(ref)

    def set_live(self, ref: Ref, obj: dict[str, Any] | None) -> None:
        with self._lock:
            if obj is None:
                self.live.pop(ref, None)
            else:
                self.live[ref] = obj

    def refresh(self, refs: Iterable[tuple[Ref, str]]) -> None:
        """GET these objects again (before a retry: the cluster may have changed meanwhile)."""
        for ref, api_version in refs:
            try:
                obj = self.api.get(api_version, ref.kind, ref.name, ref.namespace or None)
            except client.UnknownKind:
                obj = None
            self.set_live(ref, obj)

    # -- secrets ------------------------------------------------------------------------------------

    def resolution(self) -> Any:
        """The run's reference resolution for this cluster (its cache shared by the Applications)."""
        with self._lock:
            if self._resolution is None:
                resolver = shared_resolver(self.work)
                if resolver is None:
                    from fleet.secrets import resolver as resolver_mod  # type: ignore[attr-defined]

                    resolver = resolver_mod.Resolver()
                self._resolution = resolver.for_cluster(self.cluster)
            return self._resolution

    def certificate(self) -> Any:
        """The cluster's sealing certificate (registry annotation, else fetched once per run)."""
        from fleet.secrets.sealed import certs  # type: ignore[attr-defined]

        with self._lock:
            if self._certificate is None:
                self._certificate = certs.certificate_for_cluster(self.cluster, client=self.api)
            return self._certificate

    # -- writing ------------------------------------------------------------------------------------

    def ensure_inventory_namespace(self) -> None:
        with self._lock:
            if self._namespace_ready:
                return
            if Ref("", "Namespace", "", inventory.INVENTORY_NAMESPACE) not in self.live:
                ns = {
                    "apiVersion": "v1",
                    "kind": "Namespace",
                    "metadata": {
                        "name": inventory.INVENTORY_NAMESPACE,
                        "labels": {inventory.MANAGED_BY_LABEL: inventory.MANAGED_BY_VALUE},
                    },
                }
                self.api.apply(ns, force=True)
            self._namespace_ready = True


# --- one Application -----------------------------------------------------------------------------


class _StepFailed(Exception):
    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class _AppSync:
    """Reconcile one Application on one cluster (runs on one thread of the cluster's pool)."""

    def __init__(self, session: _Session, prepared: _Prepared) -> None:
        self.session = session
        self.api = session.api
        self.settings = session.settings
        self.prepared = prepared
        self.work = prepared.work
        self.app = prepared.work.name
        self.started = time.monotonic()
        self.started_at = results.now()

    # -- the phases ---------------------------------------------------------------------------------

    def run(self) -> results.AppResult:
        if self.prepared.failure is not None:
            reason, message = self.prepared.failure
            return self._failed(reason, message)
        for (group, kind), exc in self.session.list_errors.items():
            if any(
                Ref.from_object(o).group == group and Ref.from_object(o).kind == kind
                for o in self.prepared.objects
            ):
                return self._failed(
                    _reason_for(exc, Reason.DIFF_FAILED), f"cannot list {kind}: {_message(exc)}"
                )
        delays = (
            self.prepared.policy.retry.delays()
            if (self.prepared.policy.retry and self.settings.retry)
            else []
        )
        attempt = 1
        while True:
            result = self._attempt(attempt)
            failed = result.phase in (OperationPhase.FAILED, OperationPhase.ERROR)
            if not (
                self.settings.writes and failed and result.reason.is_retryable() and attempt <= len(delays)
            ):
                return result
            delay = delays[attempt - 1]
            if self.session.remaining() < delay + 2 * DEADLINE_MARGIN:
                return result
            _log.info(
                "retrying application",
                extra={
                    "fields": {
                        "cluster": self.session.cluster.name,
                        "app": self.app,
                        "attempt": attempt + 1,
                        "delay": delay,
                        "reason": result.reason.value,
                    }
                },
            )
            time.sleep(delay)
            attempt += 1
            try:
                self.session.refresh(self._refs_to_refresh())
            except Exception as exc:  # noqa: BLE001 - report as this attempt's failure
                return self._failed(_reason_for(exc, Reason.DIFF_FAILED), _message(exc), attempts=attempt)

    def _refs_to_refresh(self) -> list[tuple[Ref, str]]:
        out = [
            (Ref.from_object(o), str(o["apiVersion"])) for o in self.prepared.objects if not plan.is_hook(o)
        ]
        previous = self.session.inventories.get(self.app)
        out.extend((e.ref, e.api_version) for e in (previous.entries if previous else ()))
        return out

    def _attempt(self, attempt: int) -> results.AppResult:
        session = self.session
        previous = session.inventories.get(self.app, inventory.Inventory())
        # 1. resolve secrets (and seal per cluster) just before the diff
        try:
            desired, secret_paths, always_apply = self._resolve()
        except Exception as exc:  # noqa: BLE001 - this Application fails; the others go on
            if isinstance(exc, errors.InputError) and not _is_secret_error(exc):
                reason = Reason.INVALID_SPEC
            else:
                reason = _reason_for(exc, Reason.SECRET_RESOLUTION_FAILED)
            return self._failed(reason, _message(exc), attempts=attempt)
        regular = [o for o in desired if not plan.is_hook(o) and not plan.is_skipped(o)]
        # 2. diff (desired against the live objects of the cluster-wide LISTs)
        live = self._live_view(desired, previous)
        current = inventory.from_objects(regular)
        stale = [e.ref for e in inventory.diff(previous, current) if e.ref in live]
        owned_stale = [r for r in stale if inventory.is_owned_by(live[r], self.app)]
        try:
            app_diff = diff.diff_all(
                regular,
                live,
                extra=owned_stale,
                ignore=self.prepared.rules,
                secret_paths=secret_paths,
                text=True,
            )
        except Exception as exc:  # noqa: BLE001 - a broken ignore rule must fail only this app
            return self._failed(Reason.DIFF_FAILED, _message(exc), attempts=attempt)
        rows, to_apply = self._classify(app_diff, regular, live, always_apply)
        # 3. plan
        policy = self.prepared.policy
        options = dataclasses.replace(policy.options, apply_out_of_sync_only=True)
        if options.flag("respect_ignore_differences") and self.prepared.rules:
            desired = [self._respect(o, live) for o in desired]
        try:
            the_plan = plan.plan_sync(
                desired,
                live,
                app=self.app,
                previous=previous,
                policy=policy,
                options=options,
                prune=True if self.settings.prune else None,
                out_of_sync=to_apply,
                namespace=self.work.namespace,
                revision=self.work.revision,
                started_at=self.settings.started_at,
            )
        except errors.FleetError as exc:
            return self._failed(Reason.INVALID_SPEC, _message(exc), attempts=attempt)
        self._note_skips(the_plan, rows)
        if the_plan.blocked:
            owners = ", ".join(f"{s.ref} (owned by {s.owner})" for s in the_plan.shared)
            return self._finish(
                rows,
                live,
                phase=OperationPhase.FAILED,
                reason=Reason.SHARED_RESOURCE,
                message=f"FailOnSharedResource: {owners}",
                attempts=attempt,
            )
        needs = self._needs_operation(the_plan, to_apply)
        # 4. execute (a sync; a dry run validates on the server; a diff only compares)
        failure: _StepFailed | None = None
        deleted: set[Ref] = set()
        if needs and self.settings.kind is results.RunKind.SYNC:
            failure = self._execute(the_plan, rows, live, deleted)
        elif needs and self.settings.kind is results.RunKind.DRY_RUN:
            failure = self._dry_run(the_plan, rows)
        else:
            self._would(the_plan, rows, to_apply)
        # 5. record the inventory
        if self.settings.writes:
            # Planned deletes that did not happen (failed, or never reached) stay listed; stale
            # objects the plan let go of (someone else's now) are forgotten.
            not_deleted = [
                i.ref for i in the_plan.items() if i.kind is plan.ItemKind.PRUNE and i.ref not in deleted
            ]
            record = inventory.after_prune(the_plan.inventory, the_plan.stale, not_deleted=not_deleted)
            configmap = lifecycle.inventory_configmap(
                self.app,
                record,
                appset=self.work.appset,
                applications_sync=self.work.applications_sync,
                cascade=self.work.cascade,
                namespace=self.work.namespace,
                hooks=lifecycle.delete_hooks(self.work.manifests),
            )
            if record != previous or lifecycle.differs(session.inventory_objects.get(self.app), configmap):
                try:
                    session.check_time("recording the inventory")
                    session.ensure_inventory_namespace()
                    written = self.api.apply(configmap, force=True)
                    session.inventories[self.app] = record
                    session.inventory_objects[self.app] = written
                except Exception as exc:  # noqa: BLE001 - the sync happened; say the record failed
                    if failure is None:
                        failure = _StepFailed(
                            _reason_for(exc, Reason.APPLY_FAILED),
                            f"recording the inventory failed: {_message(exc)}",
                        )
        # 6. health and the verdict
        if the_plan.empty_prune_refused and failure is None:
            return self._finish(
                rows,
                live,
                phase=OperationPhase.FAILED,
                reason=Reason.EMPTY_PRUNE_REFUSED,
                message="automated sync refused to prune every resource (allowEmpty is false)",
                attempts=attempt,
            )
        if failure is not None:
            return self._finish(
                rows,
                live,
                phase=OperationPhase.FAILED,
                reason=failure.reason,
                message=failure.message,
                attempts=attempt,
            )
        return self._finish(
            rows,
            live,
            phase=OperationPhase.SUCCEEDED,
            reason=Reason.SUCCEEDED,
            message=self._summary(rows),
            attempts=attempt,
        )

    # -- secrets --------------------------------------------------------------------------------------

    def _resolve(self) -> tuple[list[dict[str, Any]], dict[Ref, Any], set[Ref]]:
        """Resolve references per object; Secrets for sealed delivery become SealedSecrets."""
        from fleet.secrets import resolver as resolver_mod  # type: ignore[attr-defined]
        from fleet.secrets.sealed import delivery  # type: ignore[attr-defined]

        if self.work.shipped_files:
            from fleet.secrets.sops import provider as sops_provider  # type: ignore[attr-defined]

            sops_provider.register_shipped(self.work.shipped_files)
        out: list[dict[str, Any]] = []
        secret_paths: dict[Ref, Any] = {}
        always: set[Ref] = set()
        for obj in self.prepared.objects:
            ref = Ref.from_object(obj)
            if ref in self.prepared.sealed:
                self.session.check_time("sealing")
                sealed_ref = _sealed_ref(ref)
                sealed_obj = delivery.seal_for_cluster(
                    obj,
                    cluster=self.session.cluster,
                    cert=self.session.certificate(),
                    resolver=self.session.resolution(),
                    live=self.session.get_live(sealed_ref),
                    live_secret=self.session.get_live(ref),
                )
                # The SealedSecret is what fleet applies and tracks: give it its own tracking id.
                sealed_obj = inventory.stamp(sealed_obj, self.app)
                out.append(sealed_obj)
                always.add(sealed_ref)
            elif resolver_mod.has_references(obj):
                resolved, paths = self.session.resolution().resolve_object(obj)
                out.append(resolved)
                secret_paths[ref] = sorted(paths, key=str)
                always.add(ref)
            else:
                out.append(obj)
        return out, secret_paths, always

    def _live_view(
        self, desired: Sequence[Mapping[str, Any]], previous: inventory.Inventory
    ) -> dict[Ref, dict[str, Any]]:
        refs = {Ref.from_object(o) for o in desired} | previous.refs()
        view = {}
        for ref in refs:
            obj = self.session.get_live(ref)
            if obj is not None:
                view[ref] = obj
        # Namespaces fleet creates (CreateNamespace) are unlabelled; the session listed all of them.
        if self.work.namespace:
            ns_ref = Ref("", "Namespace", "", self.work.namespace)
            ns = self.session.get_live(ns_ref)
            if ns is not None:
                view[ns_ref] = ns
        return view

    def _respect(self, obj: dict[str, Any], live: Mapping[Ref, dict[str, Any]]) -> dict[str, Any]:
        ref = Ref.from_object(obj)
        rules = diff.rules_for(self.prepared.rules, ref)
        if not rules or ref not in live:
            return obj
        return diff.respect_ignore_differences(obj, live[ref], rules)

    # -- classification -------------------------------------------------------------------------------

    def _classify(
        self,
        app_diff: diff.AppDiff,
        regular: Sequence[Mapping[str, Any]],
        live: Mapping[Ref, Mapping[str, Any]],
        always_apply: set[Ref],
    ) -> tuple[dict[Ref, _Row], set[Ref]]:
        """One row per object; which of them this sync applies (Git changes, missing objects,
        secret-bearing objects that differ, and drift when selfHeal is on)."""
        by_ref = {Ref.from_object(o): o for o in regular}
        rows: dict[Ref, _Row] = {}
        to_apply: set[Ref] = set()
        heal = self.prepared.policy.self_heal
        for result in app_diff.results:
            ref = result.ref
            obj = by_ref.get(ref)
            api_version = str((obj or live.get(ref) or {}).get("apiVersion") or "")
            row = _Row(ref, api_version, wave=plan.wave(obj or live.get(ref) or {}))
            rows[ref] = row
            if result.kind is diff.DiffKind.UNCHANGED:
                continue
            row.diff = result.text
            row.status = SyncStatus.OUT_OF_SYNC
            if result.kind is diff.DiffKind.EXTRA:
                row.action = results.Action.PRUNE_SKIPPED
                row.message = "requires pruning"
                continue
            if result.kind is diff.DiffKind.MISSING:
                row.action = results.Action.CREATED
                to_apply.add(ref)
                continue
            wanted = _annotations(obj).get(DESIRED_HASH_ANNOTATION)
            applied = _annotations(live.get(ref)).get(DESIRED_HASH_ANNOTATION)
            row.action = results.Action.CONFIGURED
            if ref in always_apply:
                row.message = (
                    "holds secret references: re-applied whenever it differs (the backend is authoritative)"
                )
                to_apply.add(ref)
            elif wanted != applied:
                row.message = "changed in Git"
                to_apply.add(ref)
            else:
                row.drift = True
                if heal:
                    row.message = (
                        "changed by hand; healed (selfHeal)"
                        if self.settings.writes
                        else "changed by hand; selfHeal would heal it"
                    )
                    to_apply.add(ref)
                else:
                    row.action = results.Action.DRIFTED
                    row.message = "changed by hand; not healed (selfHeal is off)"
        return rows, to_apply

    def _note_skips(self, the_plan: plan.SyncPlan, rows: dict[Ref, _Row]) -> None:
        for skipped in the_plan.skipped:
            row = rows.get(skipped.ref)
            if row is None or row.action is not results.Action.PRUNE_SKIPPED:
                continue
            row.message = skipped.reason.value
            if skipped.reason is plan.SkipReason.NOT_OWNED:
                row.status = SyncStatus.SYNCED  # someone else's now: fleet forgets it

    @staticmethod
    def _needs_operation(the_plan: plan.SyncPlan, to_apply: set[Ref]) -> bool:
        """Whether a sync operation runs at all: something to apply (changed or missing) or to
        prune. An Application in sync costs no request beyond the cluster's LISTs, and its hooks
        do not run (as Argo CD's automated sync only operates on an OutOfSync Application)."""
        for item in the_plan.items():
            if item.kind is plan.ItemKind.PRUNE:
                return True
            if item.kind is plan.ItemKind.APPLY and (item.ref in to_apply or not item.exists):
                return True
        return False

    # -- execution ------------------------------------------------------------------------------------

    def _execute(
        self,
        the_plan: plan.SyncPlan,
        rows: dict[Ref, _Row],
        live: dict[Ref, dict[str, Any]],
        deleted: set[Ref],
    ) -> _StepFailed | None:
        """Run the steps in order: prune, apply, wait for health; SyncFail hooks on failure."""
        failure: _StepFailed | None = None
        for step in the_plan.steps:
            try:
                self.session.check_time(f"{step}")
                self._run_step(step, rows, live, deleted)
            except _StepFailed as exc:
                failure = exc
            except _DeadlineExceeded as exc:
                failure = _StepFailed(Reason.TIMEOUT, _message(exc))
            if failure is not None:
                for row in rows.values():
                    if (
                        row.action in (results.Action.CREATED, results.Action.CONFIGURED)
                        and row.result is None
                    ):
                        row.action = results.Action.SKIPPED
                        row.message = "not applied: an earlier step failed"
                break
        if failure is not None and the_plan.on_failure:
            for step in the_plan.on_failure:
                try:
                    self.session.check_time("SyncFail hooks")
                    self._run_step(step, rows, live, deleted)
                except (_StepFailed, _DeadlineExceeded) as exc:
                    _log.warning(
                        "SyncFail hook failed",
                        extra={
                            "fields": {
                                "cluster": self.session.cluster.name,
                                "app": self.app,
                                "error": _message(exc),
                            }
                        },
                    )
                    break
        return failure

    def _run_step(
        self, step: plan.Step, rows: dict[Ref, _Row], live: dict[Ref, dict[str, Any]], deleted: set[Ref]
    ) -> None:
        for item in step.prune:
            row = rows.setdefault(item.ref, _Row(item.ref, str(item.obj.get("apiVersion") or "")))
            try:
                self.api.delete(
                    row.api_version or str(item.obj.get("apiVersion")),
                    item.ref.kind,
                    item.ref.name,
                    item.ref.namespace or None,
                    propagation_policy=item.options.propagation_policy.value.title(),
                )
            except Exception as exc:  # noqa: BLE001 - reported per object and for the app
                row.action, row.result, row.message = (
                    results.Action.FAILED,
                    ResultCode.SYNC_FAILED,
                    _message(exc),
                )
                raise _StepFailed(
                    _reason_for(exc, Reason.PRUNE_FAILED), f"pruning {item.ref} failed: {_message(exc)}"
                ) from exc
            deleted.add(item.ref)
            live.pop(item.ref, None)
            self.session.set_live(item.ref, None)
            row.action, row.status, row.result, row.message = (
                results.Action.PRUNED,
                SyncStatus.SYNCED,
                ResultCode.PRUNED,
                "pruned",
            )
        waiting: list[plan.Item] = []
        for item in step.apply:
            if item.kind is plan.ItemKind.HOOK:
                row = rows.setdefault(item.ref, _Row(item.ref, str(item.obj.get("apiVersion"))))
                row.action, row.hook, row.wave = (
                    results.Action.HOOK,
                    (item.phase.value if item.phase else ""),
                    plan.wave(item.obj),
                )
                if not item.create:
                    waiting.append(item)
                    continue
                try:
                    if item.recreate:
                        self._delete_and_wait(item)
                    applied = self.api.apply(item.obj, force=True)
                except Exception as exc:  # noqa: BLE001
                    row.result, row.message = ResultCode.SYNC_FAILED, _message(exc)
                    raise _StepFailed(
                        _reason_for(exc, Reason.HOOK_FAILED), f"hook {item.ref} failed: {_message(exc)}"
                    ) from exc
                live[item.ref] = applied
                self.session.set_live(item.ref, applied)
                waiting.append(item)
                continue
            row = rows.get(item.ref)
            if row is None:  # a namespace created by CreateNamespace
                row = rows[item.ref] = _Row(item.ref, str(item.obj.get("apiVersion")))
                row.action = results.Action.CONFIGURED if item.exists else results.Action.CREATED
                row.message = "CreateNamespace"
            try:
                applied = self._apply(item, live.get(item.ref))
            except Exception as exc:  # noqa: BLE001
                row.action, row.status, row.result, row.message = (
                    results.Action.FAILED,
                    SyncStatus.OUT_OF_SYNC,
                    ResultCode.SYNC_FAILED,
                    _message(exc),
                )
                raise _StepFailed(
                    _reason_for(exc, Reason.APPLY_FAILED), f"applying {item.ref} failed: {_message(exc)}"
                ) from exc
            live[item.ref] = applied
            self.session.set_live(item.ref, applied)
            row.status, row.result = SyncStatus.SYNCED, ResultCode.SYNCED
            if row.action is results.Action.UNCHANGED:
                row.action = results.Action.CONFIGURED
            waiting.append(item)
        self._wait(waiting, rows, live)

    def _apply(self, item: plan.Item, live_obj: Mapping[str, Any] | None) -> dict[str, Any]:
        if item.server_side_apply:
            return self.api.apply(item.obj, force=True)
        # Replace=true or ServerSideApply=false: a whole-object update (or a create).
        if live_obj is None:
            return self.api.create(item.obj)
        body = copy.deepcopy(dict(item.obj))
        body.setdefault("metadata", {})["resourceVersion"] = (live_obj.get("metadata") or {}).get(
            "resourceVersion"
        )
        return self.api.replace(body)

    def _delete_and_wait(self, item: plan.Item) -> None:
        api_version = str(item.obj.get("apiVersion"))
        self.api.delete(
            api_version,
            item.ref.kind,
            item.ref.name,
            item.ref.namespace or None,
            propagation_policy=client.PropagationPolicy.BACKGROUND,
        )
        interval = self.settings.poll_interval
        while self.api.get(api_version, item.ref.kind, item.ref.name, item.ref.namespace or None) is not None:
            self.session.check_time(f"recreating hook {item.ref}")
            time.sleep(interval)
            interval = min(1.0, interval * 2)

    def _wait(
        self, items: Sequence[plan.Item], rows: dict[Ref, _Row], live: dict[Ref, dict[str, Any]]
    ) -> None:
        """Wait until every object of the step is healthy (hooks: complete), or fail the step."""
        if not items:
            return
        deadline = time.monotonic() + self.settings.health_timeout
        if self.session.deadline is not None:
            deadline = min(deadline, self.session.deadline)
        interval = self.settings.poll_interval
        statuses = {item.ref: health.check(live.get(item.ref)) for item in items}
        while True:
            pending = [i for i in items if not statuses[i.ref].status.is_settled()]
            degraded = [i for i in items if statuses[i.ref].status is health.Health.DEGRADED]
            if degraded or not pending:
                break
            if time.monotonic() + interval > deadline:
                names = ", ".join(str(i.ref) for i in pending[:5])
                raise _StepFailed(
                    Reason.TIMEOUT, f"not healthy within {self.settings.health_timeout:g}s: {names}"
                )
            time.sleep(interval)
            interval = min(1.0, interval * 2)
            for item in pending:
                api_version = str(item.obj.get("apiVersion"))
                try:
                    obj = self.api.get(api_version, item.ref.kind, item.ref.name, item.ref.namespace or None)
                except Exception as exc:  # noqa: BLE001
                    raise _StepFailed(
                        _reason_for(exc, Reason.HEALTH_CHECK_FAILED),
                        f"reading {item.ref} failed: {_message(exc)}",
                    ) from exc
                if obj is not None:
                    live[item.ref] = obj
                    self.session.set_live(item.ref, obj)
                statuses[item.ref] = health.check(obj)
        # Hooks: delete per policy once they completed; a failed hook fails the step.
        failed_hooks = []
        for item in items:
            status = statuses[item.ref]
            if item.kind is not plan.ItemKind.HOOK:
                continue
            ok = status.status is not health.Health.DEGRADED
            row = rows[item.ref]
            row.result = ResultCode.SYNCED if ok else ResultCode.SYNC_FAILED
            row.message = status.message or ("completed" if ok else "failed")
            if not ok:
                failed_hooks.append(item)
            wanted = plan.HookDeletePolicy.HOOK_SUCCEEDED if ok else plan.HookDeletePolicy.HOOK_FAILED
            if wanted in item.delete_policies:
                try:
                    self.api.delete(
                        str(item.obj.get("apiVersion")),
                        item.ref.kind,
                        item.ref.name,
                        item.ref.namespace or None,
                        propagation_policy=client.PropagationPolicy.BACKGROUND,
                    )
                    live.pop(item.ref, None)
                    self.session.set_live(item.ref, None)
                    row.message += f"; deleted ({wanted.value})"
                except Exception as exc:  # noqa: BLE001 - the hook ran; only its clean-up failed
                    row.message += f"; delete failed: {_message(exc)}"
        if failed_hooks:
            names = ", ".join(str(i.ref) for i in failed_hooks)
            raise _StepFailed(Reason.HOOK_FAILED, f"hook failed: {names}")
        bad = [
            i
            for i in items
            if i.kind is not plan.ItemKind.HOOK and statuses[i.ref].status is health.Health.DEGRADED
        ]
        if bad:
            detail = "; ".join(f"{i.ref}: {statuses[i.ref].message}" for i in bad[:5])
            raise _StepFailed(Reason.HEALTH_CHECK_FAILED, f"degraded: {detail}")

    def _dry_run(self, the_plan: plan.SyncPlan, rows: dict[Ref, _Row]) -> _StepFailed | None:
        """Everything but the writes: the API server validates each change (server-side dry run)
        where it can; objects in a namespace or of a kind this sync would create first are
        checked locally only (the server cannot see what does not exist yet)."""
        failure: _StepFailed | None = None
        for item in the_plan.items():
            row = rows.get(item.ref)
            if item.kind is plan.ItemKind.HOOK:
                row = rows.setdefault(item.ref, _Row(item.ref, str(item.obj.get("apiVersion"))))
                row.action, row.hook, row.message = (
                    results.Action.HOOK,
                    item.phase.value if item.phase else "",
                    "would run",
                )
                continue
            if row is None:
                action = results.Action.CONFIGURED if item.exists else results.Action.CREATED
                row = rows[item.ref] = _Row(
                    item.ref,
                    str(item.obj.get("apiVersion")),
                    action=action,
                    message="CreateNamespace",
                    status=SyncStatus.OUT_OF_SYNC,
                )
            try:
                self.session.check_time("dry run")
                if item.kind is plan.ItemKind.PRUNE:
                    self.api.delete(
                        row.api_version,
                        item.ref.kind,
                        item.ref.name,
                        item.ref.namespace or None,
                        dry_run=True,
                    )
                elif item.server_side_apply:
                    self.api.apply(item.obj, force=True, dry_run=True)
            except (client.NotFound, client.UnknownKind):
                pass  # its namespace or CRD comes with this sync: validated locally only
            except Exception as exc:  # noqa: BLE001
                row.action, row.result, row.message = (
                    results.Action.FAILED,
                    ResultCode.SYNC_FAILED,
                    _message(exc),
                )
                if failure is None:
                    failure = _StepFailed(
                        _reason_for(exc, Reason.APPLY_FAILED),
                        f"dry run of {item.ref} failed: {_message(exc)}",
                    )
                continue
            self._mark_would(row, item.kind is plan.ItemKind.PRUNE)
        self._would(the_plan, rows, set())
        return failure

    def _would(self, the_plan: plan.SyncPlan, rows: dict[Ref, _Row], to_apply: set[Ref]) -> None:
        """Compare only (diff, or nothing to do): say what a sync would do."""
        if self.settings.kind is results.RunKind.SYNC:
            return
        prune_refs = {i.ref for i in the_plan.items() if i.kind is plan.ItemKind.PRUNE}
        for row in rows.values():
            if row.action in (
                results.Action.CREATED,
                results.Action.CONFIGURED,
                results.Action.PRUNE_SKIPPED,
            ):
                if row.action is results.Action.PRUNE_SKIPPED and row.ref not in prune_refs:
                    continue
                self._mark_would(row, row.ref in prune_refs)

    @staticmethod
    def _mark_would(row: _Row, prune: bool) -> None:
        if row.action is results.Action.UNCHANGED:
            return
        if prune:
            row.action = results.Action.WOULD_PRUNE
        elif row.action is results.Action.CREATED:
            row.action = results.Action.WOULD_CREATE
        elif row.action is results.Action.CONFIGURED:
            row.action = results.Action.WOULD_CONFIGURE
        row.status = SyncStatus.OUT_OF_SYNC

    # -- results -----------------------------------------------------------------------------------

    def _summary(self, rows: Mapping[Ref, _Row]) -> str:
        counts: dict[str, int] = {}
        for row in rows.values():
            if row.action is not results.Action.UNCHANGED:
                counts[row.action.value] = counts.get(row.action.value, 0) + 1
        if not counts:
            return "in sync"
        return ", ".join(f"{n} {action}" for action, n in sorted(counts.items()))

    def _finish(
        self,
        rows: Mapping[Ref, _Row],
        live: Mapping[Ref, Mapping[str, Any]],
        *,
        phase: OperationPhase,
        reason: Reason,
        message: str,
        attempts: int,
    ) -> results.AppResult:
        resources = []
        statuses = []
        for row in sorted(
            rows.values(), key=lambda r: (r.hook != "", r.wave, plan.kind_rank(r.ref.kind), r.ref)
        ):
            obj = live.get(row.ref)
            state = (
                health.check(obj)
                if row.action
                not in (results.Action.PRUNED, results.Action.WOULD_PRUNE, results.Action.PRUNE_SKIPPED)
                else None
            )
            if state is not None and not row.hook:
                statuses.append(state)
            resources.append(
                results.ResourceResult(
                    group=row.ref.group,
                    version=_version(row.api_version),
                    kind=row.ref.kind,
                    namespace=row.ref.namespace,
                    name=row.ref.name,
                    action=row.action,
                    status=row.status,
                    health=state.status if state else None,
                    health_message=redact.mask(state.message) if state else "",
                    result=row.result,
                    message=redact.mask(row.message),
                    diff=redact.mask(row.diff),
                    drift=row.drift,
                    wave=row.wave,
                    hook=row.hook,
                )
            )
        sync_status = (
            SyncStatus.OUT_OF_SYNC
            if any(r.status is SyncStatus.OUT_OF_SYNC for r in resources)
            else SyncStatus.SYNCED
        )
        return results.AppResult(
            name=self.app,
            cluster=self.session.cluster.name,
            project=self.work.project,
            namespace=self.work.namespace,
            appset=self.work.appset,
            revision=self.work.revision,
            sync_status=sync_status,
            health=health.aggregate(statuses),
            phase=phase,
            reason=reason,
            message=redact.mask(message),
            resources=tuple(resources),
            started_at=self.started_at,
            seconds=round(time.monotonic() - self.started, 3),
            attempts=attempts,
        )

    def _failed(self, reason: Reason, message: str, *, attempts: int = 1) -> results.AppResult:
        return failed_app(
            self.work,
            cluster=self.session.cluster.name,
            reason=reason,
            message=message,
            started_at=self.started_at,
            seconds=time.monotonic() - self.started,
            attempts=attempts,
        )


# --- one Application removed from Git ------------------------------------------------------------


@dataclass(frozen=True)
class _Removed:
    """An Application whose inventory is on the cluster but that the run no longer generates."""

    name: str
    configmap: Mapping[str, Any]
    record: lifecycle.Record
    decision: lifecycle.Decision
    message: str

    @property
    def inventory(self) -> inventory.Inventory:
        return inventory.from_configmap(self.configmap)


def find_removed(work: ClusterWork, session: _Session) -> list[_Removed]:
    """The Applications to delete (or preserve, or keep) on this cluster, with the decision."""
    if work.removal is None:
        return []
    found = []
    names = lifecycle.removed(session.inventory_objects, work.removal, present=[a.name for a in work.apps])
    for name in names:
        configmap = session.inventory_objects[name]
        record = lifecycle.read(configmap)
        decision, message = lifecycle.decide(record, work.removal)
        found.append(_Removed(name, configmap, record, decision, message))
    return found


def removal_kinds(removed: Iterable[_Removed]) -> dict[tuple[str, str], str]:
    """(group, kind) -> apiVersion to LIST for the Applications to delete (objects and hooks)."""
    kinds: dict[tuple[str, str], str] = {}
    for item in removed:
        if item.decision is not lifecycle.Decision.DELETE:
            continue
        try:
            entries = item.inventory.entries
        except errors.FleetError:
            entries = ()
        for entry in entries:
            kinds.setdefault((entry.ref.group, entry.ref.kind), entry.api_version)
        for hook in item.record.hooks:
            ref = Ref.from_object(hook)
            if hook.get("apiVersion") and ref.kind:
                kinds.setdefault((ref.group, ref.kind), str(hook["apiVersion"]))
    return kinds


class _AppDelete:
    """Carry out the decision about one removed Application (runs on the cluster's pool)."""

    def __init__(self, session: _Session, removed: _Removed) -> None:
        self.session = session
        self.api = session.api
        self.removed = removed
        self.record = removed.record
        self.started = time.monotonic()
        self.started_at = results.now()

    def run(self) -> results.AppResult:
        decision = self.removed.decision
        writes = self.session.settings.writes
        if decision is lifecycle.Decision.KEEP:
            return self._result(results.Deletion.KEPT, self.removed.message, phase=OperationPhase.NOT_STARTED)
        try:
            previous = self.removed.inventory
        except errors.FleetError as exc:
            return self._result(results.Deletion.FAILED, _message(exc), reason=Reason.INVALID_SPEC)
        if decision is lifecycle.Decision.PRESERVE:
            resources = tuple(
                results.ResourceResult(
                    group=e.ref.group,
                    version=e.version,
                    kind=e.ref.kind,
                    namespace=e.ref.namespace,
                    name=e.ref.name,
                    action=results.Action.PRUNE_SKIPPED,
                    message="kept (no cascade)",
                )
                for e in previous.entries
            )
            if not writes:
                return self._result(
                    results.Deletion.WOULD_PRESERVE, self.removed.message, resources=resources
                )
            try:
                self._drop_inventory()
            except Exception as exc:  # noqa: BLE001 - reported for this Application
                return self._result(
                    results.Deletion.FAILED,
                    f"dropping the inventory failed: {_message(exc)}",
                    reason=_reason_for(exc, Reason.PRUNE_FAILED),
                    resources=resources,
                )
            return self._result(results.Deletion.PRESERVED, self.removed.message, resources=resources)
        return self._delete(previous)

    def _delete(self, previous: inventory.Inventory) -> results.AppResult:
        session = self.session
        work = AppWork(
            name=self.removed.name,
            namespace=self.record.namespace,
            manifests=self.record.hooks,
            appset=self.record.appset,
        )
        prepared = _prepare_safely(work, cluster_scope(self.api, [work]) if work.manifests else None)
        if prepared.failure is not None:
            return self._result(results.Deletion.FAILED, prepared.failure[1], reason=prepared.failure[0])
        sync = _AppSync(session, prepared)
        try:
            hooks, _, _ = sync._resolve()
        except Exception as exc:  # noqa: BLE001 - the hooks' secrets did not resolve: delete nothing
            return self._result(
                results.Deletion.FAILED,
                _message(exc),
                reason=_reason_for(exc, Reason.SECRET_RESOLUTION_FAILED),
            )
        refs = previous.refs() | {Ref.from_object(h) for h in hooks}
        live = {ref: obj for ref in refs if (obj := session.get_live(ref)) is not None}
        the_plan = plan.plan_deletion(
            live,
            app=self.removed.name,
            previous=previous,
            hooks=hooks,
            started_at=session.settings.started_at,
        )
        rows: dict[Ref, _Row] = {}
        for skipped in the_plan.skipped:
            entry = previous.get(skipped.ref)
            rows[skipped.ref] = _Row(
                skipped.ref,
                entry.api_version if entry else "",
                action=results.Action.PRUNE_SKIPPED,
                message=f"kept: {skipped.reason.value}",
            )
        if not session.settings.writes:
            for step in the_plan.steps:
                for item in step.prune:
                    rows[item.ref] = _Row(
                        item.ref,
                        str(item.obj.get("apiVersion") or ""),
                        action=results.Action.WOULD_PRUNE,
                        status=SyncStatus.OUT_OF_SYNC,
                        message="would be deleted (removed from Git)",
                    )
                for item in step.apply:
                    rows[item.ref] = _Row(
                        item.ref,
                        str(item.obj.get("apiVersion") or ""),
                        action=results.Action.HOOK,
                        hook=item.phase.value if item.phase else "",
                        message="would run",
                    )
            return self._finish(sync, rows, live, results.Deletion.WOULD_DELETE, self.removed.message)
        deleted: set[Ref] = set()
        failure: _StepFailed | None = None
        for step in the_plan.steps:
            try:
                session.check_time(f"deleting {self.removed.name}")
                sync._run_step(step, rows, live, deleted)
                self._wait_gone(step.prune)
            except _StepFailed as exc:
                failure = exc
            except _DeadlineExceeded as exc:
                failure = _StepFailed(Reason.TIMEOUT, _message(exc))
            if failure is not None:
                break
        try:
            if failure is None:
                self._drop_inventory()
            else:
                # What was not deleted stays listed, so the next run tries again.
                left = inventory.remove(previous, deleted)
                self.api.apply(
                    lifecycle.inventory_configmap(
                        self.removed.name,
                        left,
                        appset=self.record.appset,
                        applications_sync=self.record.applications_sync,
                        cascade=self.record.cascade,
                        namespace=self.record.namespace,
                        hooks=self.record.hooks,
                    ),
                    force=True,
                )
        except Exception as exc:  # noqa: BLE001 - the deletes happened; say the record failed
            if failure is None:
                failure = _StepFailed(
                    _reason_for(exc, Reason.PRUNE_FAILED), f"removing the inventory failed: {_message(exc)}"
                )
        if failure is not None:
            return self._finish(
                sync,
                rows,
                live,
                results.Deletion.FAILED,
                f"deleting failed: {failure.message}",
                reason=failure.reason,
            )
        return self._finish(sync, rows, live, results.Deletion.DELETED, self.removed.message)

    def _wait_gone(self, items: Sequence[plan.Item]) -> None:
        """Wait until the deleted objects of a wave are gone (finalizers, foreground deletion)."""
        if not items:
            return
        deadline = time.monotonic() + self.session.settings.health_timeout
        interval = self.session.settings.poll_interval
        pending = list(items)
        while pending:
            still = []
            for item in pending:
                api_version = str(item.obj.get("apiVersion") or "")
                try:
                    found = self.api.get(
                        api_version, item.ref.kind, item.ref.name, item.ref.namespace or None
                    )
                except client.UnknownKind:
                    found = None
                if found is not None:
                    still.append(item)
            pending = still
            if not pending:
                return
            if time.monotonic() + interval > deadline:
                names = ", ".join(str(i.ref) for i in pending[:5])
                raise _StepFailed(
                    Reason.TIMEOUT, f"not deleted within {self.session.settings.health_timeout:g}s: {names}"
                )
            self.session.check_time("waiting for deletion")
            time.sleep(interval)
            interval = min(1.0, interval * 2)

    def _drop_inventory(self) -> None:
        try:
            self.api.delete(
                "v1", "ConfigMap", inventory.configmap_name(self.removed.name), inventory.INVENTORY_NAMESPACE
            )
        except client.NotFound:
            pass
        self.session.inventories.pop(self.removed.name, None)
        self.session.inventory_objects.pop(self.removed.name, None)

    def _finish(
        self,
        sync: _AppSync,
        rows: Mapping[Ref, _Row],
        live: Mapping[Ref, Mapping[str, Any]],
        deletion: results.Deletion,
        message: str,
        *,
        reason: Reason = Reason.SUCCEEDED,
    ) -> results.AppResult:
        failed = deletion is results.Deletion.FAILED
        done = sync._finish(
            rows,
            live,
            phase=OperationPhase.FAILED if failed else OperationPhase.SUCCEEDED,
            reason=reason,
            message=message,
            attempts=1,
        )
        return done.model_copy(update=self._status(deletion))

    def _result(
        self,
        deletion: results.Deletion,
        message: str,
        *,
        reason: Reason = Reason.SUCCEEDED,
        phase: OperationPhase | None = None,
        resources: tuple[results.ResourceResult, ...] = (),
    ) -> results.AppResult:
        failed = deletion is results.Deletion.FAILED
        return results.AppResult(
            name=self.removed.name,
            cluster=self.session.cluster.name,
            namespace=self.record.namespace,
            appset=self.record.appset,
            phase=phase or (OperationPhase.FAILED if failed else OperationPhase.SUCCEEDED),
            reason=reason,
            message=redact.mask(message),
            resources=resources,
            started_at=self.started_at,
            seconds=round(time.monotonic() - self.started, 3),
            **self._status(deletion),
        )

    @staticmethod
    def _status(deletion: results.Deletion) -> dict[str, Any]:
        """Sync status and health of a removed Application: gone is in sync with Git."""
        if deletion.gone():
            sync_status, state = SyncStatus.SYNCED, health.Health.MISSING
        elif deletion in (
            results.Deletion.WOULD_DELETE,
            results.Deletion.WOULD_PRESERVE,
            results.Deletion.FAILED,
        ):
            sync_status, state = SyncStatus.OUT_OF_SYNC, health.Health.UNKNOWN
        else:  # kept: not compared
            sync_status, state = SyncStatus.UNKNOWN, health.Health.UNKNOWN
        return {"deletion": deletion, "sync_status": sync_status, "health": state}


def _run_removal(session: _Session, removed: _Removed) -> results.AppResult:
    try:
        return _AppDelete(session, removed).run()
    except Exception as exc:  # noqa: BLE001 - one deletion's bug must not take the cluster down
        return results.AppResult(
            name=removed.name,
            cluster=session.cluster.name,
            appset=removed.record.appset,
            sync_status=SyncStatus.UNKNOWN,
            health=health.Health.UNKNOWN,
            phase=OperationPhase.ERROR,
            reason=_reason_for(exc, Reason.PRUNE_FAILED),
            message=_message(exc),
            deletion=results.Deletion.FAILED,
        )


def _is_secret_error(exc: BaseException) -> bool:
    from fleet.secrets import refs  # type: ignore[attr-defined]

    return isinstance(exc, refs.SecretError)


def failed_app(
    work: AppWork,
    *,
    cluster: str,
    reason: Reason,
    message: str,
    started_at: str | None = None,
    seconds: float = 0.0,
    attempts: int = 1,
) -> results.AppResult:
    """An Application that could not be compared at all (Unknown), with why."""
    phase = OperationPhase.FAILED if reason in (Reason.TIMEOUT, Reason.APPLY_FAILED) else OperationPhase.ERROR
    return results.AppResult(
        name=work.name,
        cluster=cluster,
        project=work.project,
        namespace=work.namespace,
        appset=work.appset,
        revision=work.revision,
        sync_status=SyncStatus.UNKNOWN,
        health=health.Health.UNKNOWN,
        phase=phase,
        reason=reason,
        message=redact.mask(message),
        started_at=started_at or results.now(),
        seconds=round(seconds, 3),
        attempts=attempts,
    )


def failed_cluster(
    work: ClusterWork,
    *,
    reason: Reason,
    message: str,
    seconds: float = 0.0,
    worker: str = "",
    requests: Mapping[str, int] | None = None,
    reachable: bool = False,
) -> results.ClusterResult:
    """A cluster that could not be reconciled at all: every Application Unknown, with the reason."""
    message = redact.mask(message)
    apps = tuple(
        failed_app(app, cluster=work.cluster.name, reason=reason, message=message) for app in work.apps
    )
    return results.ClusterResult(
        cluster=work.cluster.name,
        server=work.cluster.server,
        reachable=reachable,
        reason=reason,
        message=message,
        apps=apps,
        requests=dict(requests or {}),
        seconds=round(seconds, 3),
        worker=worker,
    )


# --- the entry point ------------------------------------------------------------------------------


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
    started = time.monotonic()
    settings = work.settings
    deadline = started + settings.cluster_timeout - DEADLINE_MARGIN if settings.cluster_timeout else None
    worker = _worker_name()
    _register_literal_credentials(work.cluster)
    cluster = work.cluster.name
    fields = {"cluster": cluster, "apps": len(work.apps), "kind": settings.kind.value}
    _log.debug("cluster sync started", extra={"fields": fields})

    # 1. connect (references among the credentials are resolved here, in the worker)
    # A request never waits much beyond the cluster's budget, so an abandoned worker thread ends
    # soon; the driver's per-cluster deadline fires first and reports a hanging cluster (Timeout).
    read_timeout = settings.request_timeout
    if settings.cluster_timeout:
        read_timeout = max(1.0, min(read_timeout, settings.cluster_timeout + 5.0))
    try:
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
            resolver = shared_resolver(work)
            if resolver is None:
                from fleet.secrets import resolver as resolver_mod  # type: ignore[attr-defined]

                resolver = resolver_mod.Resolver()
            credential_resolver = resolver.credential_resolver(work.cluster)
        api = client.connect(
            work.cluster,
            credential_resolver=credential_resolver,
            qps=settings.qps,
            burst=settings.burst,
            timeout=(min(5.0, read_timeout), read_timeout),
            pool_size=max(4, settings.app_concurrency * 2),
        )
    except errors.FleetError as exc:
        reason = Reason.SECRET_RESOLUTION_FAILED if _is_secret_error(exc) else Reason.PERMISSION_DENIED
        return _masked(
            failed_cluster(
                work,
                reason=reason,
                message=f"cannot connect: {_message(exc)}",
                seconds=time.monotonic() - started,
                worker=worker,
            )
        )

    session = _Session(work, api, deadline)
    try:
        # 2. prepare every Application (local work), then read the live state: ONE LIST of the
        #    inventories, ONE LIST per resource type
        scoped = cluster_scope(api, work.apps)
        prepared = [_check_project(_prepare_safely(app, scoped), scoped, work.cluster) for app in work.apps]
        renders_configmaps = any(
            Ref.from_object(o).kind == "ConfigMap" and Ref.from_object(o).group == ""
            for p in prepared
            if not p.failure
            for o in p.objects
        )
        session.read_inventories(also_configmaps=renders_configmaps)
        removed = find_removed(work, session)
        kinds = kinds_needed(prepared, session.inventories)
        for key, api_version in removal_kinds(removed).items():
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
    except Exception as exc:  # noqa: BLE001 - the whole cluster failed; say why and stop here
        stats = api.stats().by_verb
        api.close()
        if isinstance(exc, _DeadlineExceeded):
            reason = Reason.TIMEOUT
        elif isinstance(exc, client.Forbidden | client.Unauthorized):
            reason = Reason.PERMISSION_DENIED
        else:
            reason = Reason.CLUSTER_UNREACHABLE
        _log.warning(
            "cluster failed", extra={"fields": {**fields, "reason": reason.value, "error": _message(exc)}}
        )
        return _masked(
            failed_cluster(
                work,
                reason=reason,
                message=_message(exc),
                seconds=time.monotonic() - started,
                worker=worker,
                requests=stats,
                reachable=reason is Reason.PERMISSION_DENIED,
            )
        )

    # 3. every Application on a small pool of threads (bounded concurrency per cluster)
    apps: list[results.AppResult] = []
    with concurrent.futures.ThreadPoolExecutor(
        max_workers=max(1, settings.app_concurrency), thread_name_prefix=f"fleet-{cluster}"
    ) as pool:
        futures = [pool.submit(_run_app, session, item) for item in prepared]
        futures.extend(pool.submit(_run_removal, session, item) for item in removed)
        for future in concurrent.futures.as_completed(futures):
            apps.append(future.result())
    apps.sort(key=lambda a: a.name)
    stats = api.stats().by_verb
    api.close()
    unreachable = [a for a in apps if a.reason is Reason.CLUSTER_UNREACHABLE]
    reason = Reason.CLUSTER_UNREACHABLE if apps and len(unreachable) == len(apps) else None
    result = results.ClusterResult(
        cluster=cluster,
        server=work.cluster.server,
        reachable=reason is None,
        reason=reason,
        message=unreachable[0].message if reason else "",
        apps=tuple(apps),
        requests=dict(stats),
        seconds=round(time.monotonic() - started, 3),
        worker=worker,
    )
    _log.debug(
        "cluster sync finished",
        extra={"fields": {**fields, "ok": result.ok, "requests": result.request_total}},
    )
    return _masked(result)


def cluster_scope(api: client.ClusterClient, works: Sequence[AppWork]) -> frozenset[tuple[str, str]]:
    """Which (group, kind)s of these manifests are cluster-scoped, from the cluster's discovery
    (which the LISTs need anyway). A kind the server does not serve yet is judged by a CRD among
    the manifests (``spec.scope``), else by the kinds that are cluster-scoped everywhere."""
    crd_scopes: dict[tuple[str, str], bool] = {}
    kinds: dict[tuple[str, str], str] = {}
    for work in works:
        for obj in work.manifests:
            api_version, kind = str(obj.get("apiVersion") or ""), str(obj.get("kind") or "")
            if not api_version or not kind:
                continue
            ref = Ref.from_object(obj)
            kinds.setdefault((ref.group, kind), api_version)
            if (ref.group, kind) == ("apiextensions.k8s.io", "CustomResourceDefinition"):
                spec = obj.get("spec") or {}
                names = spec.get("names") or {}
                if spec.get("group") and names.get("kind"):
                    crd_scopes[(str(spec["group"]), str(names["kind"]))] = spec.get("scope") == "Cluster"
    scoped = set(plan.CLUSTER_SCOPED_KINDS)
    for (group, kind), api_version in kinds.items():
        try:
            namespaced = api.resource(api_version, kind).namespaced
        except client.UnknownKind:
            if (group, kind) not in crd_scopes:
                continue
            namespaced = not crd_scopes[(group, kind)]
        if namespaced:
            scoped.discard((group, kind))
        else:
            scoped.add((group, kind))
    return frozenset(scoped)


def _check_project(
    prepared: _Prepared, cluster_scoped: frozenset[tuple[str, str]], cluster: models.Cluster
) -> _Prepared:
    """Refuse the whole Application, before any write, when its AppProject does not permit one
    of its objects (hooks included), as Argo CD fails such a sync as a whole."""
    rules = prepared.work.project_rules
    if rules is None or prepared.failure is not None:
        return prepared
    denied = projects.denied_objects(
        rules, prepared.objects, cluster_scoped=cluster_scoped, server=cluster.server, name=cluster.name
    )
    if denied:
        more = f" (and {len(denied) - 3} more)" if len(denied) > 3 else ""
        prepared.failure = (
            Reason.PROJECT_DENIED,
            f"application {prepared.work.name}: {'; '.join(denied[:3])}{more}",
        )
    return prepared


def _prepare_safely(work: AppWork, cluster_scoped: frozenset[tuple[str, str]] | None = None) -> _Prepared:
    try:
        return prepare(work, cluster_scoped=cluster_scoped)
    except Exception as exc:  # noqa: BLE001 - one Application's bad manifest must not stop the cluster
        return _Prepared(work, failure=(Reason.INVALID_SPEC, f"application {work.name}: {_message(exc)}"))


def _run_app(session: _Session, prepared: _Prepared) -> results.AppResult:
    try:
        return _AppSync(session, prepared).run()
    except Exception as exc:  # noqa: BLE001 - one Application's bug must not take the cluster down
        _log.debug(
            "application failed unexpectedly",
            extra={
                "fields": {"cluster": session.cluster.name, "app": prepared.work.name, "error": _message(exc)}
            },
        )
        reason = _reason_for(
            exc, Reason.TIMEOUT if isinstance(exc, _DeadlineExceeded) else Reason.APPLY_FAILED
        )
        return failed_app(prepared.work, cluster=session.cluster.name, reason=reason, message=_message(exc))


__all__ = [
    "DESIRED_HASH_ANNOTATION",
    "AppWork",
    "ClusterWork",
    "Settings",
    "desired_hash",
    "failed_app",
    "failed_cluster",
    "prepare",
    "sync_cluster",
]
