"""One Application's wave plan on the worker: options, hooks, waves and ordering, turned into a
list of steps to execute (the driver's plan of a whole run is ``fleet.driver.schedule.RunPlan``).

Sits between diff and apply in a cluster sync. Given the desired objects (rendered, stamped, with
secrets resolved or not: values do not matter here), the live objects, the previous inventory and
the options, ``plan_sync`` returns a ``SyncPlan``: ordered ``Step``s, each one phase and wave with
objects to prune first, then objects (and hooks) to apply, then a wait until they are healthy or
complete. The orchestrator only executes steps; every decision is made here, purely.

Semantics follow Argo CD's gitops-engine (``pkg/sync``; see ``docs/user-guide/sync-waves.md``):

- Phases run PreSync, Sync, PostSync; SyncFail hooks run only when the sync failed
  (``SyncPlan.on_failure``). PreDelete/PostDelete hooks are recognised and set aside for deletion of
  the Application (``SyncPlan.delete_hooks``); they never run in a sync.
- Within a phase: wave (``argocd.argoproj.io/sync-wave``, an integer, default 0; a Helm hook's
  ``helm.sh/hook-weight`` stands in when it is absent), then kind (``KIND_ORDER``), then name.
  A Namespace moves up to just before the first object in it, a CRD before its first custom
  resource, taking that object's phase and wave (gitops-engine's ``adjustDeps``).
- Hooks: ``argocd.argoproj.io/hook`` (comma list); without it ``helm.sh/hook`` is mapped
  (pre-install/pre-upgrade -> PreSync, post-install/post-upgrade -> PostSync; ``crd-install``
  is not a hook; other Helm hook types are never run). ``Skip`` alone skips the object.
  Delete policies from ``argocd.argoproj.io/hook-delete-policy`` and ``helm.sh/hook-delete-policy``,
  default BeforeHookCreation. Hooks with ``generateName`` get a name from revision, phase and start
  time. Hooks are not part of the inventory and do not run in a selective sync.
- Prune: stale objects (previous inventory minus desired) that the live cluster still has and that
  carry this Application's tracking id. Their waves are mirrored (the last created is the first
  deleted); PruneLast objects go in one step after the last Sync wave. In a step, prune runs before
  apply. An automated sync never prunes everything unless ``allowEmpty``.

``plan_deletion`` plans deleting an Application (PreDelete hooks, deletes in reverse waves,
PostDelete hooks). ``parse_sync_policy`` / ``parse_sync_options`` read ``spec.syncPolicy``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from fleet import errors, inventory, log
from fleet.inventory import Entry  # by name: the field Plan.inventory shadows the module there

_log = log.get_logger(__name__)

# The server-side apply field manager fleet uses: live managedFields name it as the owner of what
# fleet applied (ignoreDifferences' managedFieldsManagers refers to the other managers).
FIELD_MANAGER = "fleet"

# Annotations (gitops-engine pkg/sync/common/types.go).
ANNOTATION_SYNC_OPTIONS = "argocd.argoproj.io/sync-options"
ANNOTATION_SYNC_WAVE = "argocd.argoproj.io/sync-wave"
ANNOTATION_HOOK = "argocd.argoproj.io/hook"
ANNOTATION_HOOK_DELETE_POLICY = "argocd.argoproj.io/hook-delete-policy"
HELM_HOOK = "helm.sh/hook"
HELM_HOOK_WEIGHT = "helm.sh/hook-weight"
HELM_HOOK_DELETE_POLICY = "helm.sh/hook-delete-policy"


class SyncPhase(StrEnum):
    """The phases of a sync, in the order they run."""

    PRE_SYNC = "PreSync"  # before anything is applied (migrations, checks)
    SYNC = "Sync"  # the manifests themselves, and Sync hooks applied with them
    POST_SYNC = "PostSync"  # after every Sync object is applied and healthy (notifications, tests)
    SYNC_FAIL = "SyncFail"  # only when the sync failed (clean-up, alerts)
    PRE_DELETE = "PreDelete"  # before the Application's objects are deleted (app deletion only)
    POST_DELETE = "PostDelete"  # after the Application's objects are deleted (app deletion only)


class HookType(StrEnum):
    """Values of the ``argocd.argoproj.io/hook`` annotation."""

    PRE_SYNC = "PreSync"  # runs in the PreSync phase
    SYNC = "Sync"  # runs in the Sync phase, with the manifests
    POST_SYNC = "PostSync"  # runs in the PostSync phase
    SYNC_FAIL = "SyncFail"  # runs when the sync fails
    PRE_DELETE = "PreDelete"  # runs before the Application is deleted
    POST_DELETE = "PostDelete"  # runs after the Application is deleted
    SKIP = "Skip"  # the object is not applied at all


class HookDeletePolicy(StrEnum):
    """When a hook object is deleted."""

    HOOK_SUCCEEDED = "HookSucceeded"  # after the hook completed successfully
    HOOK_FAILED = "HookFailed"  # after the hook failed
    BEFORE_HOOK_CREATION = "BeforeHookCreation"  # just before a new copy is created (the default)


class PrunePropagation(StrEnum):
    """Argo CD's ``PrunePropagationPolicy`` sync option: how prune deletes (lower case, as Argo CD
    writes it; the API's DeleteOptions spelling is ``fleet.clusters.client.PropagationPolicy``)."""

    FOREGROUND = "foreground"  # owner deleted after its dependents (the default, as Argo CD)
    BACKGROUND = "background"  # owner deleted at once, dependents by the garbage collector
    ORPHAN = "orphan"  # dependents are left behind


