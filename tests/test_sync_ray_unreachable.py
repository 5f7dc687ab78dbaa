"""A Ray cluster named by --ray-address or RAY_ADDRESS (or found by `auto` in a stale address file)
that does not answer fails the run clearly within a bounded time: exit 4, nothing written
(issue 8, item 3). So does an address where something answers that is not a Ray server. Runs the
real `fleet` command in a subprocess, so a hang is a failure too."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

FLEET = Path(sys.executable).parent / "fleet"
CONNECT_TIMEOUT = 2  # FLEET_RAY_CONNECT_TIMEOUT for these runs


def dead_address() -> str:
    """host:port where nothing listens (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture
def silent_address() -> Iterator[str]:
    """host:port that takes connections (the kernel's backlog) and never says a word."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield f"127.0.0.1:{sock.getsockname()[1]}"


def with_flag(address: str, _temp: Path) -> tuple[list[str], dict[str, str]]:
    return ["--ray-address", address], {}


def with_environment(address: str, _temp: Path) -> tuple[list[str], dict[str, str]]:
    return [], {"RAY_ADDRESS": address}


def with_stale_address_file(address: str, temp: Path) -> tuple[list[str], dict[str, str]]:
    # What a crashed `ray start` leaves behind in Ray's temp directory ($RAY_TMPDIR/ray); `auto` reads it.
    (temp / "ray").mkdir()
    (temp / "ray" / "ray_current_cluster").write_text(address)
    return ["--ray-address", "auto"], {"RAY_TMPDIR": str(temp)}


CASES = [
    pytest.param(with_flag, False, "connection refused", id="flag"),
    pytest.param(with_environment, False, "connection refused", id="environment"),
    pytest.param(with_stale_address_file, False, "connection refused", id="stale-address-file"),
    pytest.param(with_flag, True, "did not answer as a Ray (gRPC) server", id="something-else-listens"),
]


@pytest.mark.parametrize("how, silent, says", CASES)
def test_a_ray_cluster_that_does_not_answer_fails_the_run_with_exit_3(
    make_fleet, request, tmp_path, how, silent, says
) -> None:
    env = make_fleet("basic", clusters=1)
    temp = tmp_path / "ray-temp"
    temp.mkdir()
    address = request.getfixturevalue("silent_address") if silent else dead_address()
    flags, extra_env = how(address, temp)
    environment = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"} | extra_env
    environment["FLEET_RAY_CONNECT_TIMEOUT"] = str(CONNECT_TIMEOUT)
    started = time.monotonic()
    done = subprocess.run(
        [str(FLEET), "--log-format", "json", "sync", *env.args(*flags, executor="ray")],
        check=False,
        capture_output=True,
        text=True,
        env=environment,
        timeout=90,  # the old behaviour: Ray's connection loop retrying for minutes
    )
    elapsed = time.monotonic() - started
    assert done.returncode == 4, done.stderr[-2000:]
    assert "the Ray cluster at " in done.stderr and says in done.stderr
    assert address.rsplit(":", 1)[1] in done.stderr  # the port (Ray resolves 127.0.0.1 to the node's IP)
    assert elapsed < 60
    assert env.objects("c001", "web") == []  # nothing was written
