"""CLI: ``fleet sim`` — run a simulated fleet and control it from another process.

``fleet sim up`` runs ``fleet.clusters.sim.SimServer`` in the foreground until SIGINT/SIGTERM
(saving state when ``--state-file`` is given). The other commands talk to a running simulator's
admin API (``/_sim/...``, see ``fleet.clusters.sim.admin``) at ``--url`` (or ``FLEET_SIM_URL``),
so a demo or a test can break a cluster in the middle of a sync.
"""

from __future__ import annotations

import json
import signal
import ssl
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlparse

import typer

from fleet import errors
from fleet.cli import common

sim_app = typer.Typer(
    help="Simulated Kubernetes clusters on loopback (one port, one path per cluster).", no_args_is_help=True
)

DEFAULT_PORT = 8443
DEFAULT_URL = f"https://127.0.0.1:{DEFAULT_PORT}"
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}

UrlOption = Annotated[
    str,
    typer.Option(
        "--url", envvar="FLEET_SIM_URL", help="Address of a running `fleet sim up` (its admin API)."
    ),
]


def parse_labels(text: str | None, *, field: str = "--labels") -> dict[str, str]:
    """``K=V,K2=V2`` as a dict."""
    out: dict[str, str] = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        key, eq, value = part.partition("=")
        if not eq or not key.strip():
            raise errors.InputError(f"{part.strip()!r} must look like KEY=VALUE", field=field)
        out[key.strip()] = value.strip()
    return out


def up(
    clusters: Annotated[
        int, typer.Option("--clusters", "-n", min=1, help="How many clusters (c001, c002, ...).")
    ] = 3,
    port: Annotated[int, typer.Option("--port", help="Port to listen on (0: any free port).")] = DEFAULT_PORT,
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on (keep it loopback).")
    ] = "127.0.0.1",
    kubeconfig: Annotated[
        Path, typer.Option("--kubeconfig", help="Write a kubeconfig (one context per cluster) here.")
    ] = Path("fleet-sim.kubeconfig"),
    cluster_secrets: Annotated[
        Path,
        typer.Option("--cluster-secrets", help="Write Argo CD cluster Secrets (YAML stream) here."),
    ] = Path("fleet-sim-clusters.yaml"),
    secrets_namespace: Annotated[
        str, typer.Option("--secrets-namespace", help="Namespace of the cluster Secrets.")
    ] = "argocd",
    labels: Annotated[
        str | None,
        typer.Option(
            "--labels", help="Extra labels for every cluster, K=V,K2=V2 (on top of env, region and tier)."
        ),
    ] = None,
    state_file: Annotated[
        Path | None, typer.Option("--state-file", help="Restore objects from this file and save them to it.")
    ] = None,
    rollout_seconds: Annotated[
        float, typer.Option("--rollout-seconds", min=0.0, help="Seconds until a simulated pod is ready.")
    ] = 0.5,
    bad_image_pattern: Annotated[
        str, typer.Option("--bad-image-pattern", help="Images matching this regex never become ready.")
    ] = r":bad$",
    tls: Annotated[
        bool,
        typer.Option(
            "--tls/--no-tls", help="HTTPS with a generated CA (kubectl sends tokens only over TLS)."
        ),
    ] = True,
    token: Annotated[
        bool, typer.Option("--token/--no-token", help="Require per-cluster bearer tokens.")
    ] = True,
    nodes: Annotated[int, typer.Option("--nodes", min=1, help="Simulated nodes per cluster.")] = 1,
    processes: Annotated[
        int,
        typer.Option(
            "--processes",
            min=1,
            help="Spread the clusters over this many processes, one port each (--port, --port+1, ...).",
        ),
    ] = 1,
) -> None:
    """Run simulated clusters in the foreground until Ctrl-C or SIGTERM."""
    import re

    from fleet.clusters.sim import SimServer

    extra = parse_labels(labels)
    if processes > 1:
        if state_file is not None:
            raise errors.InputError("is for one process; drop it or --processes", field="--state-file")
        try:
            re.compile(bad_image_pattern)
        except re.error as exc:
            raise errors.InputError(
                f"is not a valid regular expression: {exc}", field="--bad-image-pattern"
            ) from None
        _up_processes(
            clusters,
            processes=processes,
            port=port,
            host=host,
            labels=extra,
            kubeconfig=kubeconfig,
            cluster_secrets=cluster_secrets,
            secrets_namespace=secrets_namespace,
            rollout_seconds=rollout_seconds,
            bad_image_pattern=bad_image_pattern,
            token=token,
            tls=tls,
            nodes=nodes,
        )
        return
    try:
        re.compile(bad_image_pattern)
    except re.error as exc:
        raise errors.InputError(
            f"is not a valid regular expression: {exc}", field="--bad-image-pattern"
        ) from None
    server = SimServer(
        clusters,
        port=port,
        host=host,
        state_file=state_file,
        labels=lambda name: extra,
        rollout_seconds=rollout_seconds,
        bad_image_pattern=bad_image_pattern,
        token=token,
        tls=tls,
        nodes=nodes,
    )
    try:
        server.start()
    except OSError as exc:
        raise errors.InputError(f"cannot listen on {host}:{port}: {exc.strerror}", field="--port") from None
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        names = server.cluster_names()
        typer.echo(
            f"fleet sim: {len(names)} clusters at {server.url}/clusters/<name> ({names[0]} .. {names[-1]})"
        )
        typer.echo(f"admin API: {server.url}/_sim (fleet sim fault/counts --url {server.url})")
        typer.echo(f"kubeconfig: {server.write_kubeconfig(kubeconfig)}")
        typer.echo(
            f"cluster secrets: {server.write_cluster_secrets(cluster_secrets, namespace=secrets_namespace)}"
        )
        if state_file is not None:
            typer.echo(f"state file: {state_file}")
        typer.echo("ready; press Ctrl-C to stop", err=True)
        while not stop.wait(0.5):
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        server.stop()
    typer.echo("fleet sim: stopped" + (f", state saved to {state_file}" if state_file else ""), err=True)


