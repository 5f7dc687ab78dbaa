"""Errors and exit codes shared by every part of fleet.

Each error says whether retrying can help (``retryable`` / ``retry_after``), chains its cause with
``raise ... from exc`` at the raise site, and never carries a secret value: messages name the
file, object, field or reference, not what a secret resolves to.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes of the ``fleet`` CLI (documented in the README)."""

    OK = 0  # everything asked for succeeded (sync: every Application Synced and Healthy)
    FAILED = 1  # the command ran, but something is not right (an error, OutOfSync, Degraded, ...)
    BAD_INPUT = 2  # the input was invalid (bad file, flag, manifest); nothing was changed
    LOCKED = 3  # another sync holds the run lock of the selected clusters; nothing was changed
    UNAVAILABLE = 4  # a service the whole run needs did not answer (the Ray cluster); nothing was changed
    INTERRUPTED = 130  # stopped by SIGINT


class FleetError(Exception):
    """Base of every error fleet raises on purpose.

    ``exit_code`` tells the CLI how to end; ``retryable`` tells callers whether the same call may
    succeed later (``retry_after`` seconds, when known).
    """

    exit_code: ExitCode = ExitCode.FAILED
    retryable: bool = False

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after
        if retry_after is not None:
            self.retryable = True

    def __str__(self) -> str:
        return self.message


class InputError(FleetError):
    """The user's input is invalid: a file, manifest, flag or field. Fix the input; do not retry."""

    exit_code = ExitCode.BAD_INPUT

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        obj: str | None = None,
        field: str | None = None,
    ) -> None:
        where = [part for part in (file, obj, f"field {field}" if field else None) if part]
        full = f"{': '.join(where)}: {message}" if where else message
        super().__init__(full)
        self.file = file
        self.obj = obj
        self.field = field


class TemporaryError(FleetError):
    """A dependency failed in a way that may pass (timeouts, 429, 5xx, connection refused)."""

    retryable = True


class PermanentError(FleetError):
    """A dependency refused in a way that retrying will not change (403, 404, bad credentials)."""


class RunAbandoned(BaseException):
    """A second stop signal (SIGINT/SIGTERM) arrived during a run in long-running mode: the run
    is given up at once.

    A ``BaseException``, like ``KeyboardInterrupt``: it is raised from the signal handler wherever
    the run happens to be, and no ``except Exception`` on the way (a notification that must never
    break the run, a cluster's isolation) may swallow it. It lives here, below every layer, so that
    code which must let it pass needs no import of the loop that raises it.
    """


class RunLocked(FleetError):
    """Another run holds the run lock on some of the clusters this run selected, and it was not
    released within ``--lock-wait``. Nothing was changed; the same run may pass once the holder
    finishes (or its lease expires)."""

    exit_code = ExitCode.LOCKED
    retryable = True


class ExecutorUnavailable(TemporaryError):
    """The executor the run asked for cannot start: the Ray cluster named by ``--ray-address`` or
    ``RAY_ADDRESS`` does not answer. Nothing touched a cluster yet; retrying later may help."""

    exit_code = ExitCode.UNAVAILABLE
