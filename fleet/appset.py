"""The ApplicationSet engine: from ApplicationSets (and a fleet repository) to Applications.

One reconcile of an ApplicationSet, as Argo CD's controller runs it:

1. every ``spec.generators`` entry (in order): merge its generator-level template over
   ``spec.template``, generate parameter sets, apply its post-selector;
2. render the template for each parameter set (``fleet.templating``);
3. any generator or render error: the ApplicationSet yields no Application at all and reports
   the error (naming the generator and the parameter set);
4. validate each Application: an empty or duplicate name, an unknown project or an unknown
   destination cluster skips that Application only, and is reported with the generator entry
   and parameter set that produced it.

``generate`` runs this for a list of ApplicationSets; ``load_fleet`` finds ApplicationSets,
Applications and AppProjects in a directory or repository, and ``expand_fleet`` does both:
the sync engine's entry point from a fleet repository to the Applications to reconcile.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import gc
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from fleet import argo, errors, gitsource, log, models, templating
from fleet.generators import interface, registry, transform
from fleet.generators import params as params_mod

_log = log.get_logger(__name__)

DEFAULT_NAMESPACE = "argocd"


class GenerationError(errors.FleetError):
    """An ApplicationSet produced no Applications because a generator or a template failed."""

    def __init__(
        self,
        message: str,
        *,
        appset: str,
        generator: str | None = None,
        param: str | None = None,
        source: str = "",
    ) -> None:
        where = f"ApplicationSet {appset}" + (f" ({source})" if source else "")
        parts = [where, generator, param]
        super().__init__(": ".join(p for p in parts if p) + f": {message}")
        self.appset = appset
        self.generator = generator
        self.param = param
        self.reason = message

    def __reduce__(self) -> tuple[Any, ...]:
        # Exceptions pickle their args only; this one needs its keywords back (Ray ships errors).
        return (gitsource._restore_error, (type(self), self.message, dict(self.__dict__)))


@dataclass(frozen=True)
class Origin:
    """Which generator entry and parameter set produced an Application."""

    generator: str  # e.g. "generators[0].matrix"
    params: Mapping[str, Any]

    def describe(self) -> str:
        return f"{self.generator}: parameter set {params_mod.short(self.params)}"


@dataclass(frozen=True)
class InvalidApplication:
    """A generated Application that failed validation and was skipped."""

    appset: str
    name: str
    message: str
    origin: Origin

    def __str__(self) -> str:
        name = self.name or "<no name>"
        return f"ApplicationSet {self.appset}: Application {name}: {self.message} ({self.origin.describe()})"


@dataclass(frozen=True)
class AppSetResult:
    """What one ApplicationSet generated.

    ``objects`` are the valid Applications as Argo CD JSON (dicts), ``origins`` says where each
    came from; ``applications`` gives them as ``argo.Application`` models. With ``error`` set,
    there are no Applications at all. Applications of one template share the parts of it that
    no parameter changes: treat ``objects`` as read-only (``templating.copy_json`` one to change it).
    """

    appset: argo.ApplicationSet
    name: str
    namespace: str
    objects: tuple[dict[str, Any], ...] = ()
    origins: tuple[Origin, ...] = ()
    error: errors.FleetError | None = None
    invalid: tuple[InvalidApplication, ...] = ()
    warnings: tuple[str, ...] = ()

    @functools.cached_property
    def applications(self) -> tuple[argo.Application, ...]:
        with gc_paused():
            return tuple(argo.Application.model_validate(obj) for obj in self.objects)

    @property
    def ok(self) -> bool:
        return self.error is None and not self.invalid


@dataclass(frozen=True)
class GenerateResult:
    """The outcome of ``generate`` (and ``expand_fleet``): per-ApplicationSet results.

    ``standalone`` holds plain Applications found next to the ApplicationSets (expand_fleet).
    """

    results: tuple[AppSetResult, ...] = ()
    standalone: tuple[argo.Application, ...] = ()

    @property
    def applications(self) -> list[argo.Application]:
        """Every valid generated Application, then the standalone ones."""
        out = [app for result in self.results for app in result.applications]
        out.extend(self.standalone)
        return out

    @property
    def objects(self) -> list[dict[str, Any]]:
        out = [obj for result in self.results for obj in result.objects]
        out.extend(app.to_dict() for app in self.standalone)
        return out

    @property
    def errors(self) -> list[errors.FleetError]:
        return [result.error for result in self.results if result.error is not None]

    @property
    def invalid(self) -> list[InvalidApplication]:
        return [item for result in self.results for item in result.invalid]

    @property
    def warnings(self) -> list[str]:
        return [f"ApplicationSet {r.name}: {w}" for r in self.results for w in r.warnings]

    @property
    def ok(self) -> bool:
        return all(result.ok for result in self.results)


class _GCPause:
    """Automatic garbage collection off while Applications are built, back on afterwards.

    Generation allocates a few dicts (and, for ``applications``, pydantic models) per Application
    and creates no reference cycles; yet as 50,000 of them pile up, CPython's collector walks the
    growing heap again and again, about a third of generation's time and three quarters of the
    models' (issue 15). Nothing is left uncollected: the next collection after this runs as
    usual. Nested and concurrent pauses (threads of ``fleet serve``) share one count, so the
    collector comes back on when the last one ends, and only if it was on before the first.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._depth = 0
        self._was_enabled = False

    @contextlib.contextmanager
    def __call__(self) -> Iterator[None]:
        with self._lock:
            if self._depth == 0:
                self._was_enabled = gc.isenabled()
                gc.disable()
            self._depth += 1
        try:
            yield
        finally:
            with self._lock:
                self._depth -= 1
                if self._depth == 0 and self._was_enabled:
                    gc.enable()


