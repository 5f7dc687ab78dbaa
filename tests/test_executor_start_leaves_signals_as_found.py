"""An executor started in the background (``executor.Starting``, issue 15) sets SIGTERM's handler
only for its own life, and only where SIGTERM had its default action: a process that runs the
driver as a library (the test suite, ``fleet sync --every``, ``fleet serve``) gets its handler back
as it was, and a handler someone else set is never replaced. Every path ends the start's thread:
a start that succeeded, and one that failed.

The executor made is fleet's local one (no Ray: the signal handling does not depend on it); the
Ray cases are in tests/test_sync_starts_ray_while_planning.py.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from fleet import errors, executor


def someone_elses_handler(_signum: int, _frame: Any) -> None:
    raise AssertionError("never called: the test sends no signal")


@pytest.fixture
def sigterm_restored() -> Iterator[None]:
    before = signal.getsignal(signal.SIGTERM)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, before)


def start_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "fleet-executor-start"]


HANDLERS = [
    pytest.param(signal.SIG_DFL, True, id="default-action-is-set-for-the-start-then-restored"),
    pytest.param(signal.SIG_IGN, False, id="an-ignored-sigterm-is-left-ignored"),
    pytest.param(someone_elses_handler, False, id="someone-elses-handler-is-never-replaced"),
]


@pytest.mark.parametrize("found, replaced", HANDLERS)
def test_the_sigterm_handler_is_as_found_once_the_start_is_closed(
    found: Any, replaced: bool, sigterm_restored: None
) -> None:
    signal.signal(signal.SIGTERM, found)
    start = executor.Starting(lambda: executor.LocalExecutor(max_workers=1))
    during = signal.getsignal(signal.SIGTERM)
    start.get()
    start.close()
    assert (during is not found) is replaced
    assert signal.getsignal(signal.SIGTERM) is found
    assert start_threads() == []


def test_a_start_made_off_the_main_thread_sets_no_handler(sigterm_restored: None) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    seen: dict[str, Any] = {}

    def run_elsewhere() -> None:
        start = executor.Starting(lambda: executor.LocalExecutor(max_workers=1))
        seen["during"] = signal.getsignal(signal.SIGTERM)
        start.close()

    elsewhere = threading.Thread(target=run_elsewhere)
    elsewhere.start()
    elsewhere.join()
    assert seen == {"during": signal.SIG_DFL}
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    assert start_threads() == []


def test_a_failed_start_raises_at_get_and_close_still_ends_its_thread(sigterm_restored: None) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)

    def unreachable() -> executor.Executor:
        raise errors.ExecutorUnavailable("cannot join the Ray cluster at ray://nowhere:10001")

    start = executor.Starting(unreachable)
    with pytest.raises(errors.ExecutorUnavailable, match="nowhere"):
        start.get()
    start.close()
    start.close()  # a second close (a run's clean-up after an interrupted one) changes nothing
    assert start_threads() == []
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