_PHASE_ORDER = {SyncPhase.PRE_SYNC: -1, SyncPhase.SYNC: 0, SyncPhase.POST_SYNC: 1, SyncPhase.SYNC_FAIL: 2}

_HELM_HOOK_TYPES = {
    "pre-install": HookType.PRE_SYNC,
    "pre-upgrade": HookType.PRE_SYNC,
    "post-install": HookType.POST_SYNC,
    "post-upgrade": HookType.POST_SYNC,
}
_HELM_DELETE_POLICIES = {
    "before-hook-creation": HookDeletePolicy.BEFORE_HOOK_CREATION,
    "hook-succeeded": HookDeletePolicy.HOOK_SUCCEEDED,
    "hook-failed": HookDeletePolicy.HOOK_FAILED,
}

# Apply order of kinds within a wave (gitops-engine sync_tasks.go, itself after Helm's kind
# sorter). Kinds not listed (custom resources) come last; prune mirrors waves, not kinds.
KIND_ORDER: tuple[str, ...] = (
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
)
_KIND_RANK = {kind: index for index, kind in enumerate(KIND_ORDER)}

# Kinds that are cluster-scoped in every Kubernetes release; used when no discovery is at hand.
CLUSTER_SCOPED_KINDS: frozenset[tuple[str, str]] = frozenset(
    {
        ("", "Namespace"),
        ("", "Node"),
        ("", "PersistentVolume"),
        ("", "ComponentStatus"),
        ("storage.k8s.io", "StorageClass"),
        ("storage.k8s.io", "CSIDriver"),
        ("storage.k8s.io", "CSINode"),
        ("storage.k8s.io", "VolumeAttachment"),
        ("apiextensions.k8s.io", "CustomResourceDefinition"),
        ("rbac.authorization.k8s.io", "ClusterRole"),
        ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
        ("apiregistration.k8s.io", "APIService"),
        ("scheduling.k8s.io", "PriorityClass"),
        ("networking.k8s.io", "IngressClass"),
        ("node.k8s.io", "RuntimeClass"),
        ("policy", "PodSecurityPolicy"),
        ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
        ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
        ("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding"),
        ("certificates.k8s.io", "CertificateSigningRequest"),
        ("flowcontrol.apiserver.k8s.io", "FlowSchema"),
        ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"),
    }
)


# --- sync options -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SyncOptions:
    """Sync options of an Application (``syncPolicy.syncOptions``) or one object (annotation).

    ``None`` means "not said here": ``resolve`` lets an object's annotation override the
    Application's value field by field. ``prune`` and ``delete`` are per-object switches
    (``Prune=false``, ``Delete=false``; ``confirm`` is read as false: fleet has no interactive
    confirmation, so such objects are kept).
    """

    create_namespace: bool | None = None
    prune: bool | None = None
    prune_last: bool | None = None
    server_side_apply: bool | None = None
    replace: bool | None = None
    force: bool | None = None
    apply_out_of_sync_only: bool | None = None
    fail_on_shared_resource: bool | None = None
    respect_ignore_differences: bool | None = None
    prune_propagation_policy: PrunePropagation | None = None
    validate: bool | None = None
    skip_dry_run_on_missing_resource: bool | None = None
    delete: bool | None = None

    def flag(self, name: str, default: bool = False) -> bool:
        value = getattr(self, name)
        return default if value is None else bool(value)

    @property
    def propagation_policy(self) -> PrunePropagation:
        return self.prune_propagation_policy or PrunePropagation.FOREGROUND


_OPTION_FIELDS = {
    "CreateNamespace": "create_namespace",
    "Prune": "prune",
    "PruneLast": "prune_last",
    "ServerSideApply": "server_side_apply",
    "Replace": "replace",
    "Force": "force",
    "ApplyOutOfSyncOnly": "apply_out_of_sync_only",
    "FailOnSharedResource": "fail_on_shared_resource",
    "RespectIgnoreDifferences": "respect_ignore_differences",
    "PrunePropagationPolicy": "prune_propagation_policy",
    "Validate": "validate",
    "SkipDryRunOnMissingResource": "skip_dry_run_on_missing_resource",
    "Delete": "delete",
}
_CONFIRMABLE = {"Prune", "Delete"}