gc_paused = _GCPause()


@dataclass(frozen=True)
class _Env:
    clusters: tuple[models.Cluster, ...]
    in_cluster: bool
    repos: gitsource.RepoCache
    projects: frozenset[str] | None
    new_git_file_globbing: bool
    argocd_namespace: str
    argocd: interface.ArgoCD | None = None


def generate(
    appsets: Sequence[argo.ApplicationSet],
    *,
    clusters: Sequence[models.Cluster] = (),
    in_cluster: bool = True,
    repo_map: Mapping[str, str | Path] | None = None,
    projects: Sequence[argo.AppProject | str] | None = None,
    repos: gitsource.RepoCache | None = None,
    new_git_file_globbing: bool = False,
    argocd_namespace: str = DEFAULT_NAMESPACE,
    argocd: interface.ArgoCD | None = None,
) -> GenerateResult:
    """Generate the Applications of each ApplicationSet; failures are reported per ApplicationSet.

    Parameters:
        appsets: the ApplicationSets, in order.
        clusters: registered clusters (e.g. ``clusters.argocd.load_cluster_secrets``).
        in_cluster: whether Argo CD's implicit ``in-cluster`` (kubernetes.default.svc) exists.
        repo_map: ``{repoURL: local directory}`` read instead of the remote repository.
        projects: known AppProjects (or names); None skips project checks. ``default`` always exists.
        repos: the git cache to use (default: the process-wide one, with ``repo_map``).
        new_git_file_globbing: Argo CD's ``--enable-new-git-file-globbing``.
        argocd_namespace: the namespace of an ApplicationSet that names none.
        argocd: Argo CD's namespace on the management cluster (``fleet.clusters.management``),
            for the clusterDecisionResource and plugin generators; None: they fail saying so.
    """
    repos = repos or gitsource.default_cache()
    if repo_map:
        repos = repos.mapped(repo_map)
    names = None
    if projects is not None:
        names = frozenset(p if isinstance(p, str) else p.name for p in projects) | {argo.DEFAULT_PROJECT}
    env = _Env(
        clusters=tuple(clusters),
        in_cluster=in_cluster,
        repos=repos,
        projects=names,
        new_git_file_globbing=new_git_file_globbing,
        argocd_namespace=argocd_namespace,
        argocd=argocd,
    )
    results = []
    with log.progress("generating applications", total=len(appsets)) as bar, gc_paused():
        for appset in appsets:
            result = generate_one(appset, env)
            results.append(result)
            bar.advance(item=appset.name, status="error" if result.error else "ok")
    return GenerateResult(results=tuple(results))


