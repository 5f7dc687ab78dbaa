"""A real multi-node Ray cluster on this machine, for the tests that need more than one Ray node.

``RayCluster.start()`` runs ``ray start --head --block`` and then one ``ray start --address ...
--block`` per extra node, each in its own process group (``start_new_session``) with its own
``--temp-dir``, its own custom resources (``{"node-<name>": 1}`` always, plus what the test asks
for, such as ``{"region-eu": 1}``) and ports of its own: every port Ray would otherwise take from
its defaults (GCS, Ray Client server, node manager, object manager, dashboard and its agent,
runtime-env agent, metrics) is a free port, and the worker ports are a window of free ports in
20000-32767, below Linux's ephemeral range and away from Ray's default 10002-19999, so clusters
of parallel test processes (pytest-xdist) and other Ray clusters on the machine do not collide.

Stopping is by PID, never ``ray stop`` (which stops every Ray on the machine): SIGTERM to each
``ray start --block`` process (it stops its node's processes), then SIGKILL to whatever is left
in its process group. ``kill_raylet`` SIGKILLs one node's raylet, as a lost machine would.

The head reports failed nodes fast (health checks every 0.5 s, three misses), so a killed node is
seen as dead in about two seconds instead of Ray's default of about fifteen.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

RAY = Path(sys.executable).parent / "ray"
# The GCS marks a node dead after this many missed health checks of this period.
HEALTH_ENV = {
    # A raylet waits for its node's dashboard agent (a Python process importing Ray) before it
    # registers; on a machine shared by parallel test processes that can take longer than the
    # default allows.
    "RAY_agent_register_timeout_ms": "120000",
    "RAY_health_check_period_ms": "500",
    # A killed raylet refuses the check at once, so the timeout does not slow finding it dead; a
    # live raylet on a loaded machine may answer late and must not be taken for dead.
    "RAY_health_check_timeout_ms": "5000",
    "RAY_health_check_failure_threshold": "3",
    "RAY_health_check_initial_delay_ms": "500",
    # The head's Ray Client server starts a server process per client (a Python process importing
    # Ray) and gives it 30 s by default to answer; under parallel test processes that can be more.
    "RAY_CLIENT_SERVER_CHECK_CHANNEL_TIMEOUT_S": "120",
}
WORKER_PORTS = 48  # worker ports per node: more than the worker processes a test node starts
STARTUP = 120.0  # seconds a node may take to come up on a loaded machine
OBJECT_STORE = 80 * 1024 * 1024  # bytes of /dev/shm per node (Ray's minimum is 75 MiB)


# The alive nodes, as JSON, from the GCS at argv[1].
_LIST_NODES = """
import json, sys
from ray._raylet import GcsClient
infos = GcsClient(address=sys.argv[1]).get_all_node_info(timeout=10)
print(json.dumps([
    {"node_id": node_id.hex(), "resources": dict(info.resources_total)}
    for node_id, info in infos.items() if info.state == 0  # GcsNodeInfo.ALIVE
]))
"""


START_TRIES = 4


class NodeStartTimedOut(RuntimeError):
    """``ray start`` gave up waiting for its raylet to register (a loaded machine)."""


def free_ports(count: int, *, avoid: tuple[int, ...] = ()) -> list[int]:
    """``count`` distinct free ports, none in ``avoid``: all bound at once, so the kernel cannot
    hand the same port out twice (binding port 0 twice in a row can, and Ray refuses a port
    given to two of its components)."""
    sockets: list[socket.socket] = []
    try:
        while len(sockets) < count + len(avoid):
            sock = socket.socket()
            sockets.append(sock)
            sock.bind(("127.0.0.1", 0))
        ports = [int(sock.getsockname()[1]) for sock in sockets]
        return [port for port in ports if port not in avoid][:count]
    finally:
        for sock in sockets:
            sock.close()


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port_window(size: int) -> tuple[int, int]:
    """``size`` consecutive free ports in 20000-32767: Ray's worker port range for one node."""
    rng = random.Random()  # noqa: S311 - spreading ranges, not security
    for _ in range(200):
        low = rng.randrange(20000, 32768 - size)
        if all(_bindable(port) for port in range(low, low + size)):
            return low, low + size - 1
    raise RuntimeError(f"no window of {size} free ports in 20000-32767")


