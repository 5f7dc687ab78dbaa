"""Phase 4, render: every selected Application's sources, each distinct source once.

Where it sits: after selection, before the run is planned. Rendering runs on a few threads with
the render cache, and with SOPS files left encrypted (``decrypt=False``): only ciphertext travels
to the workers, which decrypt in memory. A source that fails to render fails its Application
(``RenderFailed``, or ``SourceFailed`` when its repository cannot be read), nothing else. Charts
from Helm repositories and OCI registries are resolved and downloaded here
(``fleet.render.helmrepo``, ``fleet.render.ocichart``), with the credentials of the Argo CD
repository Secrets the flags name (``fleet.repocreds``).

Each Application's render is a frozen ``Rendered`` value: its manifests and revision, or why it
failed (``reconcile.failures.Failure``, a ``Reason`` of the closed vocabulary).
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from fleet import errors, gitsource, log, redact, render
from fleet.driver import selection, sources
from fleet.reconcile import failures
from fleet.render import cache as render_cache
from fleet.render import helmrepo
from fleet.status import Reason

RENDER_THREADS = 4


@dataclasses.dataclass(frozen=True)
class Rendered:
    """One selected Application, rendered: its manifests and the revision they came from, or the
    failure that stops it before the fan-out."""

    selected: selection.Selected
    manifests: tuple[dict[str, Any], ...] = ()
    revision: str = ""
    failure: failures.Failure | None = None
    shipped: Mapping[str, bytes] = dataclasses.field(
        default_factory=dict
    )  # ref+sops:// files, encrypted, by digest


def _failed(item: selection.Selected, reason: Reason, message: str, *, revision: str = "") -> Rendered:
    return Rendered(selected=item, revision=revision, failure=failures.Failure(reason, redact.mask(message)))


def render_one(
    item: selection.Selected, checkouts: sources.Checkouts, cache: render_cache.RenderCache | None
) -> Rendered:
    """One Application's sources checked out (or fetched) and rendered, its ``ref+sops://``
    files shipped with it; any failure is its own."""
    app = item.app
    spec = app.to_dict().get("spec") or {}
    source_list = spec.get("sources") or ([spec["source"]] if spec.get("source") else [])
    namespace = str((spec.get("destination") or {}).get("namespace") or "")
    if not source_list:
        return _failed(item, Reason.INVALID_SPEC, f"application {app.name} has no source (spec.source)")
    dirs: list[Path] = []
    revisions: list[str] = []
    try:
        for index, source in enumerate(source_list):
            if sources.is_chart_source(source):
                # The unpacked chart is this source's directory, and its version the revision.
                path, version = checkouts.chart(
                    str(source.get("repoURL") or ""),
                    str(source.get("chart") or ""),
                    str(source.get("targetRevision") or ""),
                    app=app.name,
                    where=f"spec.sources[{index}]" if spec.get("sources") else "spec.source",
                )
                dirs.append(path)
                revisions.append(version)
                continue
            path, sha = checkouts.get(
                str(source.get("repoURL") or ""), str(source.get("targetRevision") or "HEAD")
            )
            dirs.append(path)
            revisions.append(sha)
    except gitsource.RepoEscapeError as exc:  # a symlink out of the repository: not retryable
        return _failed(item, Reason.RENDER_FAILED, str(exc))
    except (gitsource.RepoError, helmrepo.ChartError) as exc:
        return _failed(item, Reason.SOURCE_FAILED, str(exc))
    except errors.FleetError as exc:
        return _failed(item, Reason.RENDER_FAILED, str(exc))
    # Argo CD shows a Helm repository chart's version as the revision: the first chart source's.
    revision = revisions[next((i for i, s in enumerate(source_list) if sources.is_chart_source(s)), 0)]
    try:
        if spec.get("sources"):
            manifests = render.render_sources(
                source_list,
                source_dirs=dirs,
                app_name=app.name,
                namespace=namespace,
                revisions=revisions,
                cache=cache,
                decrypt=False,
            )
        else:
            manifests = render.render_source(
                source_list[0],
                source_dir=dirs[0],
                app_name=app.name,
                namespace=namespace,
                revision=revisions[0],
                cache=cache,
                decrypt=False,
            )
    except errors.FleetError as exc:
        return _failed(item, Reason.RENDER_FAILED, str(exc), revision=revision)
    except Exception as exc:  # noqa: BLE001 - a tool's crash fails this Application only
        return _failed(
            item,
            Reason.RENDER_FAILED,
            f"application {app.name}: {type(exc).__name__}: {exc}",
            revision=revision,
        )
    # ref+sops:// paths are relative to the Application's source: ship those encrypted files with
    # the work, since a worker on another machine has no checkout.
    from fleet.secrets import refs as secret_refs
    from fleet.secrets.sops import provider as sops_provider

    index = next((i for i, source in enumerate(source_list) if source.get("path")), 0)
    try:
        shipped_manifests, shipped = sops_provider.ship(
            manifests, base_dir=Path(dirs[index]) / str(source_list[index].get("path") or "")
        )
    except secret_refs.SecretError as exc:
        return Rendered(
            selected=item,
            manifests=tuple(manifests),
            revision=revision,
            failure=failures.Failure(
                Reason.SECRET_RESOLUTION_FAILED, redact.mask(f"application {app.name}: {exc}")
            ),
        )
    return Rendered(selected=item, manifests=tuple(shipped_manifests), revision=revision, shipped=shipped)


def render_all(
    selected: Sequence[selection.Selected],
    checkouts: sources.Checkouts,
    *,
    cache: render_cache.RenderCache | None,
) -> tuple[Rendered, ...]:
    """Every Application's sources rendered (in the order given); a source shared by many
    Applications renders once.

    The first Application of each distinct source renders first, so the others find its output
    in the cache instead of rendering it again on another thread at the same time.
    """
    first: dict[str, int] = {}
    rest: list[int] = []
    for index, item in enumerate(selected):
        spec = item.app.to_dict().get("spec") or {}
        key = json.dumps([spec.get("source"), spec.get("sources")], sort_keys=True, default=str)
        if key in first:
            rest.append(index)
        else:
            first[key] = index
    out: dict[int, Rendered] = {}
    with (
        log.progress("rendering applications", total=len(selected)) as bar,
        concurrent.futures.ThreadPoolExecutor(
            max_workers=RENDER_THREADS, thread_name_prefix="fleet-render"
        ) as pool,
    ):
        for batch in (list(first.values()), rest):
            futures = {pool.submit(render_one, selected[i], checkouts, cache): i for i in batch}
            for future in concurrent.futures.as_completed(futures):
                rendered = future.result()
                out[futures[future]] = rendered
                bar.advance(item=rendered.selected.app.name, status="failed" if rendered.failure else "ok")
    return tuple(out[i] for i in range(len(selected)))


__all__ = ["RENDER_THREADS", "Rendered", "render_all", "render_one"]