def generate_one(appset: argo.ApplicationSet, env: _Env) -> AppSetResult:
    """One ApplicationSet through the whole pipeline (generate, render, validate)."""
    name = appset.name
    namespace = appset.namespace or env.argocd_namespace
    spec = appset.to_dict().get("spec") or {}
    fields = {"appset": name, "namespace": namespace}

    def failed(exc: errors.FleetError) -> AppSetResult:
        _log.debug(f"ApplicationSet {name}: {exc}", extra={"fields": fields})
        return AppSetResult(appset=appset, name=name, namespace=namespace, error=exc)

    try:
        engine = templating.Engine.for_appset(
            go_template=bool(spec.get("goTemplate")), options=tuple(spec.get("goTemplateOptions") or ())
        )
    except templating.RenderError as exc:
        return failed(GenerationError(str(exc), appset=name, source=appset.source))
    base_template = spec.get("template") or {}
    ctx = interface.GenContext(
        appset=name,
        namespace=namespace,
        go_template=engine.go_template,
        go_template_options=tuple(spec.get("goTemplateOptions") or ()),
        clusters=env.clusters,
        in_cluster=env.in_cluster,
        open_repo=env.repos.open,
        render=engine.render,
        projects=env.projects,
        template_project=str(((base_template.get("spec") or {}).get("project")) or ""),
        new_git_file_globbing=env.new_git_file_globbing,
        argocd=env.argocd,
    )
    patch = spec.get("templatePatch")
    preserve = bool((spec.get("syncPolicy") or {}).get("preserveResourcesOnDeletion"))
    objects: list[dict[str, Any]] = []
    origins: list[Origin] = []
    warnings: list[str] = []
    for i, entry in enumerate(spec.get("generators") or []):
        path = f"generators[{i}]"
        kinds = transform.kinds_of(entry)
        if not kinds:
            unknown = ", ".join(transform.unknown_keys(entry)) or "none"
            warnings.append(
                f"{path}: contains no recognised generator (keys: {unknown}); it generates nothing"
            )
            _log.warning(f"ApplicationSet {name}: {warnings[-1]}", extra={"fields": fields})
            continue
        try:
            results = transform.transform(entry, registry.TOP_LEVEL, ctx.at(path))
        except interface.GeneratorError as exc:
            return failed(
                GenerationError(
                    exc.reason, appset=name, generator=exc.generator, param=exc.param, source=appset.source
                )
            )
        for kind, sets in results:
            kind_spec = entry.get(kind) or {}
            merged = templating.merge_generator_template(kind_spec.get("template"), base_template)
            template = templating.ApplicationTemplate(
                merged, engine=engine, namespace=namespace, template_patch=patch, preserve_resources=preserve
            )
            generator = f"{path}.{kind}"
            for params in sets:
                try:
                    objects.append(template.render(params))
                except templating.RenderError as exc:
                    return failed(
                        GenerationError(
                            str(exc),
                            appset=name,
                            generator=generator,
                            param=f"parameter set {params_mod.short(params)}",
                            source=appset.source,
                        )
                    )
                origins.append(Origin(generator, params))
    valid, valid_origins, invalid = validate(objects, origins, appset=name, env=env)
    for item in invalid:
        _log.debug(str(item), extra={"fields": {**fields, "application": item.name}})
    _log.info(
        f"ApplicationSet {name}: generated {len(valid)} applications",
        extra={"fields": {**fields, "applications": len(valid), "invalid": len(invalid)}},
    )
    return AppSetResult(
        appset=appset,
        name=name,
        namespace=namespace,
        objects=tuple(valid),
        origins=tuple(valid_origins),
        invalid=tuple(invalid),
        warnings=tuple(warnings),
    )


