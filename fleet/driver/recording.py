"""Before and after a run: registering it in the status store (a sync waits for, then holds, the
run lock of its clusters), recording its result, and notifying.

Where it sits: around ``fleet.driver.run``, owned by its callers (the CLI, the long-running loop,
the demo), not inside the run: ``fleet.driver.run_recorded`` registers and records one run, and
the caller notifies after it (``notify``). The run is registered before the fleet is read: the
registry gives the run lock's scope (the fleet, and the clusters ``--selector`` selects); a
heartbeat renews the lease while the run goes on (``fleet.store.lease``), and the result is
recorded in one transaction that ends it.

What the run reads of the store's past goes in with it (``history``: where the fleet's rollouts
stand, approvals and aborts, each Application's last Synced and Healthy revision, read by the
fan-out's change control, ``control``); where each rollout stands after it comes out on the
result (``RolloutResult.position``) and is written in the same transaction as the run's record
(``lease.finish``), so the next run continues from there.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from pathlib import Path

from fleet import gitsource, models, notify, redact, results, store
from fleet.driver import control
from fleet.driver import request as run_request
from fleet.store import model as store_model


def new_run_id(started: float | None = None) -> str:
    """A run's id: when it started (UTC, to the second) and a random suffix."""
    started = time.time() if started is None else started
    return f"{time.strftime('%Y%m%dT%H%M%S', time.gmtime(started))}-{uuid.uuid4().hex[:6]}"


def open_store(request: run_request.RunRequest) -> store.Store:
    """The status store the request names (``--store`` / ``FLEET_STORE``, else the SQLite file in
    the state directory); a bad URL is bad input naming ``--store``."""
    return store.open(request.store, state_dir=request.state_dir)


def fleet_key(request: run_request.RunRequest) -> str:
    """The fleet a run lock is taken on: a git fleet's normalised URL (without credentials), or
    a local fleet directory's absolute path as a file:// URL."""
    if run_request.is_local(request.fleet):
        return Path(request.fleet).resolve().as_uri()
    return gitsource.normalize_url(redact.safe_url(request.fleet))


def history(request: run_request.RunRequest, db: store.Store | None) -> control.History:
    """What a run of ``request`` reads of the status store's past (``db``; None: nothing)."""
    return control.History(fleet=fleet_key(request), db=db)


def run_scope(request: run_request.RunRequest, clusters: Sequence[models.Cluster]) -> store_model.Scope:
    """The run lock's scope: the fleet, and the names of the registered clusters that
    ``--selector`` selects (all of them without one). ``--app`` does not narrow it: a run
    narrowed to some Applications still holds their clusters."""
    selector = run_request.parse_selector(request)
    names = frozenset(c.name for c in clusters if selector is None or selector.matches(c.labels))
    return store_model.Scope(fleet=fleet_key(request), clusters=names)


def registration(
    request: run_request.RunRequest, clusters: Sequence[models.Cluster], *, run_id: str
) -> store_model.Registration:
    """What the status store holds of a run while it runs (and the run lock it asks for)."""
    return store_model.Registration(
        run_id=run_id,
        kind=request.kind,
        scope=run_scope(request, clusters),
        source=redact.safe_url(request.fleet),
        selector=request.selector or "",
    )


def notify_after(result: results.RunResult, request: run_request.RunRequest, *, db: store.Store) -> None:
    """After the run is recorded: notify as ``--notify-*`` asks (nothing without it). Never
    raises for a notification that fails, and never changes the result."""
    if request.notify is not None:
        notify.after_run(result, request.notify, db=db, resolver=request.resolver)


__all__ = ["fleet_key", "history", "new_run_id", "notify_after", "open_store", "registration", "run_scope"]
