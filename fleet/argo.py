"""Argo CD's ``argoproj.io/v1alpha1`` objects: Application, ApplicationSet and AppProject.

These pydantic models are the schema for what users write (ApplicationSets, Applications and
AppProjects in a fleet repository) and for what the ApplicationSet engine produces; the sync
engine reads ``Application.spec`` through them. Field names follow Argo CD's JSON (camelCase
aliases); fields Argo CD has that are not modelled here, and fields of newer Argo CD versions,
are kept as they are (``extra="allow"``) and written back unchanged, never dropped.

Validation is strict, as the Kubernetes API server's is for these CRDs: a number where a string
belongs (``targetRevision: 1.0``) is an error rather than silently converted. Loading helpers
turn every problem into ``fleet.errors.InputError`` naming the file, object and field.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import pydantic
import yaml
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from fleet import errors, kyaml

GROUP = "argoproj.io"
API_VERSION = "argoproj.io/v1alpha1"
RESOURCES_FINALIZER = "resources-finalizer.argocd.argoproj.io"
DEFAULT_PROJECT = "default"


class Kind(StrEnum):
    """The Argo CD kinds fleet reads."""

    APPLICATION = "Application"  # one app: a source rendered into one destination
    APPLICATION_SET = "ApplicationSet"  # generators x template -> Applications
    APP_PROJECT = "AppProject"  # a project: which sources and destinations apps may use


class ApplicationsSync(StrEnum):
    """``spec.syncPolicy.applicationsSync``: what the ApplicationSet may do to its Applications."""

    SYNC = "sync"  # create, update and delete (the default)
    CREATE_ONLY = "create-only"  # create, never update or delete
    CREATE_UPDATE = "create-update"  # create and update, never delete
    CREATE_DELETE = "create-delete"  # create and delete, never update


class ArgoModel(BaseModel):
    """Common configuration: camelCase aliases, strict types, unknown fields kept, frozen.

    Each model's validator is built when the model is first used (``defer_build``), not when this
    module is imported: `fleet generate` builds the ApplicationSet models only, and the Application
    and AppProject ones when a run needs them (issue 15). Empty defaults are written as ``[]`` and
    ``{}`` rather than ``Field(default_factory=...)``: pydantic copies such a default for every
    instance all the same, and a plain default costs less to create at import.
    """

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        extra="allow",
        strict=True,
        frozen=True,
        defer_build=True,
    )

    def to_dict(self) -> dict[str, Any]:
        """The object as Argo CD's JSON: only fields that were set, unknown fields included."""
        return self.model_dump(by_alias=True, exclude_unset=True, mode="json")


StrMap = dict[str, str]


class ObjectMeta(ArgoModel):
    """The part of Kubernetes ``metadata`` fleet reads; everything else is kept as is."""

    name: str = ""
    namespace: str | None = None
    labels: StrMap = {}
    annotations: StrMap = {}
    finalizers: list[str] = []


# --- Application --------------------------------------------------------------------------------


class HelmParameter(ArgoModel):
    name: str = ""
    value: str = ""
    force_string: bool = False


class HelmFileParameter(ArgoModel):
    name: str = ""
    path: str = ""


class HelmSource(ArgoModel):
    """``source.helm``: how Argo CD runs ``helm template``."""

    value_files: list[str] = []
    values: str | None = None
    values_object: dict[str, Any] | None = None
    parameters: list[HelmParameter] = []
    file_parameters: list[HelmFileParameter] = []
    release_name: str | None = None
    version: str | None = None
    pass_credentials: bool = False
    ignore_missing_value_files: bool = False
    skip_crds: bool = False
    skip_tests: bool = False
    skip_schema_validation: bool = False
    namespace: str | None = None
    kube_version: str | None = None
    api_versions: list[str] = []


class KustomizeReplica(ArgoModel):
    name: str
    count: int | str


class KustomizePatch(ArgoModel):
    path: str | None = None
    patch: str | None = None
    target: dict[str, Any] | None = None
    options: dict[str, bool] = {}


class KustomizeSource(ArgoModel):
    """``source.kustomize``: overrides Argo CD applies before ``kustomize build``."""

    name_prefix: str | None = None
    name_suffix: str | None = None
    images: list[str] = []
    common_labels: StrMap = {}
    common_annotations: StrMap = {}
    common_annotations_envsubst: bool = False
    force_common_labels: bool = False
    force_common_annotations: bool = False
    label_without_selector: bool = False
    label_include_templates: bool = False
    namespace: str | None = None
    version: str | None = None
    replicas: list[KustomizeReplica] = []
    patches: list[KustomizePatch] = []
    components: list[str] = []
    ignore_missing_components: bool = False
    kube_version: str | None = None
    api_versions: list[str] = []


