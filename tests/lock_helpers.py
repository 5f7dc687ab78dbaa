"""Helpers for the run lock tests with real ``fleet sync`` processes.

The fleet is ``tests/data/sync/gated``: every cluster gets a Gate, a custom resource whose Lua
health check keeps it Progressing while it sits in namespace ``held`` and its ``status.open`` is
not true. A sync of a cluster labelled ``gate=held`` therefore holds its run lock until the test
opens the gate (``open_gate``), as a slow rollout would; a cluster labelled ``gate=open`` syncs at
once. The test knows a sync is holding when the store shows it running and it has polled the
gate (``holding``): events, never a guessed delay.

``FleetProcess`` is ``python -m fleet ...`` as a subprocess, its stdout and stderr (JSON log lines)
read on threads (never also by ``communicate``, which would take lines from under them), so a
test can wait for a line.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fleet import errors, results, store
from fleet.clusters import client
from fleet.store import model

REPO_ROOT = Path(__file__).resolve().parent.parent
GATES = ("example.com/v1", "Gate", "held", "main")
LABELS = {"c001": {"gate": "held"}, "c002": {"gate": "open"}}  # c001 holds a sync until opened


def wait_for(what: str, condition: Callable[[], Any], timeout: float = 120.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


class FleetProcess:
    """``python -m fleet --log-format json COMMAND ...`` in a subprocess."""

    def __init__(self, *argv: str) -> None:
        self.argv = argv
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "fleet", "--log-format", "json", *argv],
            cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        self.pid = self.proc.pid
        self.lines: list[str] = []
        self.out: list[str] = []
        self._seen = threading.Condition()
        self._readers = [
            threading.Thread(target=self._read_stderr, daemon=True),
            threading.Thread(target=self._read_stdout, daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            with self._seen:
                self.lines.append(line)
                self._seen.notify_all()

    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        self.out.append(self.proc.stdout.read())

    @property
    def stderr(self) -> str:
        with self._seen:
            return "".join(self.lines)

    def wait_for_line(self, needle: str, timeout: float = 120.0) -> str:
        with self._seen:
            found = self._seen.wait_for(
                lambda: any(needle in line for line in self.lines) or self.proc.poll() is not None, timeout
            )
            matching = [line for line in self.lines if needle in line]
        if not found or not matching:
            raise AssertionError(f"{self.argv[0]} never logged {needle!r}: {self.stderr[-3000:]}")
        return matching[0]

    def finish(self, timeout: float = 300.0) -> tuple[int, str, str]:
        """Wait for the exit; (exit code, stdout, stderr)."""
        self.proc.wait(timeout=timeout)
        for reader in self._readers:
            reader.join(30)
        return self.proc.returncode, "".join(self.out), self.stderr

    def running(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        if self.running():
            self.proc.kill()
            self.proc.wait(30)


def sync(env: Any, *flags: str) -> FleetProcess:
    """``fleet sync`` of the gated fleet (the local executor), waiting up to 5 minutes on gates."""
    return FleetProcess("sync", *env.args(), "--health-timeout", "300", "-o", "json", *flags)


def running_syncs(env: Any) -> list[model.RunRecord]:
    try:
        records = store.open(env.store).run_records(states={results.RunState.RUNNING})
    except errors.InputError:  # the first run has not created the store yet
        return []
    return [r for r in records if r.kind is results.RunKind.SYNC]


def holding(env: Any, process: FleetProcess, cluster: str = "c001") -> model.RunRecord:
    """Wait until ``process`` is registered as running and is waiting on ``cluster``'s gate."""

    def found() -> model.RunRecord | None:
        if not process.running():
            raise AssertionError(f"the sync ended early: {process.stderr[-3000:]}")
        mine = [r for r in running_syncs(env) if r.pid == process.pid]
        gets = env.sim.request_counts(cluster)["resources"].get("gates", {}).get("get", 0)
        return mine[0] if mine and gets >= 2 else None

    return wait_for(f"the sync to hold the run lock and wait on {cluster}'s gate", found)


def open_gate(env: Any, cluster: str = "c001") -> None:
    api = client.connect(next(c for c in env.sim.clusters() if c.name == cluster))
    api_version, kind, namespace, name = GATES
    api.patch(api_version, kind, name, {"status": {"open": True}}, namespace=namespace, subresource="status")
