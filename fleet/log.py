"""Logging and progress for every fleet command.

On a terminal, fleet shows rich progress bars and readable log lines. In CI (``CI`` set, or no
TTY) or with ``--log-format json``, it writes one JSON object per line to stderr instead, so a
scheduled job leaves a log that machines can read. Every line passes through ``fleet.redact``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import time
from collections.abc import Iterator
from enum import StrEnum
from typing import Any

from fleet import redact


class LogFormat(StrEnum):
    AUTO = "auto"  # rich on an interactive terminal, json otherwise
    RICH = "rich"  # human-readable, with progress bars
    JSON = "json"  # one JSON object per line on stderr
    TEXT = "text"  # plain lines, no colour, no progress bars


_format: LogFormat = LogFormat.AUTO
LOGGER_NAME = "fleet"


def resolved_format(fmt: LogFormat | None = None) -> LogFormat:
    fmt = fmt or _format
    if fmt is not LogFormat.AUTO:
        return fmt
    if os.environ.get("CI") or not sys.stderr.isatty():
        return LogFormat.JSON
    return LogFormat.RICH


class RedactingFilter(logging.Filter):
    """Masks registered secret values in the message and in every extra field."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact.mask(record.getMessage())
        record.args = None
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            record.fields = {k: _mask_value(v) for k, v in fields.items()}
        return True


def _mask_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact.mask(value)
    if isinstance(value, dict):
        return {k: _mask_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask_value(v) for v in value]
    return value


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line.update(fields)
        if record.exc_info and record.exc_info[1] is not None:
            line["error"] = redact.mask(f"{type(record.exc_info[1]).__name__}: {record.exc_info[1]}")
        return json.dumps(line, default=str)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields = getattr(record, "fields", None)
        extra = ""
        if isinstance(fields, dict) and fields:
            extra = " " + " ".join(f"{k}={v}" for k, v in fields.items())
        return f"{record.levelname.lower():7s} {record.getMessage()}{extra}"


def configure(fmt: LogFormat | str = LogFormat.AUTO, *, verbose: bool = False) -> LogFormat:
    """Set up the ``fleet`` logger once per process; returns the format actually used."""
    global _format
    _format = LogFormat(fmt)
    actual = resolved_format()
    logger = logging.getLogger(LOGGER_NAME)
    logger.handlers.clear()
    logger.propagate = False
    logger.setLevel(logging.DEBUG if verbose else logging.INFO)
    handler: logging.Handler
    if actual is LogFormat.RICH:
        from rich.logging import RichHandler

        handler = RichHandler(console=stderr_console(), show_path=False, markup=False)
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter() if actual is LogFormat.JSON else TextFormatter())
    handler.addFilter(RedactingFilter())
    logger.addHandler(handler)
    return actual


def get_logger(name: str) -> logging.Logger:
    """A child of the ``fleet`` logger. Log structured data with ``extra={"fields": {...}}``."""
    if not name.startswith(LOGGER_NAME):
        name = f"{LOGGER_NAME}.{name}"
    return logging.getLogger(name)


def stderr_console() -> Any:
    from rich.console import Console

    return Console(stderr=True)


class Progress:
    """Progress of a long operation: a rich bar on a terminal, log lines otherwise."""

    def __init__(self, description: str, total: int, *, fmt: LogFormat | None = None) -> None:
        self.description = description
        self.total = total
        self.done = 0
        self._fmt = resolved_format(fmt)
        self._log = get_logger("progress")
        self._rich: Any = None
        self._task: Any = None
        self._last_logged = 0.0

    def __enter__(self) -> Progress:
        if self._fmt is LogFormat.RICH:
            from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
            from rich.progress import Progress as RichProgress

            self._rich = RichProgress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=stderr_console(),
                transient=True,
            )
            self._rich.__enter__()
            self._task = self._rich.add_task(self.description, total=self.total)
        else:
            self._log.info(
                f"{self.description}: started",
                extra={"fields": {"event": "progress", "done": 0, "total": self.total}},
            )
        return self

    def advance(self, step: int = 1, *, item: str | None = None, status: str | None = None) -> None:
        self.done += step
        if self._rich is not None:
            self._rich.update(self._task, advance=step)
            return
        fields: dict[str, Any] = {"event": "progress", "done": self.done, "total": self.total}
        if item:
            fields["item"] = item
        if status:
            fields["status"] = status
        self._log.info(f"{self.description}: {self.done}/{self.total}", extra={"fields": fields})

    def __exit__(self, *exc: object) -> None:
        if self._rich is not None:
            self._rich.__exit__(*exc)
        else:
            self._log.info(
                f"{self.description}: finished",
                extra={"fields": {"event": "progress", "done": self.done, "total": self.total}},
            )


@contextlib.contextmanager
def progress(description: str, total: int, *, fmt: LogFormat | None = None) -> Iterator[Progress]:
    with Progress(description, total, fmt=fmt) as bar:
        yield bar