@dataclass
class RayNode:
    """One ``ray start --block`` process and the node it runs."""

    name: str
    resources: dict[str, float]
    temp_dir: Path
    process: subprocess.Popen[bytes]
    log: Path
    node_id: str = ""

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def raylet_pid(self) -> int:
        """The raylet of this node: the process in this node's group whose command is the raylet."""
        for proc in Path("/proc").glob("[0-9]*"):
            try:
                if os.getpgid(int(proc.name)) != self.pid:
                    continue
                argv0 = (proc / "cmdline").read_bytes().split(b"\0", 1)[0]
            except (OSError, ProcessLookupError):
                continue
            if argv0.endswith(b"/raylet"):
                return int(proc.name)
        raise AssertionError(f"no raylet found for Ray node {self.name}")

    def stop(self) -> None:
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=20)
        try:
            os.killpg(self.pid, signal.SIGKILL)  # whatever of its group is left (raylet, workers)
        except ProcessLookupError:
            pass


@dataclass
class RayCluster:
    """A Ray head and any number of extra nodes on this machine (see the module docstring)."""

    dashboard: bool = False
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="frc-", dir="/tmp")))
    nodes: dict[str, RayNode] = field(default_factory=dict)
    port: int = 0
    client_port: int = 0
    dashboard_port: int = 0
    # Ray's token authentication, on as Ray's default is, with a token of this cluster's own
    # rather than the one in ~/.ray/auth_token that every Ray on the machine shares.
    token: str = field(default_factory=lambda: os.urandom(32).hex())

    @property
    def address(self) -> str:
        """What ``--ray-address`` takes: the head's GCS, ``host:port``."""
        return f"127.0.0.1:{self.port}"

    @property
    def client_address(self) -> str:
        """The head's Ray Client server, as ``ray://host:port``."""
        return f"ray://127.0.0.1:{self.client_port}"

    @property
    def dashboard_url(self) -> str:
        """What ``ray job submit --address`` takes (the head's dashboard, when started with one)."""
        return f"http://127.0.0.1:{self.dashboard_port}"

    def _start(self, name: str, head_args: list[str], resources: dict[str, float], num_cpus: int) -> RayNode:
        # Short: Ray's unix socket paths live under the temp dir and must stay below 108 bytes.
        temp = self.root / name
        temp.mkdir()
        low, high = free_port_window(WORKER_PORTS)
        taken = (self.port, self.dashboard_port, self.client_port)
        ports = free_ports(7, avoid=taken)
        manager, objects, agent_http, agent_grpc, runtime_env, metrics, dashboard_metrics = ports
        resources = {f"node-{name}": 1.0, **resources}
        argv = [
            str(RAY), "start", "--block", "--disable-usage-stats",
            f"--temp-dir={temp}",
            "--node-ip-address=127.0.0.1",
            "--include-log-monitor=false",  # one process less to start; the tests read no worker logs
            f"--num-cpus={num_cpus}",
            f"--resources={json.dumps(resources)}",
            f"--object-store-memory={OBJECT_STORE}",
            f"--node-manager-port={manager}",
            f"--object-manager-port={objects}",
            f"--min-worker-port={low}",
            f"--max-worker-port={high}",
            f"--dashboard-agent-listen-port={agent_http}",
            f"--dashboard-agent-grpc-port={agent_grpc}",
            f"--runtime-env-agent-port={runtime_env}",
            f"--metrics-export-port={metrics}",
            *head_args,
        ]  # fmt: skip
        env = self.env()
        env.update(HEALTH_ENV)
        # This interpreter's scripts (fleet, ray) on the node's PATH, as an image that installs
        # fleet has them: a Ray Job's entrypoint (`fleet sync ...`) runs in the head's environment.
        env["PATH"] = f"{RAY.parent}{os.pathsep}{env.get('PATH', '')}"
        if self.dashboard:
            # The dashboard's own metrics server listens on a fixed port (44227) unless told.
            env["DASHBOARD_METRIC_PORT"] = str(dashboard_metrics)
        log = temp / "ray-start.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                argv, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )  # fmt: skip
        node = RayNode(name=name, resources=resources, temp_dir=temp, process=process, log=log)
        self.nodes[name] = node
        return node

    def start(self, *, num_cpus: int = 1, resources: dict[str, float] | None = None) -> RayCluster:
        """Start the head (named ``head``) and wait until it answers."""
        self.port, self.dashboard_port, self.client_port = free_ports(3)
        # With ray[client] installed (the test extra has it), `ray start --head` also starts a Ray
        # Client server, on 10001 unless told: a port of its own, as every other port here.
        head_args = ["--head", f"--port={self.port}", f"--ray-client-server-port={self.client_port}"]
        if self.dashboard:
            head_args += [
                "--include-dashboard=true",
                "--dashboard-host=127.0.0.1",
                f"--dashboard-port={self.dashboard_port}",
            ]
        else:
            # Ray still starts a minimal dashboard process; give it a free port too.
            head_args += ["--include-dashboard=false", f"--dashboard-port={self.dashboard_port}"]
        self._start_and_wait("head", head_args, resources or {}, num_cpus)
        return self

    def add_node(self, name: str, *, resources: dict[str, float] | None = None, num_cpus: int = 1) -> RayNode:
        """Start one more node joining the head, and wait until the cluster lists it alive."""
        return self._start_and_wait(name, [f"--address={self.address}"], resources or {}, num_cpus)

    def _start_and_wait(
        self, name: str, args: list[str], resources: dict[str, float], num_cpus: int
    ) -> RayNode:
        """Start a node and wait for it; started again (up to ``START_TRIES`` times) when Ray gives
        up on it: ``ray start`` allows a raylet 30 s to register, which a machine shared by several
        test processes does not always give it."""
        for attempt in range(1, START_TRIES + 1):
            node = self._start(name, args, resources, num_cpus)
            try:
                self._wait_for_node(node)
                return node
            except NodeStartTimedOut:
                self.nodes.pop(name).stop()
                shutil.rmtree(node.temp_dir, ignore_errors=True)
                if attempt == START_TRIES:
                    raise
        raise AssertionError("unreachable")

    def _wait_for_node(self, node: RayNode) -> None:
        """Wait until the cluster lists the node alive, by its own ``node-<name>`` resource, and
        learn its node id (as ``ray.get_runtime_context().get_node_id()`` reports it)."""
        deadline = time.monotonic() + STARTUP
        while time.monotonic() < deadline:
            if not node.alive():
                log = node.log.read_text(errors="replace")
                error = NodeStartTimedOut if "timed out during startup" in log else RuntimeError
                raise error(f"Ray node {node.name} exited: {log[-3000:]}")
            found = {n["resources"].get(f"node-{node.name}"): n["node_id"] for n in self.alive_nodes()}
            if found.get(1.0):
                node.node_id = found[1.0]
                return
            time.sleep(0.3)
        raise RuntimeError(
            f"Ray node {node.name} did not join in {STARTUP:g}s: {node.log.read_text(errors='replace')[-3000:]}"
        )

    def alive_nodes(self) -> list[dict[str, Any]]:
        """The nodes the head's GCS lists alive: node id and total resources. Asked through Ray's
        GCS client (a private API, for tests only) in a subprocess with the cluster's token: the
        test process itself never joins the cluster, and the public state API needs the dashboard."""
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=2).close()
        except OSError:
            return []  # the GCS is not listening yet (the client would wait for it for 30 s)
        proc = subprocess.run(
            [sys.executable, "-c", _LIST_NODES, self.address],
            env=self.env(), capture_output=True, text=True, check=False, timeout=60,
        )  # fmt: skip
        if proc.returncode != 0:
            return []
        return list(json.loads(proc.stdout))

    def env(self) -> dict[str, str]:
        """An environment for a process that joins this cluster (a fleet driver): its token, and
        no RAY_ADDRESS of the test's own."""
        env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
        env.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=self.token)
        return env

    def remove_node(self, name: str) -> None:
        """Stop a node a test added (by its PID) and forget it."""
        self.nodes.pop(name).stop()

    def kill_raylet(self, name: str) -> int:
        """SIGKILL the raylet of node ``name`` (its workers then exit, as on a lost machine)."""
        pid = self.nodes[name].raylet_pid()
        os.kill(pid, signal.SIGKILL)
        return pid

    def stop(self) -> None:
        """Stop every node by its PID, the extra nodes first, then any process still running from
        this cluster's temp dir (a worker starting as its raylet died runs in a process group of
        its own), then delete the temp dirs."""
        for name in [n for n in self.nodes if n != "head"] + (["head"] if "head" in self.nodes else []):
            self.nodes[name].stop()
        for pid in self.leftover_pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        shutil.rmtree(self.root, ignore_errors=True)

    def leftover_pids(self) -> list[int]:
        """Processes whose command line names this cluster's own temp dir (unique to it)."""
        marker = str(self.root).encode()
        found = []
        for proc in Path("/proc").glob("[0-9]*"):
            try:
                if marker in (proc / "cmdline").read_bytes():
                    found.append(int(proc.name))
            except OSError:
                continue
        return [pid for pid in found if pid != os.getpid()]
