"""Which tool renders a source: Argo CD's rules (explicit block first, then what the directory holds).

- exactly one of ``helm`` / ``kustomize`` / ``directory`` / ``plugin`` set: that type (more than one
  is an error, as in Argo CD); a ``chart`` (Helm repository source) is always Helm;
- otherwise discovery at the source path: a kustomization file makes it Kustomize, a
  ``Chart.yaml`` Helm (Kustomize wins when both exist: Argo CD walks the files in name order and
  the last match wins), anything else is a Directory. Jsonnet is part of Directory in Argo CD:
  ``*.jsonnet`` files in a directory source are evaluated.
"""

from __future__ import annotations

from enum import StrEnum

from fleet import render

KUSTOMIZATION_NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")


class SourceType(StrEnum):
    """Argo CD's ApplicationSourceType."""

    HELM = "Helm"  # a chart: Chart.yaml, or `chart` from a Helm repository
    KUSTOMIZE = "Kustomize"  # a kustomization file
    DIRECTORY = "Directory"  # plain YAML/JSON files and Jsonnet
    PLUGIN = "Plugin"  # a config management plugin (not supported by fleet)


def source_type(ctx: render.RenderContext) -> SourceType:
    src = ctx.source
    if src.chart:
        return SourceType.HELM
    explicit = [
        kind
        for kind, present in (
            (SourceType.HELM, src.helm is not None),
            (SourceType.KUSTOMIZE, src.kustomize is not None),
            (SourceType.DIRECTORY, src.directory is not None),
            (SourceType.PLUGIN, src.plugin is not None),
        )
        if present
    ]
    if len(explicit) > 1:
        raise ctx.error(f"multiple application source types set ({', '.join(explicit)}); set one")
    if explicit == [SourceType.PLUGIN]:
        raise ctx.error("config management plugins are not supported by fleet", field="plugin")
    if explicit:
        return explicit[0]
    if not ctx.app_dir.is_dir():
        raise ctx.error(
            f"source path {ctx.relative(ctx.app_dir)!r} does not exist at revision {ctx.revision or '?'}"
        )
    if any((ctx.app_dir / name).is_file() for name in KUSTOMIZATION_NAMES):
        return SourceType.KUSTOMIZE
    if (ctx.app_dir / "Chart.yaml").is_file():
        return SourceType.HELM
    return SourceType.DIRECTORY