def validate(
    objects: Sequence[dict[str, Any]], origins: Sequence[Origin], *, appset: str, env: _Env
) -> tuple[list[dict[str, Any]], list[Origin], list[InvalidApplication]]:
    """Argo CD's validateGeneratedApplications: (valid objects, their origins, invalid ones).

    Problems are keyed by ``namespace/name`` as in Argo CD, so when a name is duplicated every
    Application of that name is skipped, the first one included.
    """
    problems: dict[str, str] = {}
    seen: set[str] = set()
    destinations = _Destinations(env.clusters, in_cluster=env.in_cluster)
    for obj in objects:
        meta = obj.get("metadata") or {}
        name = str(meta.get("name") or "")
        key = f"{meta.get('namespace', '')}/{name}"
        if not name:
            problems[key] = (
                f"ApplicationSet {appset} contains an application with no name;"
                " a name must be set in the template's"
                " metadata.name or via a templatePatch"
            )
            continue
        if name in seen:
            problems[key] = f"ApplicationSet {appset} contains applications with duplicate name: {name}"
            continue
        seen.add(name)
        spec = obj.get("spec") or {}
        project = str(spec.get("project") or "")
        if not project:
            problems[key] = "application has no project (spec.project is empty)"
            continue
        if env.projects is not None and project not in env.projects:
            problems[key] = f"application references project {project} which does not exist"
            continue
        problem = destinations.check(spec.get("destination") or {})
        if problem:
            problems[key] = f"application destination spec is invalid: {problem}"
    valid: list[dict[str, Any]] = []
    valid_origins: list[Origin] = []
    invalid: list[InvalidApplication] = []
    for obj, origin in zip(objects, origins, strict=True):
        meta = obj.get("metadata") or {}
        key = f"{meta.get('namespace', '')}/{meta.get('name') or ''}"
        if key in problems:
            invalid.append(InvalidApplication(appset, str(meta.get("name") or ""), problems[key], origin))
        else:
            valid.append(obj)
            valid_origins.append(origin)
    return valid, valid_origins, invalid


def refuse_invalid_names(result: GenerateResult) -> GenerateResult:
    """``result`` with every generated Application whose name is not a valid Kubernetes object
    name moved to the invalid ones, naming the rule it breaks.

    Argo CD's generation lets such a name through and its API server then refuses to create the
    Application; a sync has no API server in between, so the run refuses it here, before any
    cluster is touched (issue 15: it was synced, its inventory failed to apply, and it counted
    Synced). ``generate`` itself stays as Argo CD's (``fleet generate`` previews such names).
    """
    results = []
    for item in result.results:
        problems = [
            object_name_problem(str((obj.get("metadata") or {}).get("name") or "")) for obj in item.objects
        ]
        if not any(problems):
            results.append(item)
            continue
        rows = list(zip(item.objects, item.origins, problems, strict=True))
        invalid = [
            InvalidApplication(item.name, str(obj["metadata"]["name"]), name_message(problem), origin)
            for obj, origin, problem in rows
            if problem
        ]
        results.append(
            dataclasses.replace(
                item,
                objects=tuple(obj for obj, _, problem in rows if not problem),
                origins=tuple(origin for _, origin, problem in rows if not problem),
                invalid=(*item.invalid, *invalid),
            )
        )
    return dataclasses.replace(result, results=tuple(results))


def name_message(problem: str) -> str:
    """How an invalid Application name is reported (after ``ApplicationSet X: Application NAME:``)."""
    return f"the generated name is not a valid Kubernetes object name: {problem}"


# Kubernetes' IsDNS1123Subdomain: what the API server requires of an Application's name (and
# what fleet's inventory ConfigMap, named after it, needs).
_DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_DNS1123_SUBDOMAIN_MAX = 253


def object_name_problem(name: str) -> str | None:
    """Why ``name`` is not a valid Kubernetes object name (a DNS-1123 subdomain), in the API
    server's words; None when it is one."""
    if len(name) > _DNS1123_SUBDOMAIN_MAX:
        return f"must be no more than {_DNS1123_SUBDOMAIN_MAX} characters (it has {len(name)})"
    if not _DNS1123_SUBDOMAIN.fullmatch(name):
        return (
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or"
            " '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex"
            f" used for validation is '{_DNS1123_SUBDOMAIN.pattern}')"
        )
    return None