def parse_sync_options(
    items: Iterable[str] | str | None, *, where: str = "syncPolicy.syncOptions"
) -> SyncOptions:
    """Parse ``["CreateNamespace=true", "PruneLast=true"]`` (or the annotation's comma list).

    Unknown option names are ignored with a debug line (Argo CD accepts options it does not use,
    and a working Application must not be rejected); a known option with a bad value is an
    InputError naming ``where``.
    """
    if items is None:
        return SyncOptions()
    if isinstance(items, str):
        items = items.split(",")
    values: dict[str, Any] = {}
    for raw in items:
        text = str(raw).strip()
        if not text:
            continue
        key, sep, value = text.partition("=")
        key, value = key.strip(), value.strip()
        attr = _OPTION_FIELDS.get(key)
        if attr is None:
            _log.debug("ignoring unknown sync option", extra={"fields": {"option": key, "where": where}})
            continue
        if not sep:
            raise errors.InputError(f"sync option {text!r} needs a value ({key}=true)", field=where)
        if attr == "prune_propagation_policy":
            try:
                values[attr] = PrunePropagation(value.lower())
            except ValueError as exc:
                raise errors.InputError(
                    f"{key}={value!r}: want foreground, background or orphan", field=where
                ) from exc
            continue
        lowered = value.lower()
        if lowered == "true":
            values[attr] = True
        elif lowered == "false" or (lowered == "confirm" and key in _CONFIRMABLE):
            values[attr] = False
        else:
            raise errors.InputError(f"{key}={value!r}: want true or false", field=where)
    return SyncOptions(**values)


def object_options(obj: Mapping[str, Any]) -> SyncOptions:
    """The options an object's ``argocd.argoproj.io/sync-options`` annotation sets."""
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    text = annotations.get(ANNOTATION_SYNC_OPTIONS)
    if not text:
        return _EMPTY_OPTIONS
    return parse_sync_options(str(text), where=f"metadata.annotations[{ANNOTATION_SYNC_OPTIONS}]")


_EMPTY_OPTIONS = SyncOptions()


def resolve(app: SyncOptions, obj: Mapping[str, Any] | None) -> SyncOptions:
    """The options in force for one object: its annotation wins over the Application's options."""
    if obj is None:
        return app
    own = object_options(obj)
    if own == _EMPTY_OPTIONS:
        return app
    merged = {
        name: getattr(own, name) if getattr(own, name) is not None else getattr(app, name)
        for name in _OPTION_FIELDS.values()
    }
    return SyncOptions(**merged)


# --- sync policy (automated, retry) -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Retry:
    """``syncPolicy.retry``: how often and how long to wait between failed sync attempts."""

    limit: int = 0  # attempts after the first; -1 is unlimited
    duration: float = 5.0  # seconds before the first retry
    factor: float = 2.0
    max_duration: float = 180.0  # cap of a single wait, seconds

    def delays(self, *, cap_attempts: int = 100) -> list[float]:
        """The waits before retries 1..limit (unlimited is cut at ``cap_attempts``)."""
        count = cap_attempts if self.limit < 0 else self.limit
        out, delay = [], self.duration
        for _ in range(count):
            out.append(min(delay, self.max_duration))
            delay *= self.factor
        return out


@dataclass(frozen=True, slots=True)
class SyncPolicy:
    """``spec.syncPolicy`` as the sync engine needs it."""

    automated: bool = False
    prune: bool = False
    self_heal: bool = False
    allow_empty: bool = False
    options: SyncOptions = field(default_factory=SyncOptions)
    retry: Retry | None = None
    managed_namespace_labels: Mapping[str, str] = field(default_factory=dict)
    managed_namespace_annotations: Mapping[str, str] = field(default_factory=dict)


_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str | int | float, *, where: str) -> float:
    """A Go duration (``5s``, ``3m``, ``1h30m``) or bare seconds, in seconds."""
    # Written by hand: Go's duration syntax is tiny and no maintained Python package parses it.
    if isinstance(text, (int, float)):
        return float(text)
    value = str(text).strip()
    if re.fullmatch(r"\d+(\.\d+)?", value):
        return float(value)
    pos, total = 0, 0.0
    for match in _DURATION.finditer(value):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        pos = match.end()
    if pos != len(value) or not value:
        raise errors.InputError(f"invalid duration {text!r} (want e.g. 5s, 3m, 1h)", field=where)
    return total


def parse_sync_policy(policy: Mapping[str, Any] | None) -> SyncPolicy:
    """Parse an Application's ``spec.syncPolicy`` (Argo CD JSON shape)."""
    if not policy:
        return SyncPolicy()
    automated = policy.get("automated")
    enabled = automated is not None and (automated or {}).get("enabled", True) is not False
    auto = automated or {}
    retry = None
    if policy.get("retry") is not None:
        spec = policy["retry"] or {}
        backoff = spec.get("backoff") or {}
        retry = Retry(
            limit=int(spec.get("limit", 0) or 0),
            duration=parse_duration(backoff.get("duration", "5s"), where="syncPolicy.retry.backoff.duration"),
            factor=float(backoff.get("factor", 2) or 2),
            max_duration=parse_duration(
                backoff.get("maxDuration", "3m"), where="syncPolicy.retry.backoff.maxDuration"
            ),
        )
    managed = policy.get("managedNamespaceMetadata") or {}
    return SyncPolicy(
        automated=enabled,
        prune=bool(auto.get("prune", False)),
        self_heal=bool(auto.get("selfHeal", False)),
        allow_empty=bool(auto.get("allowEmpty", False)),
        options=parse_sync_options(policy.get("syncOptions")),
        retry=retry,
        managed_namespace_labels=dict(managed.get("labels") or {}),
        managed_namespace_annotations=dict(managed.get("annotations") or {}),
    )