class JsonnetVar(ArgoModel):
    name: str
    value: str = ""
    code: bool = False


class Jsonnet(ArgoModel):
    ext_vars: list[JsonnetVar] = []
    tlas: list[JsonnetVar] = []
    libs: list[str] = []


class DirectorySource(ArgoModel):
    """``source.directory``: plain manifests (YAML, JSON, Jsonnet) in a directory."""

    recurse: bool = False
    include: str = ""
    exclude: str = ""
    jsonnet: Jsonnet | None = None
    disable_extension_filter: bool = False


class EnvEntry(ArgoModel):
    name: str
    value: str = ""


class PluginSource(ArgoModel):
    name: str | None = None
    env: list[EnvEntry] = []
    parameters: list[dict[str, Any]] = []


class ApplicationSource(ArgoModel):
    """One source of an Application: a git path (plain, Kustomize, Jsonnet) or a Helm chart."""

    repo_url: str = Field("", alias="repoURL")
    path: str | None = None
    target_revision: str | None = None
    chart: str | None = None
    ref: str | None = None
    name: str | None = None
    helm: HelmSource | None = None
    kustomize: KustomizeSource | None = None
    directory: DirectorySource | None = None
    plugin: PluginSource | None = None

    @property
    def revision(self) -> str:
        """``targetRevision``, with Argo CD's default ``HEAD``."""
        return self.target_revision or "HEAD"


class ApplicationDestination(ArgoModel):
    """Where an Application goes: a cluster by ``server`` URL or by ``name``, and a namespace."""

    server: str = ""
    name: str = ""
    namespace: str = ""


class SyncPolicyAutomated(ArgoModel):
    prune: bool | None = None
    self_heal: bool | None = None
    allow_empty: bool | None = None
    enabled: bool | None = None


class Backoff(ArgoModel):
    duration: str | None = None
    factor: int | None = None
    max_duration: str | None = None


class RetryStrategy(ArgoModel):
    limit: int | None = None
    backoff: Backoff | None = None
    refresh: bool = False


class ManagedNamespaceMetadata(ArgoModel):
    labels: StrMap = {}
    annotations: StrMap = {}


class SyncPolicy(ArgoModel):
    automated: SyncPolicyAutomated | None = None
    sync_options: list[str] = []
    retry: RetryStrategy | None = None
    managed_namespace_metadata: ManagedNamespaceMetadata | None = None


class ResourceIgnoreDifferences(ArgoModel):
    group: str = ""
    kind: str = ""
    name: str = ""
    namespace: str = ""
    json_pointers: list[str] = []
    jq_path_expressions: list[str] = []
    managed_fields_managers: list[str] = []


class Info(ArgoModel):
    name: str
    value: str = ""


class ApplicationSpec(ArgoModel):
    source: ApplicationSource | None = None
    sources: list[ApplicationSource] = []
    destination: ApplicationDestination = Field(default_factory=ApplicationDestination)
    project: str = ""
    sync_policy: SyncPolicy | None = None
    ignore_differences: list[ResourceIgnoreDifferences] = []
    info: list[Info] = []
    revision_history_limit: int | None = None
    source_hydrator: dict[str, Any] | None = None


def parse_sync_options(options: Sequence[str]) -> dict[str, str]:
    """``["CreateNamespace=true", "Prune=false"]`` as ``{"CreateNamespace": "true", ...}``.

    An entry without ``=`` maps to ``"true"``; a later entry wins, as in Argo CD.
    """
    parsed: dict[str, str] = {}
    for option in options:
        key, eq, value = str(option).partition("=")
        parsed[key.strip()] = value.strip() if eq else "true"
    return parsed