def _wait_for_signal() -> None:
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        typer.echo("ready; press Ctrl-C to stop", err=True)
        while not stop.wait(0.5):
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _up_processes(
    clusters: int,
    *,
    processes: int,
    port: int,
    host: str,
    labels: dict[str, str],
    kubeconfig: Path,
    cluster_secrets: Path,
    secrets_namespace: str,
    rollout_seconds: float,
    bad_image_pattern: str,
    token: bool,
    tls: bool,
    nodes: int,
) -> None:
    """``fleet sim up --processes N``: the clusters spread over N processes (``SimFleet``)."""
    from fleet.clusters.sim import processes as sim_processes
    from fleet.clusters.sim import server as sim_server

    names = sim_server.default_names(clusters)
    fleet = sim_processes.SimFleet(
        names,
        processes=processes,
        port=port,
        host=host,
        labels=dict.fromkeys(names, labels),
        rollout_seconds=rollout_seconds,
        bad_image_pattern=bad_image_pattern,
        token=token,
        tls=tls,
        nodes=nodes,
    )
    try:
        fleet.start()
    except errors.FleetError as exc:
        raise errors.InputError(f"cannot start the simulator processes: {exc}", field="--port") from None
    try:
        typer.echo(
            f"fleet sim: {len(names)} clusters in {fleet.processes} processes ({names[0]} .. {names[-1]})"
        )
        for url, pid in zip(fleet.urls, fleet.pids(), strict=True):
            typer.echo(f"process {pid}: {url}/clusters/<name>, admin API {url}/_sim")
        typer.echo(f"kubeconfig: {fleet.write_kubeconfig(kubeconfig)}")
        typer.echo(
            f"cluster secrets: {fleet.write_cluster_secrets(cluster_secrets, namespace=secrets_namespace)}"
        )
        _wait_for_signal()
    finally:
        fleet.stop()
    typer.echo("fleet sim: stopped", err=True)


# -- talking to a running simulator ------------------------------------------------------------------


