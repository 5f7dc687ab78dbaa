"""A real Prometheus server for tests (Debian's ``prometheus`` package; the Makefile installs it):
started on a free port with a temporary configuration that scrapes a tiny test target every
second, whose one gauge the test sets. Stopped by its PID; nothing shared with other tests."""

from __future__ import annotations

import http.server
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import requests


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Target:
    """An HTTP ``/metrics`` endpoint with one gauge, ``fleet_test_gate``, that the test sets."""

    def __init__(self) -> None:
        self.value = 0.0
        target = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                body = f"# TYPE fleet_test_gate gauge\nfleet_test_gate {target.value}\n".encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class PrometheusServer:
    """``extra_targets`` (``host:port``) are scraped too, as job ``extra``, at ``/metrics``."""

    def __init__(self, workdir: Path, extra_targets: tuple[str, ...] = ()) -> None:
        binary = shutil.which("prometheus")
        if binary is None:
            raise RuntimeError(
                "prometheus is not installed (make install installs Debian's prometheus package)"
            )
        self.target = Target()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = workdir / "prometheus.yml"
        config.write_text(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
            "scrape_configs:\n  - job_name: gate\n    static_configs:\n"
            f"      - targets: ['127.0.0.1:{self.target.port}']\n"
        )
        if extra_targets:
            listed = ", ".join(f"'{target}'" for target in extra_targets)
            with config.open("a") as out:
                out.write(f"  - job_name: extra\n    static_configs:\n      - targets: [{listed}]\n")
        self.log = (workdir / "prometheus.log").open("wb")
        self.process = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self._wait(lambda: requests.get(self.url + "/-/ready", timeout=1).status_code == 200, "ready")

    def _wait(self, check: Any, what: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"prometheus exited with {self.process.returncode}")
            try:
                if check():
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)  # polling a server coming up: waits for an event, bounded by the deadline
        raise TimeoutError(f"prometheus not {what} within {timeout:g}s")

    def wait_for(self, expression: str, timeout: float = 60.0) -> list[Any]:
        """Wait until ``expression`` has a result (Prometheus scrapes every second) and return it."""
        self._wait(lambda: self.query(expression) != [], f"answering {expression}", timeout)
        return self.query(expression)

    def query(self, expression: str) -> list[Any]:
        body = requests.get(self.url + "/api/v1/query", params={"query": expression}, timeout=5).json()
        return list(body["data"]["result"])

    def set_gauge(self, value: float) -> None:
        """Set the target's gauge and wait until Prometheus has scraped the new value."""
        self.target.value = value
        self._wait(lambda: self.query(f"fleet_test_gate == {value}") != [], f"scraping {value}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()
        self.target.stop()