class Application(ArgoModel):
    """An Argo CD Application (generated by an ApplicationSet or written by hand)."""

    api_version: str = API_VERSION
    kind: str = Kind.APPLICATION.value
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: ApplicationSpec = Field(default_factory=ApplicationSpec)
    status: dict[str, Any] | None = None
    operation: dict[str, Any] | None = None

    @property
    def name(self) -> str:
        return self.metadata.name

    @property
    def namespace(self) -> str:
        return self.metadata.namespace or ""

    @property
    def qualified_name(self) -> str:
        """``namespace/name``, Argo CD's key for an Application."""
        return f"{self.namespace}/{self.name}"

    @property
    def project(self) -> str:
        """``spec.project`` (Argo CD treats an empty project as ``default``)."""
        return self.spec.project or DEFAULT_PROJECT

    @property
    def destination(self) -> ApplicationDestination:
        return self.spec.destination

    def sources_list(self) -> list[ApplicationSource]:
        """``spec.sources`` when set, else ``[spec.source]``, else ``[]`` (Argo CD's GetSources)."""
        if self.spec.sources:
            return list(self.spec.sources)
        return [self.spec.source] if self.spec.source is not None else []

    def is_multi_source(self) -> bool:
        return bool(self.spec.sources)

    def sync_options(self) -> dict[str, str]:
        """``spec.syncPolicy.syncOptions`` as a dict (``{"CreateNamespace": "true"}``)."""
        policy = self.spec.sync_policy
        return parse_sync_options(policy.sync_options) if policy else {}

    def sync_option(self, name: str, default: str | None = None) -> str | None:
        return self.sync_options().get(name, default)

    def automated(self) -> SyncPolicyAutomated | None:
        """The automated sync policy when auto-sync is on (present and not ``enabled: false``)."""
        policy = self.spec.sync_policy
        if policy is None or policy.automated is None or policy.automated.enabled is False:
            return None
        return policy.automated

    @property
    def auto_prune(self) -> bool:
        auto = self.automated()
        return bool(auto and auto.prune)

    @property
    def self_heal(self) -> bool:
        auto = self.automated()
        return bool(auto and auto.self_heal)

    @property
    def retry(self) -> RetryStrategy | None:
        return self.spec.sync_policy.retry if self.spec.sync_policy else None

    @property
    def ignore_differences(self) -> list[ResourceIgnoreDifferences]:
        return list(self.spec.ignore_differences)


# --- AppProject --------------------------------------------------------------------------------


class AppProjectSpec(ArgoModel):
    source_repos: list[str] = []
    destinations: list[ApplicationDestination] = []
    description: str = ""
    roles: list[dict[str, Any]] = []
    cluster_resource_whitelist: list[dict[str, Any]] = []
    cluster_resource_blacklist: list[dict[str, Any]] = []
    namespace_resource_whitelist: list[dict[str, Any]] = []
    namespace_resource_blacklist: list[dict[str, Any]] = []
    orphaned_resources: dict[str, Any] | None = None
    sync_windows: list[dict[str, Any]] = []
    signature_keys: list[dict[str, Any]] = []
    source_namespaces: list[str] = []
    destination_service_accounts: list[dict[str, Any]] = []
    permit_only_project_scoped_clusters: bool = False


class AppProject(ArgoModel):
    api_version: str = API_VERSION
    kind: str = Kind.APP_PROJECT.value
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: AppProjectSpec = Field(default_factory=AppProjectSpec)
    status: dict[str, Any] | None = None
    _source: str = pydantic.PrivateAttr(default="")

    @property
    def name(self) -> str:
        return self.metadata.name

    @property
    def source(self) -> str:
        """The file this AppProject was read from, if any (errors in its sync windows name it)."""
        return self._source

    def with_source(self, source: str) -> AppProject:
        self._source = source
        return self


# --- ApplicationSet ------------------------------------------------------------------------------


class LabelSelectorRequirement(ArgoModel):
    key: str
    operator: str
    values: list[str] = []


class LabelSelector(ArgoModel):
    match_labels: StrMap = {}
    match_expressions: list[LabelSelectorRequirement] = []


class ApplicationSetTemplate(ArgoModel):
    """``spec.template`` (and generator-level ``template``): metadata and spec of an Application."""

    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: ApplicationSpec = Field(default_factory=ApplicationSpec)


class ListGenerator(ArgoModel):
    elements: list[Any] = []
    elements_yaml: str = ""
    template: ApplicationSetTemplate | None = None


class ClusterGenerator(ArgoModel):
    selector: LabelSelector | None = None
    values: StrMap = {}
    flat_list: bool = False
    template: ApplicationSetTemplate | None = None


class GitPathItem(ArgoModel):
    path: str
    exclude: bool = False


class GitGenerator(ArgoModel):
    repo_url: str = Field("", alias="repoURL")
    revision: str = ""
    directories: list[GitPathItem] = []
    files: list[GitPathItem] = []
    path_param_prefix: str = ""
    values: StrMap = {}
    requeue_after_seconds: int | None = None
    template: ApplicationSetTemplate | None = None


