"""Phase 2, generate: the fleet's ApplicationSets (and plain Applications) become Applications.

Where it sits: after the sources are open (``sources``), before selection. Generation reads
Argo CD's namespace on the management cluster (``--argocd-context``) where a
clusterDecisionResource or plugin generator needs it. A fleet that generates no Application at all
is refused unless ``allow_empty``: an empty directory would otherwise delete everything (issue 8).
A generated Application whose name is not a valid Kubernetes object name is refused, as Argo CD's
API server refuses to create it (issue 15).
"""

from __future__ import annotations

import contextlib

from fleet import appset, errors, log, redact
from fleet.clusters import management
from fleet.driver import request as run_request
from fleet.driver import sources

_log = log.get_logger(__name__)


def generate(request: run_request.RunRequest, opened: sources.Sources) -> appset.GenerateResult:
    """Every Application the fleet generates for the registered clusters; an empty fleet is bad
    input (``refuse_empty_fleet``); generation warnings are logged."""
    with contextlib.ExitStack() as stack:
        argocd = None
        if request.argocd_context:
            argocd = stack.enter_context(
                management.open_context(
                    request.argocd_context,
                    kubeconfig_paths=request.kubeconfig,
                    namespace=request.argocd_namespace,
                )
            )
        generated = appset.expand_fleet(
            opened.fleet,
            clusters=opened.clusters,
            in_cluster=request.in_cluster,
            repos=opened.repos,
            argocd_namespace=request.argocd_namespace,
            argocd=argocd,
        )
    # An Application Kubernetes would refuse to store is refused here, reported with the invalid
    # ones: synced, it would fail at its inventory and used to count Synced (issue 15).
    generated = appset.refuse_invalid_names(generated)
    refuse_empty_fleet(request, opened.fleet, generated)
    for warning in generated.warnings:
        _log.warning(warning)
    return generated


def refuse_empty_fleet(
    request: run_request.RunRequest, fleet: appset.Fleet, generated: appset.GenerateResult
) -> None:
    """A fleet that generates no Application at all is bad input unless it is meant to be empty
    (``allow_empty``): a run from the wrong directory would otherwise delete every Application it
    synced before (issue 8, item 1). Generation errors are reported as such instead."""
    if request.allow_empty or generated.errors or generated.invalid:
        return
    if any(result.applications for result in generated.results) or generated.standalone:
        return
    what = (
        f"its {len(fleet.appsets)} ApplicationSet(s) generate no Application for the registered clusters"
        if fleet.appsets
        else "holds no ApplicationSet and no Application"
    )
    raise errors.InputError(
        f"{what}: refused, since a sync of an empty fleet deletes every Application it synced before; "
        "pass --allow-empty if the fleet is meant to be empty",
        file=redact.safe_url(request.fleet),
    )


__all__ = ["generate", "refuse_empty_fleet"]