class _Destinations:
    """Argo CD's GetDestinationCluster over the registered clusters."""

    def __init__(self, clusters: Sequence[models.Cluster], *, in_cluster: bool) -> None:
        self.servers = {c.server.rstrip("/") for c in clusters}
        self.by_name: dict[str, list[str]] = {}
        for cluster in clusters:
            self.by_name.setdefault(cluster.name, []).append(cluster.server)
        if in_cluster:
            self.servers.add(models.IN_CLUSTER_SERVER)
            if models.IN_CLUSTER_NAME not in self.by_name and not any(
                c.server.rstrip("/") == models.IN_CLUSTER_SERVER for c in clusters
            ):
                self.by_name[models.IN_CLUSTER_NAME] = [models.IN_CLUSTER_SERVER]

    def check(self, destination: Mapping[str, Any]) -> str | None:
        server = str(destination.get("server") or "")
        name = str(destination.get("name") or "")
        if server and name:
            return f"application destination can't have both name and server defined: {name} {server}"
        if server:
            trimmed = server.rstrip("/")
            if trimmed not in self.servers:
                return f'error getting cluster by server "{server}": cluster "{trimmed}" not found'
            return None
        if name:
            urls = self.by_name.get(name, [])
            if not urls:
                return f"there are no clusters with this name: {name}"
            if len(urls) > 1:
                return f"there are {len(urls)} clusters with the same name: [{' '.join(urls)}]"
            return None
        return "Destination server missing from app spec"


# --- fleets ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fleet:
    """The Argo CD objects of a fleet repository (or directory)."""

    appsets: tuple[argo.ApplicationSet, ...] = ()
    applications: tuple[argo.Application, ...] = ()
    projects: tuple[argo.AppProject, ...] = ()
    files: tuple[str, ...] = ()  # the files that held them, repository-relative
    revision: str = ""  # the commit read (``working-tree`` for a directory)
    source: str = ""  # the directory, or ``URL@revision``
    ignored: tuple[str, ...] = field(default=())  # Helm chart folders skipped


_MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")


def load_fleet(
    source: str | Path | gitsource.Source,
    *,
    revision: str | None = None,
    paths: Sequence[str] | None = None,
    repo_map: Mapping[str, str | Path] | None = None,
    repos: gitsource.RepoCache | None = None,
) -> Fleet:
    """Find the ApplicationSets, Applications and AppProjects in a directory or repository.

    Parameters:
        source: a directory (read as it is on disk), a single YAML file, a repository URL, or a
            ``gitsource.Source`` (a repository at a revision, from ``gitsource.open_repo``).
        revision: read the repository at this branch, tag or commit (default HEAD for a URL;
            for a local directory, giving a revision reads that commit of its git repository
            instead of the working tree).
        paths: pathspecs limiting where to look (e.g. ``["appsets/", "apps/root.yaml"]``).
        repo_map, repos: as for ``generate`` (a mapped URL reads the mapped directory).

    Every ``.yaml``/``.yml``/``.json`` file outside dot-directories and Helm charts (folders with
    a ``Chart.yaml``, whose templates are not YAML) that mentions ``argoproj.io`` is parsed;
    documents of other kinds are ignored. Invalid YAML or an invalid Argo CD object is an
    InputError naming the file, object and field.
    """
    repo: gitsource.Source
    if isinstance(source, gitsource.Source):
        repo, label = source, source.describe()
    else:
        text, path = str(source), Path(source)
        local = "://" not in text
        if local and path.is_file():
            objects = argo.load_objects(path)
            return _fleet(objects, files=(text,), revision=gitsource.WORKTREE, source=text)
        if local and revision is None:
            if not path.is_dir():
                raise errors.InputError("is neither a directory nor a file", file=text)
            repo, label = gitsource.WorkTreeSource(path, url=text), text
        else:
            repo = gitsource.open_repo(text, revision or "HEAD", repo_map=repo_map, cache=repos)
            label = repo.describe()
    files = repo.list_files(list(paths)) if paths else repo.list_files()
    charts = {f.rpartition("/")[0] for f in repo.list_files() if PurePosixPath(f).name == "Chart.yaml"}

    def scanned(rel: str, *, directory: bool = False) -> bool:
        """Whether ``rel`` is (or, for a directory, may hold) a file searched for Argo CD objects."""
        parts = rel.split("/")
        if not (directory or rel.endswith(_MANIFEST_SUFFIXES)) or any(p.startswith(".") for p in parts[:-1]):
            return False
        return not (any("/".join(parts[:depth]) in charts for depth in range(len(parts))) or "" in charts)

    if isinstance(repo, gitsource.WorkTreeSource):
        # A fleet file read through a symlink out of the directory, or a symlinked directory of
        # them, is refused (issue 8, item 4): what it holds is not the repository's, and reading
        # it could deploy any file of this machine. Git mode never follows such links.
        selected = [gitsource.pathspec_matcher(p) for p in paths] if paths else []
        for rel, is_dir in repo.escaping_links():
            if scanned(rel, directory=is_dir) and (not selected or any(m(rel) for m in selected)):
                raise errors.InputError(
                    "is a symlink that leads outside the repository; fleet reads no file outside it",
                    file=str(Path(label) / rel) if label == repo.url else f"{label}:{rel}",
                )
    found: list[argo.ArgoModel] = []
    used: list[str] = []
    for rel in files:
        if not scanned(rel):
            continue
        data = repo.read(rel)
        if b"argoproj.io" not in data:
            continue
        where = (
            str(Path(label) / rel)
            if isinstance(repo, gitsource.WorkTreeSource) and label == repo.url
            else f"{label}:{rel}"
        )
        try:
            content = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            # Never read it with U+FFFD in place of the bytes: names and values would change
            # silently (issue 8, item 12). Not chained: the decoder's message quotes the bytes.
            raise errors.InputError(
                f"is not UTF-8 text (byte {exc.start} of the file); save it as UTF-8", file=where
            ) from None
        objects = [
            argo.parse_object(doc, file=where, index=i)
            for i, doc in argo.iter_argo_documents(content, file=where)
        ]
        if objects:
            used.append(rel)
            found.extend(objects)
    return _fleet(found, files=tuple(used), revision=repo.resolve_revision(), source=label)