class MatrixGenerator(ArgoModel):
    generators: list[ApplicationSetGenerator] = []
    template: ApplicationSetTemplate | None = None


class MergeGenerator(ArgoModel):
    generators: list[ApplicationSetGenerator] = []
    merge_keys: list[str] = []
    template: ApplicationSetTemplate | None = None


class ApplicationSetGenerator(ArgoModel):
    """One entry of ``spec.generators`` (or of a matrix/merge ``generators`` list)."""

    list: ListGenerator | None = None
    clusters: ClusterGenerator | None = None
    git: GitGenerator | None = None
    matrix: MatrixGenerator | None = None
    merge: MergeGenerator | None = None
    selector: LabelSelector | None = None
    # Argo CD generators fleet does not run; kept so that errors can name them.
    scm_provider: dict[str, Any] | None = None
    cluster_decision_resource: dict[str, Any] | None = None
    pull_request: dict[str, Any] | None = None
    plugin: dict[str, Any] | None = None


class ApplicationSetSyncPolicy(ArgoModel):
    preserve_resources_on_deletion: bool = False
    applications_sync: Annotated[ApplicationsSync, Field(strict=False)] | None = None


class ApplicationSetStrategy(ArgoModel):
    type: str | None = None
    rolling_sync: dict[str, Any] | None = None
    deletion_order: str | None = None


class ApplicationPreservedFields(ArgoModel):
    annotations: list[str] = []
    labels: list[str] = []


class ApplicationSetIgnoreDifferences(ArgoModel):
    name: str = ""
    json_pointers: list[str] = []
    jq_path_expressions: list[str] = []


class ApplicationSetSpec(ArgoModel):
    go_template: bool = False
    go_template_options: list[str] = []
    generators: list[ApplicationSetGenerator] = []
    template: ApplicationSetTemplate = Field(default_factory=ApplicationSetTemplate)
    template_patch: str | None = None
    sync_policy: ApplicationSetSyncPolicy | None = None
    strategy: ApplicationSetStrategy | None = None
    preserved_fields: ApplicationPreservedFields | None = None
    ignore_application_differences: list[ApplicationSetIgnoreDifferences] = []
    apply_nested_selectors: bool = False


class ApplicationSet(ArgoModel):
    """An Argo CD ApplicationSet: generators produce parameter sets, the template Applications."""

    api_version: str = API_VERSION
    kind: str = Kind.APPLICATION_SET.value
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: ApplicationSetSpec = Field(default_factory=ApplicationSetSpec)
    status: dict[str, Any] | None = None

    _source: str = pydantic.PrivateAttr(default="")

    @property
    def name(self) -> str:
        return self.metadata.name

    @property
    def namespace(self) -> str:
        return self.metadata.namespace or ""

    @property
    def source(self) -> str:
        """The file (or ``repo@revision:path``) this ApplicationSet was read from, if any."""
        return self._source

    def with_source(self, source: str) -> ApplicationSet:
        self._source = source
        return self

    @property
    def preserve_resources_on_deletion(self) -> bool:
        policy = self.spec.sync_policy
        return bool(policy and policy.preserve_resources_on_deletion)

    @property
    def applications_sync(self) -> ApplicationsSync:
        policy = self.spec.sync_policy
        return (policy.applications_sync if policy else None) or ApplicationsSync.SYNC


ArgoObject = Application | ApplicationSet | AppProject
MODELS: dict[str, type[ArgoModel]] = {
    Kind.APPLICATION: Application,
    Kind.APPLICATION_SET: ApplicationSet,
    Kind.APP_PROJECT: AppProject,
}


# --- loading ---------------------------------------------------------------------------------------


def describe(doc: Any, index: int) -> str:
    """How errors name an object: ``ApplicationSet guestbook`` or ``document 3``."""
    if isinstance(doc, dict):
        name = (doc.get("metadata") or {}).get("name") if isinstance(doc.get("metadata"), dict) else None
        kind = doc.get("kind") or "object"
        if name:
            return f"{kind} {name}"
        return f"{kind} (document {index + 1})"
    return f"document {index + 1}"


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def validation_error(exc: pydantic.ValidationError, *, file: str | None, obj: str) -> errors.InputError:
    """An InputError naming the first invalid field (pydantic's message, never the value)."""
    problems = exc.errors()
    first = problems[0]
    more = (
        f" (and {len(problems) - 1} more problem{'s' if len(problems) > 2 else ''})"
        if len(problems) > 1
        else ""
    )
    return errors.InputError(
        f"{first['msg']}{more}", file=file, obj=obj, field=_loc(tuple(first["loc"])) or None
    )


