"""The generator contract: what every ApplicationSet generator takes and returns, and how it fails.

A generator turns its part of ``spec.generators[i]`` into parameter sets. It is one module per
kind (``list``, ``clusters``, ``git``, ``matrix``, ``merge``, ``cluster_decision``, ``plugin``)
behind the one-method ``Generator``
protocol; ``registry`` maps spec keys to instances and ``transform`` runs one generator entry
(interpolation, generation, post-selector). Known failures are named exception classes, as
Argo CD names them (``ErrEmptyAppSetGenerator``, ``ErrLessThanTwoGenerators``...); any error
carries the path of the generator that raised it (``generators[0].matrix.generators[1].git``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from fleet import errors, models
from fleet.generators import params as params_mod

Params = params_mod.Params


class GeneratorError(errors.FleetError):
    """A generator could not produce its parameter sets; the ApplicationSet yields nothing.

    ``generator`` is the path of the failing generator entry, ``param`` names the element, key
    or parameter set involved when there is one.
    """

    def __init__(self, message: str, *, generator: str | None = None, param: str | None = None) -> None:
        super().__init__(message)
        self.reason = message
        self.generator = generator
        self.param = param
        self._refresh()

    def at(self, generator: str) -> GeneratorError:
        """Record the generator path unless an inner generator already did (innermost wins)."""
        if self.generator is None:
            self.generator = generator
            self._refresh()
        return self

    def _refresh(self) -> None:
        parts = [
            f"{self.generator}:" if self.generator else "",
            f"{self.param}:" if self.param else "",
            self.reason,
        ]
        self.message = " ".join(p for p in parts if p)
        self.args = (self.message,)


class EmptyAppSetGeneratorError(GeneratorError):
    """Argo CD ``ErrEmptyAppSetGenerator``: the generator entry has nothing to generate from."""


class LessThanTwoGeneratorsError(GeneratorError):
    """Argo CD ``ErrLessThanTwoGenerators``: a matrix needs exactly two children."""


class MoreThanTwoGeneratorsError(GeneratorError):
    """Argo CD ``ErrMoreThanTwoGenerators``: a matrix takes exactly two children."""


class MoreThanOneInnerGeneratorError(GeneratorError):
    """Argo CD ``ErrMoreThenOneInnerGenerators``: a matrix/merge child sets two generator kinds."""


class NoChildGeneratorError(GeneratorError):
    """A matrix/merge child sets no generator kind this nesting level knows
    ("child generator generated no parameters" in Argo CD)."""


class LessThanTwoGeneratorsInMergeError(GeneratorError):
    """Argo CD ``ErrLessThanTwoGeneratorsInMerge``: a merge needs two or more children."""


class NoMergeKeysError(GeneratorError):
    """Argo CD ``ErrNoMergeKeys``: a merge needs at least one merge key."""


class NonUniqueParamSetsError(GeneratorError):
    """Argo CD ``ErrNonUniqueParamSets``: two sets of one merge child share their merge-key values."""


class DuplicateParamKeyError(GeneratorError):
    """fasttemplate matrix: both children set one key to different values."""


class UnsupportedGeneratorError(GeneratorError):
    """A generator kind Argo CD has and fleet does not run (scmProvider, pullRequest, ...)."""


class NoManagementClusterError(GeneratorError):
    """The generator reads Argo CD's namespace on the management cluster and none was given."""


def need_argocd(ctx: GenContext, kind: str) -> ArgoCD:
    """The management cluster's Argo CD namespace, or an error saying how to give it."""
    if ctx.argocd is None:
        raise NoManagementClusterError(
            f"the {kind} generator reads Argo CD's namespace on the management cluster:"
            " give its kubeconfig context with --argocd-context",
            generator=ctx.path,
        )
    return ctx.argocd


class InvalidSelectorError(GeneratorError):
    """A label selector (post-selector or cluster selector) does not parse."""


class RepoSource(Protocol):
    """The read-only view of a git revision that the git generator needs (fleet.gitsource)."""

    url: str
    revision: str

    def list_dirs(self) -> list[str]: ...

    def ls_files(self, pattern: str, *, new_globbing: bool = False) -> list[str]: ...

    def read(self, path: str) -> bytes: ...