def _fleet(objects: Sequence[argo.ArgoModel], *, files: tuple[str, ...], revision: str, source: str) -> Fleet:
    return Fleet(
        appsets=tuple(o for o in objects if isinstance(o, argo.ApplicationSet)),
        applications=tuple(o for o in objects if isinstance(o, argo.Application)),
        projects=tuple(o for o in objects if isinstance(o, argo.AppProject)),
        files=files,
        revision=revision,
        source=source,
    )


def expand_fleet(
    source: str | Path | gitsource.Source | Fleet,
    *,
    revision: str | None = None,
    clusters: Sequence[models.Cluster] = (),
    in_cluster: bool = True,
    repo_map: Mapping[str, str | Path] | None = None,
    repos: gitsource.RepoCache | None = None,
    projects: Sequence[argo.AppProject | str] | None = None,
    new_git_file_globbing: bool = False,
    argocd_namespace: str = DEFAULT_NAMESPACE,
    argocd: interface.ArgoCD | None = None,
) -> GenerateResult:
    """A fleet repository to the Applications to reconcile: generated ones plus plain ones.

    ``source`` and ``revision`` are as for ``load_fleet``, the other parameters as for
    ``generate``. ``projects`` defaults to the AppProjects found in the fleet when there are
    any (then an Application of another project is invalid), else no project checks. Plain
    Applications without a namespace get ``argocd_namespace``.
    """
    if isinstance(source, Fleet):
        fleet = source
    else:
        fleet = load_fleet(source, revision=revision, repo_map=repo_map, repos=repos)
    if projects is None and fleet.projects:
        projects = list(fleet.projects)
    result = generate(
        fleet.appsets,
        clusters=clusters,
        in_cluster=in_cluster,
        repo_map=repo_map,
        projects=projects,
        repos=repos,
        new_git_file_globbing=new_git_file_globbing,
        argocd_namespace=argocd_namespace,
        argocd=argocd,
    )
    standalone = []
    for app in fleet.applications:
        if not app.metadata.namespace:
            app = app.model_copy(
                update={"metadata": app.metadata.model_copy(update={"namespace": argocd_namespace})}
            )
        standalone.append(app)
    return GenerateResult(results=result.results, standalone=tuple(standalone))
