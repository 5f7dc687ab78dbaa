"""The cluster registry: every cluster of the fleet, by name, from whichever sources the user has.

It sits at the start of a run: ``fleet sync``/``diff``/``clusters`` build a registry from their
flags, narrow it with ``--selector``, and hand the ``Cluster`` values (frozen, picklable) to the
cluster generator and to the per-cluster workers.

Sources (combinable):

- kubeconfig files: one cluster per context (``clusters/kubeconfig.py``);
- Argo CD cluster Secrets, from YAML files or read live from a management cluster
  (``clusters/argocd.py``);
- fleet-native ``ClusterList`` files (``clusters/native.py``).

Precedence: sources are applied in order and a LATER source replaces an earlier cluster of the
same name as a whole (labels, server and credentials together, so a cluster never mixes two
sources' credentials). ``load`` applies them from the most generic to the most fleet-specific:
kubeconfig, then Argo CD Secrets read live, then files (``--clusters``, in the order given), then
fleet-native lists (``--cluster-list``). Within one kubeconfig merge the first definition wins (as
in kubectl); within Argo CD Secrets the later Secret wins (as in Argo CD); a native list must not
repeat a name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fleet import errors, log, models, redact
from fleet.clusters import argocd, kubeconfig, native, selectors, yamlfile

if TYPE_CHECKING:
    from fleet.clusters import client as client_mod

_log = log.get_logger(__name__)


class SourceKind(StrEnum):
    """What kind of file or place a cluster definition came from."""

    KUBECONFIG = "kubeconfig"  # a context of a kubeconfig file
    ARGOCD = "argocd"  # an Argo CD cluster Secret in a YAML file
    ARGOCD_LIVE = "argocd-live"  # an Argo CD cluster Secret read from a management cluster
    CLUSTER_LIST = "cluster-list"  # an entry of a fleet-native ClusterList file


def _register_secrets(cluster: models.Cluster) -> None:
    """Mask every literal credential of ``cluster`` from now on (references are not secrets)."""
    creds = cluster.credentials
    for value in (creds.bearer_token, creds.password, creds.client_key_data):
        if value and not value.startswith(native.REF_PREFIX):
            redact.register(value)


class Registry:
    """Clusters by name. Later additions replace earlier clusters of the same name."""

    def __init__(self, clusters: Iterable[models.Cluster] = ()) -> None:
        self._clusters: dict[str, models.Cluster] = {}
        # (name, replaced source, replacing source), for `fleet clusters list` and debugging.
        self.overrides: list[tuple[str, str, str]] = []
        self.add(clusters)

    # -- adding ---------------------------------------------------------------------------------

    def add(self, clusters: Iterable[models.Cluster]) -> list[models.Cluster]:
        added = list(clusters)
        for cluster in added:
            _register_secrets(cluster)
            old = self._clusters.get(cluster.name)
            if old is not None:
                self.overrides.append((cluster.name, old.source, cluster.source))
                _log.debug(
                    "cluster definition replaced by a later source",
                    extra={"fields": {"cluster": cluster.name, "old": old.source, "new": cluster.source}},
                )
            self._clusters[cluster.name] = cluster
        return added

    def add_kubeconfig(
        self, paths: str | Path | Sequence[str | Path] | None = None, *, contexts: Sequence[str] | None = None
    ) -> list[models.Cluster]:
        """Every context (or the chosen ``contexts``) of the merged kubeconfig files."""
        return self.add(kubeconfig.load(paths, contexts=contexts))

    def add_argocd_secrets(
        self, path: str | Path, *, namespace: str | None = argocd.DEFAULT_NAMESPACE
    ) -> list[models.Cluster]:
        """The Argo CD cluster Secrets in a YAML file (only those in ``namespace``; None: any)."""
        return self.add(argocd.load_cluster_secrets(path, namespace=namespace))

    def add_argocd_live(
        self, client: client_mod.ClusterClient, *, namespace: str = argocd.DEFAULT_NAMESPACE
    ) -> list[models.Cluster]:
        """The Argo CD cluster Secrets currently in ``namespace`` of a management cluster."""
        return self.add(argocd_live(client, namespace=namespace))

    def add_cluster_list(self, path: str | Path) -> list[models.Cluster]:
        """The clusters of a fleet-native ``ClusterList`` file."""
        return self.add(native.load(path))

    def add_file(
        self, path: str | Path, *, namespace: str | None = argocd.DEFAULT_NAMESPACE
    ) -> list[models.Cluster]:
        """A file of any supported kind, recognised by its content (see ``detect``)."""
        kind = detect(path)
        if kind is SourceKind.CLUSTER_LIST:
            return self.add_cluster_list(path)
        if kind is SourceKind.KUBECONFIG:
            return self.add_kubeconfig(path)
        return self.add_argocd_secrets(path, namespace=namespace)

    # -- reading --------------------------------------------------------------------------------

    def clusters(self, selector: selectors.Selector | str | None = None) -> list[models.Cluster]:
        """The clusters whose labels match ``selector`` (all without one), sorted by name."""
        parsed = (
            selectors.parse(selector) if isinstance(selector, str) else (selector or selectors.EVERYTHING)
        )
        return [c for _, c in sorted(self._clusters.items()) if parsed.matches(c.labels)]

    def get(self, name: str) -> models.Cluster:
        try:
            return self._clusters[name]
        except KeyError:
            known = ", ".join(sorted(self._clusters)[:10]) or "none"
            raise errors.InputError(
                f"no cluster named {name!r} is registered (known: {known})", field="cluster"
            ) from None

    def names(self) -> list[str]:
        return sorted(self._clusters)

    def __contains__(self, name: object) -> bool:
        return name in self._clusters

    def __iter__(self) -> Iterator[models.Cluster]:
        return iter(self.clusters())

    def __len__(self) -> int:
        return len(self._clusters)


def detect(path: str | Path) -> SourceKind:
    """Which kind of cluster source a file is: a ``ClusterList``, a kubeconfig, or Argo CD Secrets."""
    docs = [d for d in yamlfile.documents(path) if isinstance(d, dict)]
    if any(native.is_cluster_list(d) for d in docs):
        return SourceKind.CLUSTER_LIST
    if any(d.get("kind") == "Config" and "contexts" in d for d in docs):
        return SourceKind.KUBECONFIG
    return SourceKind.ARGOCD


def argocd_live(
    client: client_mod.ClusterClient, *, namespace: str = argocd.DEFAULT_NAMESPACE
) -> list[models.Cluster]:
    """Read the Argo CD cluster Secrets of a management cluster, as Argo CD itself would."""
    items, _ = client.list(
        "v1",
        "Secret",
        namespace=namespace,
        label_selector=f"{argocd.SECRET_TYPE_LABEL}={argocd.SECRET_TYPE_CLUSTER}",
    )
    where = f"cluster {client.cluster.name} namespace {namespace}"
    for item in items:
        item.setdefault("kind", "Secret")  # list items carry no kind/apiVersion of their own
        item.setdefault("apiVersion", "v1")
    clusters = argocd.clusters_from_objects(items, namespace=namespace, where=where)
    _log.info(
        "read Argo CD cluster Secrets",
        extra={"fields": {"cluster": client.cluster.name, "namespace": namespace, "count": len(clusters)}},
    )
    return [c.model_copy(update={"source": f"argocd-live:{c.source}"}) for c in clusters]


def load(
    *,
    kubeconfig_paths: str | Path | Sequence[str | Path] | None = None,
    contexts: Sequence[str] | None = None,
    files: Sequence[str | Path] = (),
    cluster_lists: Sequence[str | Path] = (),
    argocd_context: str | None = None,
    argocd_namespace: str = argocd.DEFAULT_NAMESPACE,
    use_default_kubeconfig: bool | None = None,
    client_factory: Callable[[models.Cluster], Any] | None = None,
) -> Registry:
    """Build the registry that the CLI flags describe (the precedence is in the module docstring).

    Parameters:
        kubeconfig_paths: ``--kubeconfig`` (a file or an ``os.pathsep`` list). With
            ``argocd_context`` and no ``contexts`` it only locates the management cluster.
        contexts: ``--contexts``: only these kubeconfig contexts.
        files: ``--clusters``: Argo CD Secret files, kubeconfigs or ClusterLists (recognised by content).
        cluster_lists: ``--cluster-list``: fleet-native ClusterList files.
        argocd_context: read Argo CD cluster Secrets live from this kubeconfig context.
        argocd_namespace: the Argo CD namespace, for Secret files and the live read.
        use_default_kubeconfig: whether the kubeconfig's contexts are clusters of the fleet
            (default: see above; with no source at all, ``KUBECONFIG``/``~/.kube/config`` is read).
        client_factory: how to connect to the management cluster (default ``client.connect``).
    """
    registry = Registry()
    if use_default_kubeconfig is None:
        # The kubeconfig is a source when named (and not only there to find the Argo CD
        # management context), when contexts are chosen, or when nothing else is given.
        use_default_kubeconfig = bool(contexts) or (
            (kubeconfig_paths is not None and not argocd_context)
            or not (files or cluster_lists or argocd_context)
        )
    if use_default_kubeconfig:
        registry.add_kubeconfig(kubeconfig_paths, contexts=contexts)
    if argocd_context:
        management = kubeconfig.load(kubeconfig_paths, contexts=[argocd_context])[0]
        if client_factory is None:
            from fleet.clusters import client as client_mod

            client_factory = client_mod.connect
        api = client_factory(management)
        try:
            registry.add_argocd_live(api, namespace=argocd_namespace)
        finally:
            close = getattr(api, "close", None)
            if close is not None:
                close()
    for path in files:
        registry.add_file(path, namespace=argocd_namespace)
    for path in cluster_lists:
        registry.add_cluster_list(path)
    return registry