def is_argo_object(doc: Any) -> bool:
    return (
        isinstance(doc, dict)
        and str(doc.get("apiVersion", "")).startswith(GROUP + "/")
        and doc.get("kind") in MODELS
    )


def parse_object(doc: Any, *, file: str | None = None, index: int = 0) -> ArgoModel:
    """One Argo CD object from decoded YAML/JSON; errors name file, object and field."""
    obj = describe(doc, index)
    if not isinstance(doc, dict):
        raise errors.InputError("is not a mapping", file=file, obj=obj)
    kind = doc.get("kind")
    model = MODELS.get(str(kind))
    if model is None:
        raise errors.InputError(
            f"kind {kind!r} is not one of {', '.join(MODELS)}", file=file, obj=obj, field="kind"
        )
    api_version = str(doc.get("apiVersion", ""))
    if api_version != API_VERSION:
        raise errors.InputError(
            f"apiVersion must be {API_VERSION}, not {api_version!r}", file=file, obj=obj, field="apiVersion"
        )
    try:
        parsed = model.model_validate(doc)
    except pydantic.ValidationError as exc:
        raise validation_error(exc, file=file, obj=obj) from None
    if isinstance(parsed, (ApplicationSet, AppProject)) and file:
        parsed.with_source(file)
    return parsed


def read_documents(path: str | Path) -> list[Any]:
    """Every YAML (or JSON) document of a file, empty documents dropped, ``List`` items expanded."""
    where = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")  # not the locale's encoding: YAML is UTF-8
    except OSError as exc:
        raise errors.InputError(f"cannot be read: {exc.strerror or exc}", file=where) from exc
    except UnicodeDecodeError as exc:
        raise errors.InputError(f"is not UTF-8 text (byte {exc.start} of the file)", file=where) from None
    return parse_documents(text, file=where)


def parse_documents(text: str, *, file: str | None = None) -> list[Any]:
    try:
        docs = kyaml.load_all(text)
    except Exception as exc:  # noqa: BLE001 - yaml.YAMLError and its scanner/parser subclasses
        # not chained: the parser's exception quotes the input, which may hold a secret value
        reason = kyaml.error_text(exc) if isinstance(exc, yaml.YAMLError) else type(exc).__name__
        raise errors.InputError(f"is not valid YAML: {reason}", file=file) from None
    out: list[Any] = []
    for doc in docs:
        if doc is None:
            continue
        if (
            isinstance(doc, dict)
            and str(doc.get("kind", "")).endswith("List")
            and isinstance(doc.get("items"), list)
        ):
            out.extend(doc["items"])
        else:
            out.append(doc)
    return out


def load_objects(path: str | Path) -> list[ArgoModel]:
    """Every Argo CD object in a file; any other document is an error."""
    where = str(path)
    return [parse_object(doc, file=where, index=i) for i, doc in enumerate(read_documents(path))]


def load_appsets(path: str | Path) -> list[ApplicationSet]:
    """The ApplicationSets of a YAML stream; a document of another kind is an error."""
    where = str(path)
    out: list[ApplicationSet] = []
    for i, doc in enumerate(read_documents(path)):
        if not isinstance(doc, dict) or doc.get("kind") != Kind.APPLICATION_SET:
            kind = doc.get("kind") if isinstance(doc, dict) else type(doc).__name__
            raise errors.InputError(
                f"is not an ApplicationSet (kind {kind!r})", file=where, obj=describe(doc, i), field="kind"
            )
        parsed = parse_object(doc, file=where, index=i)
        assert isinstance(parsed, ApplicationSet)
        out.append(parsed)
    return out


def load_applications(path: str | Path) -> list[Application]:
    """The Applications of a YAML stream; a document of another kind is an error."""
    where = str(path)
    out: list[Application] = []
    for i, doc in enumerate(read_documents(path)):
        parsed = parse_object(doc, file=where, index=i)
        if not isinstance(parsed, Application):
            raise errors.InputError(
                f"is not an Application (kind {getattr(parsed, 'kind', None)!r})",
                file=where,
                obj=describe(doc, i),
                field="kind",
            )
        out.append(parsed)
    return out


def iter_argo_documents(text: str, *, file: str | None = None) -> Iterator[tuple[int, dict[str, Any]]]:
    """(index, document) for the Argo CD objects of a YAML stream; other documents are skipped."""
    for i, doc in enumerate(parse_documents(text, file=file)):
        if is_argo_object(doc):
            yield i, doc