def _request(url: str, method: str, path: str, body: Any = None) -> Any:
    target = url.rstrip("/") + path
    parsed = urlparse(target)
    if parsed.scheme not in ("http", "https"):
        raise errors.InputError(f"{url!r} is not an http(s) URL", field="--url")
    context = None
    if parsed.scheme == "https" and parsed.hostname in _LOOPBACK:
        # The simulator's CA is generated per run; on loopback there is nobody to impersonate it.
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        target, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10, context=context) as response:
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        try:
            message = json.loads(exc.read()).get("error", exc.reason)
        except ValueError:
            message = exc.reason
        raise errors.InputError(f"the simulator refused: {message}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise errors.TemporaryError(f"no simulator answers at {url}: {reason}") from None


def fault(
    name: Annotated[str, typer.Argument(help="Cluster name, e.g. c007.")],
    latency: Annotated[
        float, typer.Option("--latency", min=0.0, help="Seconds added to every answer.")
    ] = 0.0,
    error_rate: Annotated[
        float, typer.Option("--error-rate", min=0.0, max=1.0, help="Share of 500 answers.")
    ] = 0.0,
    throttle_rate: Annotated[
        float,
        typer.Option("--throttle-rate", min=0.0, max=1.0, help="Share of 429 answers (Retry-After: 1)."),
    ] = 0.0,
    unreachable: Annotated[bool, typer.Option("--unreachable", help="Reset every connection.")] = False,
    hang: Annotated[bool, typer.Option("--hang", help="Never answer.")] = False,
    clear: Annotated[bool, typer.Option("--clear", help="Remove this cluster's faults.")] = False,
    url: UrlOption = DEFAULT_URL,
) -> None:
    """Break one cluster (or heal it with --clear) while the simulator runs."""
    if clear:
        _request(url, "DELETE", f"/_sim/faults/{name}")
        typer.echo(f"{name}: faults cleared")
        return
    result = _request(
        url,
        "PUT",
        f"/_sim/faults/{name}",
        {
            "latency": latency,
            "error_rate": error_rate,
            "throttle_rate": throttle_rate,
            "unreachable": unreachable,
            "hang": hang,
        },
    )
    active = {k: v for k, v in result["faults"].items() if v}
    typer.echo(f"{name}: " + (", ".join(f"{k}={v}" for k, v in active.items()) if active else "no faults"))


def counts(
    name: Annotated[str | None, typer.Argument(help="One cluster (default: all).")] = None,
    reset: Annotated[bool, typer.Option("--reset", help="Zero the counters after printing.")] = False,
    output: Annotated[common.ResultFormat, typer.Option("--output", "-o")] = common.ResultFormat.TABLE,
    url: UrlOption = DEFAULT_URL,
) -> None:
    """Requests each cluster received, by verb."""
    query = f"?cluster={name}" if name else ""
    data = _request(url, "GET", f"/_sim/counts{query}")
    per_cluster = {name: data} if name else data
    if output is common.ResultFormat.JSON:
        typer.echo(json.dumps(per_cluster, indent=2, sort_keys=True))
    else:
        verbs = sorted({v for c in per_cluster.values() for v in c["verbs"]})
        rows = [["CLUSTER", "TOTAL", *[v.upper() for v in verbs]]]
        for cname, c in per_cluster.items():
            rows.append([cname, str(c["total"]), *[str(c["verbs"].get(v, 0)) for v in verbs]])
        typer.echo(_table(rows))
    if reset:
        _request(url, "DELETE", f"/_sim/counts{query}")


def clusters(
    output: Annotated[common.ResultFormat, typer.Option("--output", "-o")] = common.ResultFormat.TABLE,
    url: UrlOption = DEFAULT_URL,
) -> None:
    """The simulated clusters, their labels and faults."""
    data = _request(url, "GET", "/_sim/clusters")
    if output is common.ResultFormat.JSON:
        typer.echo(json.dumps(data, indent=2, sort_keys=True))
        return
    rows = [["NAME", "URL", "LABELS", "FAULTS"]]
    for c in data:
        labels = ",".join(f"{k}={v}" for k, v in sorted(c["labels"].items()))
        active = ",".join(f"{k}={v}" for k, v in c["faults"].items() if v) or "-"
        rows.append([c["name"], c["url"], labels, active])
    typer.echo(_table(rows))


def add(
    name: Annotated[str, typer.Argument(help="New cluster name.")],
    labels: Annotated[str | None, typer.Option("--labels", help="K=V,K2=V2")] = None,
    url: UrlOption = DEFAULT_URL,
) -> None:
    """Add a cluster to a running simulator (write a new kubeconfig afterwards to reach it)."""
    result = _request(url, "POST", "/_sim/clusters", {"name": name, "labels": parse_labels(labels)})
    typer.echo(f"{result['name']}: added at {result['url']}")


def remove(
    name: Annotated[str, typer.Argument(help="Cluster name.")],
    url: UrlOption = DEFAULT_URL,
) -> None:
    """Remove a cluster (its URL then answers 404)."""
    _request(url, "DELETE", f"/_sim/clusters/{name}")
    typer.echo(f"{name}: removed")


def metric(
    name: Annotated[str, typer.Argument(help="Cluster name, e.g. c007.")],
    metric_name: Annotated[
        str, typer.Option("--metric", help="cpu, memory, or a custom/external metric name.")
    ],
    namespace: Annotated[
        str, typer.Option("--namespace", "-n", help="Namespace of the autoscalers.")
    ] = "default",
    target: Annotated[
        str,
        typer.Option(
            "--target",
            help="Kind/name the metric describes (the HPA's scale target); empty for external metrics.",
        ),
    ] = "",
    value: Annotated[
        str | None,
        typer.Option(
            "--value", help="Number or quantity (cpu: utilization percent for Utilization targets)."
        ),
    ] = None,
    unavailable: Annotated[
        bool, typer.Option("--unavailable", help="No metrics returned (as without metrics-server).")
    ] = False,
    url: UrlOption = DEFAULT_URL,
) -> None:
    """Set a simulated metric; the namespace's HorizontalPodAutoscalers act on it at once."""
    parsed: Any = None
    try:
        if (value is None) == (not unavailable):
            raise errors.InputError("give exactly one of --value and --unavailable", field="--value")
        if value is not None:
            try:
                parsed = float(value) if any(c in value for c in ".eE") else int(value)
            except ValueError:
                parsed = value  # a quantity such as 500m or 1Gi
        body = {"namespace": namespace, "metric": metric_name, "value": parsed, "target": target}
        _request(url, "PUT", f"/_sim/metrics/{name}", body)
    except errors.FleetError as exc:
        raise common.fail(exc) from None
    typer.echo(f"{name}: {namespace}/{target}/{metric_name} = {'unavailable' if parsed is None else parsed}")


def clock(
    advance: Annotated[
        str, typer.Option("--advance", help="How much simulated time passes now: 90s, 10m, 2h.")
    ],
    url: UrlOption = DEFAULT_URL,
) -> None:
    """Let simulated time pass at once (CronJob schedules, HPA windows, event expiry)."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    text = advance.strip()
    try:
        try:
            seconds = float(text[:-1]) * units[text[-1]] if text and text[-1] in units else float(text)
        except ValueError:
            raise errors.InputError(
                f"{advance!r} is not a duration like 90s, 10m or 2h", field="--advance"
            ) from None
        if seconds < 0:
            raise errors.InputError("the simulated clock only moves forward", field="--advance")
        result = _request(url, "POST", "/_sim/clock", {"advance": seconds})
    except errors.FleetError as exc:
        raise common.fail(exc) from None
    typer.echo(f"simulated clock: +{seconds:g}s (now {result['offset']:g}s ahead of the wall clock)")


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows
    )


for _name, _fn in (
    ("up", up),
    ("fault", fault),
    ("counts", counts),
    ("clusters", clusters),
    ("add", add),
    ("remove", remove),
    ("metric", metric),
    ("clock", clock),
):
    sim_app.command(_name)(_fn)


def register(app: typer.Typer) -> None:
    """Add ``fleet sim ...`` to the root app."""
    app.add_typer(sim_app, name="sim")