# --- hooks and waves --------------------------------------------------------------------------


def _annotations(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return (obj.get("metadata") or {}).get("annotations") or {}


def _csv(value: Any) -> list[str]:
    return [part.strip() for part in str(value or "").split(",") if part.strip()]


def hook_types(obj: Mapping[str, Any]) -> tuple[HookType, ...]:
    """The hook types an object declares; Argo CD's annotation wins over Helm's."""
    annotations = _annotations(obj)
    found: list[HookType] = []
    for text in _csv(annotations.get(ANNOTATION_HOOK)):
        try:
            found.append(HookType(text))
        except ValueError:
            continue  # unknown names are ignored, as gitops-engine does
    if not found:
        for text in _csv(annotations.get(HELM_HOOK)):
            if text in _HELM_HOOK_TYPES:
                found.append(_HELM_HOOK_TYPES[text])
    return tuple(dict.fromkeys(found))


def is_hook(obj: Mapping[str, Any]) -> bool:
    """Whether an object is a hook rather than a regular manifest (``Skip`` alone is neither)."""
    annotations = _annotations(obj)
    if ANNOTATION_HOOK in annotations:
        return not is_skipped(obj)
    helm = annotations.get(HELM_HOOK)
    # Helm marks CRDs with crd-install, but they are regular objects.
    return helm is not None and str(helm).strip() != "crd-install"


def is_skipped(obj: Mapping[str, Any]) -> bool:
    """``argocd.argoproj.io/hook: Skip`` alone: never applied."""
    return hook_types(obj) == (HookType.SKIP,)


def delete_policies(obj: Mapping[str, Any]) -> tuple[HookDeletePolicy, ...]:
    """A hook's delete policies (both annotations count); BeforeHookCreation when none."""
    annotations = _annotations(obj)
    found: list[HookDeletePolicy] = []
    for text in _csv(annotations.get(ANNOTATION_HOOK_DELETE_POLICY)):
        try:
            found.append(HookDeletePolicy(text))
        except ValueError:
            continue
    for text in _csv(annotations.get(HELM_HOOK_DELETE_POLICY)):
        if text in _HELM_DELETE_POLICIES:
            found.append(_HELM_DELETE_POLICIES[text])
    return tuple(dict.fromkeys(found)) or (HookDeletePolicy.BEFORE_HOOK_CREATION,)


def wave(obj: Mapping[str, Any]) -> int:
    """``argocd.argoproj.io/sync-wave`` (default 0; Helm's hook weight when absent or not an int)."""
    annotations = _annotations(obj)
    for key in (ANNOTATION_SYNC_WAVE, HELM_HOOK_WEIGHT):
        text = annotations.get(key)
        if text is not None:
            try:
                return int(str(text).strip())
            except ValueError:
                continue
    return 0


def kind_rank(kind: str) -> int:
    """Position of a kind in ``KIND_ORDER``; unknown kinds (custom resources) sort after all."""
    return _KIND_RANK.get(kind, len(KIND_ORDER))


def generated_hook_name(generate_name: str, *, revision: str, phase: SyncPhase, started_at: int) -> str:
    """The name fleet gives a ``generateName`` hook, stable for one sync (so it can be awaited).

    Argo CD's form: generateName + first 7 characters of the revision + phase + start time.
    """
    name = f"{generate_name}{revision[:7]}-{phase.value}-{started_at}".lower()
    return name[:253]


def default_namespace(
    objs: Iterable[Mapping[str, Any]],
    namespace: str,
    *,
    cluster_scoped: frozenset[tuple[str, str]] | None = None,
) -> list[dict[str, Any]]:
    """Put namespaced objects without ``metadata.namespace`` in the Application's namespace.

    Objects already namespaced, and cluster-scoped kinds (``cluster_scoped``, from discovery when
    the caller has it, else ``CLUSTER_SCOPED_KINDS``), are left alone; cluster-scoped objects that
    carry a namespace have it removed (the API server ignores it, and identity must not depend on it).
    """
    scoped = CLUSTER_SCOPED_KINDS if cluster_scoped is None else cluster_scoped
    out = []
    for obj in objs:
        ref = inventory.ObjectRef.from_object(obj)
        is_cluster = (ref.group, ref.kind) in scoped
        if is_cluster and ref.namespace:
            metadata = {k: v for k, v in (obj.get("metadata") or {}).items() if k != "namespace"}
            out.append({**obj, "metadata": metadata})
        elif not is_cluster and not ref.namespace and namespace:
            out.append({**obj, "metadata": {**(obj.get("metadata") or {}), "namespace": namespace}})
        else:
            out.append(dict(obj))
    return out


# --- the plan ---------------------------------------------------------------------------------


class ItemKind(StrEnum):
    """What one item of a step does."""

    APPLY = "apply"  # apply a regular manifest (server-side apply unless options say otherwise)
    HOOK = "hook"  # create a hook and wait for it to complete (Job/Pod succeed, others healthy)
    PRUNE = "prune"  # delete a stale live object


@dataclass(frozen=True, slots=True)
class Item:
    """One object in a step.

    ``obj`` is what to apply (for PRUNE: the live object). ``options`` are resolved for this
    object. For hooks, ``recreate`` says the live copy must be deleted first (BeforeHookCreation),
    and ``delete_policies`` say when to delete it after it ran.
    """

    kind: ItemKind
    ref: inventory.ObjectRef
    obj: Mapping[str, Any]
    options: SyncOptions
    exists: bool = False
    recreate: bool = False
    delete_policies: tuple[HookDeletePolicy, ...] = ()
    phase: SyncPhase | None = None  # for hooks: the phase this copy runs in

    @property
    def server_side_apply(self) -> bool:
        """Apply server-side unless the object asks for Replace or ServerSideApply=false."""
        return self.options.flag("server_side_apply", True) and not self.options.flag("replace")

    @property
    def create(self) -> bool:
        """For hooks: whether to create it. A named hook that exists and is not recreated persists
        across syncs and is only awaited (gitops-engine does not run it again)."""
        return not self.exists or self.recreate


@dataclass(frozen=True, slots=True)
class Step:
    """One phase and wave: delete ``prune`` items, then apply ``apply`` items, then wait for all."""

    phase: SyncPhase
    wave: int
    prune: tuple[Item, ...] = ()
    apply: tuple[Item, ...] = ()

    def __str__(self) -> str:
        return f"{self.phase.value} wave {self.wave}: prune {len(self.prune)}, apply {len(self.apply)}"


class SkipReason(StrEnum):
    """Why an object in the plan is left alone."""

    IN_SYNC = "in sync"  # ApplyOutOfSyncOnly and the object does not differ
    SKIP_HOOK = "Skip hook"  # argocd.argoproj.io/hook: Skip
    NOT_SELECTED = "not selected"  # outside a selective sync
    PRUNE_DISABLED = "ignored (requires pruning)"  # pruning is off for this sync
    NO_PRUNE = "ignored (no prune)"  # Prune=false (or confirm) on the object
    NOT_OWNED = "not managed by this application"  # live object lacks this Application's tracking id
    HOOK_IN_SELECTIVE_SYNC = "hooks do not run in a selective sync"
    EMPTY_PRUNE = "automated sync will not prune every resource (allowEmpty is false)"
    DELETE_HOOK = "runs only when the Application is deleted"  # PreDelete / PostDelete
    SHARED = "part of another Application"  # SharedResourceWarning: not applied, the other one keeps it


@dataclass(frozen=True, slots=True)
class Skipped:
    ref: inventory.ObjectRef
    reason: SkipReason


@dataclass(frozen=True, slots=True)
class SharedResource:
    """A desired object whose live copy is tracked by another Application."""

    ref: inventory.ObjectRef
    owner: str


@dataclass(frozen=True, slots=True)
class SyncPlan:
    """Everything one sync of one Application on one cluster will do, in order.

    - ``steps``: execute in order; stop at the first failure and run ``on_failure``.
    - ``on_failure``: SyncFail hook steps.
    - ``delete_hooks``: PreDelete/PostDelete hooks, for deleting the Application.
    - ``inventory``: what to record after a fully successful prune; pass the refs whose delete
      failed to ``inventory.after_prune`` to keep them listed.
    - ``shared``: objects another Application owns (or renders too and keeps, in this run): they
      are never applied (Argo CD's SharedResourceWarning, so two Applications cannot take an
      object from each other at every sync); with ``fail_on_shared`` the orchestrator must fail
      the whole sync (Reason.SHARED_RESOURCE) before any step runs.
    """

    steps: tuple[Step, ...]
    on_failure: tuple[Step, ...]
    delete_hooks: tuple[Item, ...]
    skipped: tuple[Skipped, ...]
    shared: tuple[SharedResource, ...]
    fail_on_shared: bool
    inventory: inventory.Inventory
    stale: tuple[Entry, ...]
    empty_prune_refused: bool = False

    @property
    def blocked(self) -> bool:
        """True when the plan must not run at all (shared resources with FailOnSharedResource)."""
        return self.fail_on_shared and bool(self.shared)

    def items(self) -> list[Item]:
        return [item for step in self.steps for item in (*step.prune, *step.apply)]

    @property
    def is_noop(self) -> bool:
        return not any(step.prune or step.apply for step in self.steps)


@dataclass(slots=True)
class _Task:
    phase: SyncPhase
    wave: int
    item: Item


def _sort_key(task: _Task) -> tuple[int, int, int, str]:
    return (_PHASE_ORDER[task.phase], task.wave, kind_rank(task.item.ref.kind), task.item.ref.name)


def _adjust_dependencies(tasks: list[_Task]) -> None:
    """Move Namespaces before the first object in them, and CRDs before their first custom resource.

    The dependency takes the phase and wave of that first object, as gitops-engine's adjustDeps does,
    so a Namespace in wave 5 still exists before a wave -1 object that lives in it.
    """

    def namespace_dep(t: _Task) -> str | None:
        ref = t.item.ref
        return f"ns:{ref.name}" if ref.kind == "Namespace" and ref.group == "" else None

    def namespace_user(t: _Task) -> str | None:
        return f"ns:{t.item.ref.namespace}" if t.item.ref.namespace else None

    def crd_dep(t: _Task) -> str | None:
        ref = t.item.ref
        if ref.kind != "CustomResourceDefinition" or ref.group != "apiextensions.k8s.io":
            return None
        spec = t.item.obj.get("spec") or {}
        group, kind = spec.get("group"), (spec.get("names") or {}).get("kind")
        return f"gk:{group}/{kind}" if group and kind else None

    def crd_user(t: _Task) -> str | None:
        return f"gk:{t.item.ref.group}/{t.item.ref.kind}"

    for is_dep, uses in ((namespace_dep, namespace_user), (crd_dep, crd_user)):
        first_user: dict[str, int] = {}
        index = 0
        while index < len(tasks):
            task = tasks[index]
            if task.item.kind is not ItemKind.PRUNE:
                key = is_dep(task)
                if key is not None:
                    if key in first_user and first_user[key] < index:
                        target = first_user[key]
                        task.phase, task.wave = tasks[target].phase, tasks[target].wave
                        tasks.insert(target, tasks.pop(index))
                        for other, position in first_user.items():
                            if position >= target:
                                first_user[other] = position + 1
                else:
                    key = uses(task)
                    if key is not None and key not in first_user:
                        first_user[key] = index
            index += 1


def plan_sync(
    desired: Sequence[Mapping[str, Any]],
    live: Mapping[inventory.ObjectRef, Mapping[str, Any]],
    *,
    app: str,
    previous: inventory.Inventory,
    policy: SyncPolicy | None = None,
    options: SyncOptions | None = None,
    prune: bool | None = None,
    out_of_sync: Iterable[inventory.ObjectRef] | None = None,
    selection: Iterable[inventory.ObjectRef] | None = None,
    namespace: str = "",
    revision: str = "",
    started_at: int = 0,
    claimed: Mapping[inventory.ObjectRef, str] | None = None,
    released: Iterable[str] = (),
) -> SyncPlan:
    """Plan one sync of ``app`` on one cluster.

    Parameters:
        desired: the rendered objects, stamped (``inventory.stamp``) and namespaced
            (``default_namespace``); hooks included.
        live: the live objects by ref (only those that exist; stale refs from ``previous`` too).
        previous: the inventory recorded by the last sync (``inventory.from_configmap``).
        policy: the Application's sync policy; ``options`` overrides ``policy.options``.
        prune: whether stale objects are deleted (default: ``policy.prune`` when automated).
        out_of_sync: refs the diff found different; with ApplyOutOfSyncOnly only these (and
            missing objects) are applied. ``None`` applies everything.
        selection: a selective sync: only these refs are applied or pruned, and hooks do not run.
        namespace: the destination namespace (CreateNamespace creates it in PreSync).
        revision, started_at: name ``generateName`` hooks (unix seconds of the sync start).
        claimed: objects that another Application of this run, rendering them too, keeps (its
            name by ref); like objects whose live tracking id names another Application, they
            are shared: not applied, and not in this Application's inventory.
        released: Applications this run deletes (removed from Git): what they own is free to
            take over (a renamed Application keeps its objects instead of losing them).
    """
    policy = policy or SyncPolicy()
    app_options = options if options is not None else policy.options
    do_prune = (policy.automated and policy.prune) if prune is None else prune
    selected = None if selection is None else frozenset(selection)
    changed = None if out_of_sync is None else frozenset(out_of_sync)
    gone = frozenset(released)
    only_out_of_sync = app_options.flag("apply_out_of_sync_only") and changed is not None

    tasks: list[_Task] = []
    fail_tasks: list[_Task] = []
    delete_hooks: list[Item] = []
    skipped: list[Skipped] = []
    shared: list[SharedResource] = []
    applied: list[Mapping[str, Any]] = []
    desired_refs: set[inventory.ObjectRef] = set()

    if app_options.flag("create_namespace") and namespace:
        ns_ref = inventory.ObjectRef("", "Namespace", "", namespace)
        if not any(inventory.ObjectRef.from_object(o) == ns_ref for o in desired):
            ns_obj: dict[str, Any] = {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": namespace},
            }
            if policy.managed_namespace_labels:
                ns_obj["metadata"]["labels"] = dict(policy.managed_namespace_labels)
            if policy.managed_namespace_annotations:
                ns_obj["metadata"]["annotations"] = dict(policy.managed_namespace_annotations)
            # Not stamped and not in the inventory: a created namespace is never pruned (Argo CD too).
            item = Item(ItemKind.APPLY, ns_ref, ns_obj, app_options, exists=ns_ref in live)
            if ns_ref not in live or policy.managed_namespace_labels or policy.managed_namespace_annotations:
                tasks.append(_Task(SyncPhase.PRE_SYNC, 0, item))

    for obj in desired:
        ref = inventory.ObjectRef.from_object(obj)
        if is_skipped(obj):
            skipped.append(Skipped(ref, SkipReason.SKIP_HOOK))
            continue
        obj_options = resolve(app_options, obj)
        if is_hook(obj):
            _plan_hook(
                obj,
                ref,
                obj_options,
                live,
                selected,
                revision,
                started_at,
                tasks,
                fail_tasks,
                delete_hooks,
                skipped,
            )
            continue
        desired_refs.add(ref)
        live_obj = live.get(ref)
        owner = inventory.shared_with(live_obj, app)
        if owner in gone:
            owner = None
        owner = owner or (claimed or {}).get(ref)
        if owner is not None and owner != app:
            shared.append(SharedResource(ref, owner))
            skipped.append(Skipped(ref, SkipReason.SHARED))
            continue
        applied.append(obj)
        if selected is not None and ref not in selected:
            skipped.append(Skipped(ref, SkipReason.NOT_SELECTED))
            continue
        if only_out_of_sync and live_obj is not None and changed is not None and ref not in changed:
            skipped.append(Skipped(ref, SkipReason.IN_SYNC))
            continue
        item = Item(ItemKind.APPLY, ref, obj, obj_options, exists=live_obj is not None)
        tasks.append(_Task(SyncPhase.SYNC, wave(obj), item))

    current = inventory.from_objects(applied)
    stale = inventory.diff(previous, current)
    kept_stale: list[inventory.Entry] = []
    prune_tasks: list[_Task] = []
    for entry in stale:
        live_obj = live.get(entry.ref)
        if live_obj is None:
            continue  # already gone: forget it
        if not inventory.is_owned_by(live_obj, app):
            # Someone else took it over (or removed our stamp): never delete, stop tracking it.
            skipped.append(Skipped(entry.ref, SkipReason.NOT_OWNED))
            continue
        obj_options = resolve(app_options, live_obj)
        if selected is not None and entry.ref not in selected:
            skipped.append(Skipped(entry.ref, SkipReason.NOT_SELECTED))
            kept_stale.append(entry)
        elif not do_prune:
            skipped.append(Skipped(entry.ref, SkipReason.PRUNE_DISABLED))
            kept_stale.append(entry)
        elif obj_options.prune is False:
            skipped.append(Skipped(entry.ref, SkipReason.NO_PRUNE))
            kept_stale.append(entry)
        else:
            item = Item(ItemKind.PRUNE, entry.ref, live_obj, obj_options, exists=True)
            prune_tasks.append(_Task(SyncPhase.SYNC, wave(live_obj), item))

    if prune_tasks and not applied and policy.automated and prune is None and not policy.allow_empty:
        # Argo CD's safety net: an automated sync never prunes an Application down to nothing
        # (an empty render is more often a broken source than a real wish) unless allowEmpty.
        for task in prune_tasks:
            skipped.append(Skipped(task.item.ref, SkipReason.EMPTY_PRUNE))
            kept_stale.append(previous.get(task.item.ref) or inventory.entry_of(task.item.obj))
        prune_tasks = []
        refused = True
    else:
        refused = False
    _mirror_prune_waves(prune_tasks)
    sync_waves = [t.wave for t in tasks if t.phase is SyncPhase.SYNC] + [t.wave for t in prune_tasks]
    last_wave = max(sync_waves, default=0)
    for task in prune_tasks:
        if task.item.options.flag("prune_last"):
            task.wave = last_wave + 1
    tasks.extend(prune_tasks)

    tasks.sort(key=_sort_key)
    _adjust_dependencies(tasks)
    fail_tasks.sort(key=_sort_key)

    return SyncPlan(
        steps=_group(tasks),
        on_failure=_group(fail_tasks),
        delete_hooks=tuple(delete_hooks),
        skipped=tuple(skipped),
        shared=tuple(shared),
        fail_on_shared=app_options.flag("fail_on_shared_resource"),
        inventory=inventory.merge(current, kept_stale),
        stale=tuple(stale),
        empty_prune_refused=refused,
    )


def _plan_hook(
    obj: Mapping[str, Any],
    ref: inventory.ObjectRef,
    options: SyncOptions,
    live: Mapping[inventory.ObjectRef, Mapping[str, Any]],
    selected: frozenset[inventory.ObjectRef] | None,
    revision: str,
    started_at: int,
    tasks: list[_Task],
    fail_tasks: list[_Task],
    delete_hooks: list[Item],
    skipped: list[Skipped],
) -> None:
    policies = delete_policies(obj)
    for hook_type in hook_types(obj):
        if hook_type is HookType.SKIP:
            continue
        phase = SyncPhase(hook_type.value)
        named_obj, named_ref = obj, ref
        metadata = obj.get("metadata") or {}
        if not metadata.get("name") and metadata.get("generateName"):
            name = generated_hook_name(
                str(metadata["generateName"]), revision=revision, phase=phase, started_at=started_at
            )
            named_obj = {**obj, "metadata": {**metadata, "name": name}}
            named_obj["metadata"].pop("generateName", None)
            named_ref = replace(ref, name=name)
        exists = named_ref in live
        item = Item(
            ItemKind.HOOK,
            named_ref,
            named_obj,
            options,
            exists=exists,
            recreate=exists and HookDeletePolicy.BEFORE_HOOK_CREATION in policies,
            delete_policies=policies,
            phase=phase,
        )
        if phase in (SyncPhase.PRE_DELETE, SyncPhase.POST_DELETE):
            delete_hooks.append(item)
            skipped.append(Skipped(named_ref, SkipReason.DELETE_HOOK))
        elif selected is not None:
            skipped.append(Skipped(named_ref, SkipReason.HOOK_IN_SELECTIVE_SYNC))
        elif phase is SyncPhase.SYNC_FAIL:
            fail_tasks.append(_Task(phase, wave(obj), item))
        else:
            tasks.append(_Task(phase, wave(obj), item))


def _mirror_prune_waves(prune_tasks: list[_Task]) -> None:
    """Swap prune waves symmetrically (first <-> last), so the last created is deleted first."""
    waves = sorted({t.wave for t in prune_tasks})
    mirror = dict(zip(waves, reversed(waves), strict=True))
    for task in prune_tasks:
        task.wave = mirror[task.wave]


def _group(tasks: list[_Task]) -> tuple[Step, ...]:
    steps: list[Step] = []
    current: tuple[SyncPhase, int] | None = None
    prune: list[Item] = []
    apply: list[Item] = []
    # Re-sort by (phase, wave) only, keeping the dependency-adjusted order inside a step.
    ordered = sorted(enumerate(tasks), key=lambda it: (_PHASE_ORDER[it[1].phase], it[1].wave, it[0]))
    for _, task in ordered:
        key = (task.phase, task.wave)
        if key != current and current is not None:
            steps.append(Step(current[0], current[1], tuple(prune), tuple(apply)))
            prune, apply = [], []
        current = key
        (prune if task.item.kind is ItemKind.PRUNE else apply).append(task.item)
    if current is not None:
        steps.append(Step(current[0], current[1], tuple(prune), tuple(apply)))
    return tuple(steps)


@dataclass(frozen=True, slots=True)
class DeletionPlan:
    """Deleting an Application's objects: PreDelete hooks, deletes in reverse wave order, PostDelete hooks.

    ``steps`` hold PreDelete hook steps, then prune steps (one per wave, highest wave first),
    then PostDelete hook steps. Objects with ``Delete=false`` are kept (``skipped``), as are
    live objects without this Application's tracking id.
    """

    steps: tuple[Step, ...]
    skipped: tuple[Skipped, ...]


def plan_deletion(
    live: Mapping[inventory.ObjectRef, Mapping[str, Any]],
    *,
    app: str,
    previous: inventory.Inventory,
    hooks: Sequence[Mapping[str, Any]] = (),
    options: SyncOptions | None = None,
    revision: str = "",
    started_at: int = 0,
) -> DeletionPlan:
    """Plan the deletion of ``app``: what its inventory lists and the cluster still has.

    ``hooks`` are the rendered objects (only PreDelete/PostDelete hooks among them are used).
    """
    app_options = options or SyncOptions()
    skipped: list[Skipped] = []
    by_wave: dict[int, list[Item]] = {}
    for entry in previous.entries:
        live_obj = live.get(entry.ref)
        if live_obj is None:
            continue
        if not inventory.is_owned_by(live_obj, app):
            skipped.append(Skipped(entry.ref, SkipReason.NOT_OWNED))
            continue
        obj_options = resolve(app_options, live_obj)
        if obj_options.delete is False:
            skipped.append(Skipped(entry.ref, SkipReason.NO_PRUNE))
            continue
        by_wave.setdefault(wave(live_obj), []).append(
            Item(ItemKind.PRUNE, entry.ref, live_obj, obj_options, exists=True)
        )
    tasks: list[_Task] = []
    fail: list[_Task] = []
    delete_hooks: list[Item] = []
    for obj in hooks:
        if is_hook(obj):
            _plan_hook(
                obj,
                inventory.ObjectRef.from_object(obj),
                resolve(app_options, obj),
                live,
                None,
                revision,
                started_at,
                tasks,
                fail,
                delete_hooks,
                [],
            )

    def hook_step(phase: SyncPhase) -> list[Step]:
        items = sorted(
            (i for i in delete_hooks if i.phase is phase),
            key=lambda i: (wave(i.obj), kind_rank(i.ref.kind), i.ref.name),
        )
        return [Step(phase, 0, (), tuple(items))] if items else []

    steps: list[Step] = hook_step(SyncPhase.PRE_DELETE)
    for number in sorted(by_wave, reverse=True):
        # Within a wave, reverse kind order: workloads go before the namespaces and CRDs they need.
        items = sorted(by_wave[number], key=lambda i: (-kind_rank(i.ref.kind), i.ref.name))
        steps.append(Step(SyncPhase.SYNC, number, tuple(items), ()))
    steps.extend(hook_step(SyncPhase.POST_DELETE))
    return DeletionPlan(tuple(steps), tuple(skipped))