RepoOpener = Callable[[str, str], RepoSource]


class ArgoCD(Protocol):
    """Argo CD's namespace on the management cluster, read-only (``fleet.clusters.management``):
    what the clusterDecisionResource and plugin generators read, as Argo CD's controller does."""

    # Read-only members: an implementation may compute them (ManagementCluster.name is a property).
    @property
    def namespace(self) -> str: ...

    @property
    def name(self) -> str:
        """The management cluster, for messages."""
        ...

    def config_map(self, name: str) -> Mapping[str, str] | None: ...

    def secret(self, name: str) -> Mapping[str, str] | None: ...

    def resource(self, api_version: str, name: str) -> Any: ...

    def list(
        self, resource: Any, *, name: str | None = None, label_selector: str | None = None
    ) -> list[dict[str, Any]]: ...


class StringRenderer(Protocol):
    """Renders one string with the ApplicationSet's template engine (fleet.templating)."""

    def __call__(self, text: str, params: Mapping[str, Any], *, missingkey: str | None = None) -> str: ...


@dataclass(frozen=True)
class GenContext:
    """Everything a generator may consult besides its own spec; one per ApplicationSet.

    Parameters:
        appset: ApplicationSet name, namespace: its namespace (errors and logs name them).
        go_template: ``spec.goTemplate``; go_template_options: ``spec.goTemplateOptions``.
        clusters: the registered clusters (Argo CD cluster Secrets), in_cluster: whether the
            implicit ``in-cluster`` entry exists.
        open_repo: opens a repository URL at a revision.
        render: renders a string against a parameter set (values, matrix interpolation).
        projects: known AppProject names, or None when unknown (no project checks).
        template_project: ``spec.template.spec.project`` (the git generator checks it exists).
        new_git_file_globbing: Argo CD's ``--enable-new-git-file-globbing`` (doublestar globs).
        argocd: Argo CD's namespace on the management cluster (``--argocd-context``), or None.
        path: the generator entry being run, for error messages.
    """

    appset: str
    namespace: str
    go_template: bool
    go_template_options: tuple[str, ...]
    clusters: tuple[models.Cluster, ...]
    in_cluster: bool
    open_repo: RepoOpener
    render: StringRenderer
    projects: frozenset[str] | None = None
    template_project: str = ""
    new_git_file_globbing: bool = False
    argocd: ArgoCD | None = None
    path: str = "generators"

    def at(self, path: str) -> GenContext:
        return dataclasses.replace(self, path=path)


class Generator(Protocol):
    """One generator kind. ``spec`` is the kind's own mapping (``entry["list"]``, ...)."""

    kind: str

    def generate(self, spec: Mapping[str, Any], ctx: GenContext) -> list[Params]: ...


def as_mapping(value: Any, *, what: str, ctx: GenContext) -> Mapping[str, Any]:
    """A spec field that must be a mapping (None counts as empty)."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise GeneratorError(f"{what} must be a mapping, not {type(value).__name__}", generator=ctx.path)
    return value


def as_list(value: Any, *, what: str, ctx: GenContext) -> Sequence[Any]:
    """A spec field that must be a list (None counts as empty)."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise GeneratorError(f"{what} must be a list, not {type(value).__name__}", generator=ctx.path)
    return value


def render_values(values: Mapping[str, Any] | None, params: Params, ctx: GenContext) -> Params:
    """A generator's ``values`` rendered against ``params`` and added to them.

    Each value sees the parameters generated so far, never other values (Argo CD renders them
    into a separate map first). fasttemplate: ``values.<key>``; goTemplate: a ``values`` map.
    """
    if not values:
        return params
    rendered: dict[str, str] = {}
    for key, text in values.items():
        try:
            rendered[str(key)] = ctx.render(str(text), params)
        except GeneratorError:
            raise
        except errors.FleetError as exc:
            raise GeneratorError(str(exc), generator=ctx.path, param=f"values.{key}") from exc
    if ctx.go_template:
        params["values"] = params_mod.str_map(rendered)
    else:
        for key, value in rendered.items():
            params[f"values.{key}"] = value
    return params
