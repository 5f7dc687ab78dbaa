"""Benchmark: scale toward the physical limit (issue 15). A fleet of CLUSTERS x 10 Applications x 5
objects (bench_sync's fleet) against a simulator spread over several processes
(``clusters.sim.processes.SimFleet``), synced from this process on the default executor (``auto``:
Ray from 100 clusters on), at a reference size (200 clusters) and at CLUSTERS, in the same run:

- first sync and no-op resync complete, wall time per cluster at CLUSTERS against the reference;
- peak RSS of this process (the driver; with ``--executor local`` the workers too, so the driver's
  own peak is at most that), of each Ray worker and of each simulator process, read from /proc
  (VmHWM);
- no-op resync bytes: the LIST and GET bytes of the metadata-only resync of a process that ran the
  fleet before, against the same resync with every LIST in full JSON (what a process that never
  ran the fleet sends, and what fleet sent before the metadata path), both counted at the
  simulator, with the requests by verb and answer form (object/metadata, json/protobuf);
- the same no-op bytes on a realistic fleet (``--scenario realistic``, 20 clusters by default):
  Deployments of two containers with probes, resources, env and volumes, whose status the
  simulated controllers write, Services, ConfigMaps holding a config file, ServiceAccounts;
- by hand (``--scenario big-cluster``): one cluster of 100 realistic Applications, whose LIST
  answers pass the 128 KiB over which the API server gzips an answer for a client that accepts it;
- a breakdown of one cluster's no-op bytes per kind and per field (managedFields by manager,
  fleet's own annotations and label, other metadata, spec/data, status), in JSON and protobuf.
- how long each simulator process takes to answer a trivial request (``/_sim/healthz``, asked every
  half second by a probe thread, not counted as a cluster request) during each phase: when fleet's
  requests time out while the probe's answers stay fast, the wait is fleet's; when the probe waits
  as long, the simulator's event loop is what is behind (issue 15).

Run: ``.venv/bin/python benchmarks/bench_scale.py [CLUSTERS] [--processes N] [--reference 200]
[--scenario small|realistic|both|big-cluster] [--realistic-clusters 20] [--big-apps 100]``
(default 1000 clusters, 2 simulator processes, both scenarios; the 1,000-cluster run takes about
10 minutes on 2 cores, is not part of ``make test``, and wants ``--processes 4``: with 2 processes
of 500 clusters each, the simulator's event loops were most likely what fell behind by more than
fleet's 30 s request timeout at a load of 20 to 38, while with 4 their slowest answer was 3.6 s).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import ssl
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_sync  # noqa: E402 - the same fleet as the sync benchmark
import record  # noqa: E402
import yaml  # noqa: E402

from fleet import driver, executor, inventory  # noqa: E402
from fleet.clusters.sim import processes  # noqa: E402
from fleet.clusters.sim import protobuf as sim_protobuf  # noqa: E402
from fleet.reconcile import livecache  # noqa: E402

ROLLOUT = 0.05
CLUSTER_TIMEOUT = 1800.0  # per cluster, from dispatch: generous, since a loaded 2-core machine is slow


def peak_rss_mib(pid: int | None = None) -> float:
    """Peak resident memory of a process (this one by default) in MiB."""
    if pid is None:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def worker_rss(ex: Any) -> list[float]:
    """Peak RSS of each Ray worker (none on the local executor)."""
    actor_pids = getattr(ex, "actor_pids", None)
    return [round(peak_rss_mib(pid), 1) for pid in actor_pids()] if actor_pids else []


class AnswerProbe:
    """Asks every simulator process for ``/_sim/healthz`` every half second from a thread of its
    own and keeps the slowest answer per phase: the simulator's own delay, apart from fleet's."""

    def __init__(self, sim: processes.SimFleet) -> None:
        self.urls = [f"{url}/_sim/healthz" for url in sim.urls]
        self.context = ssl.create_default_context(cadata=sim.ca_pem) if sim.ca_pem else None
        self.slowest = 0.0
        self.answers = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._ask, args=(url,), daemon=True) for url in self.urls]

    def _ask(self, url: str) -> None:
        while not self._stop.wait(0.5):
            began = time.perf_counter()
            try:
                with urllib.request.urlopen(url, timeout=600, context=self.context) as answer:
                    answer.read()
            except OSError:
                continue
            with self._lock:
                self.slowest = max(self.slowest, time.perf_counter() - began)
                self.answers += 1

    def start(self) -> AnswerProbe:
        for thread in self._threads:
            thread.start()
        return self

    def take(self) -> float:
        """The slowest answer since the last take (seconds)."""
        with self._lock:
            slowest, self.slowest = self.slowest, 0.0
        return slowest

    def stop(self) -> None:
        self._stop.set()


def totals(sim: processes.SimFleet, key: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for counts in sim.request_counts().values():
        for verb, n in counts[key].items():
            out[verb] = out.get(verb, 0) + n
    return out


# -- the realistic fleet ------------------------------------------------------------------------

APP_CONFIG = """\
server:
  port: 8080
  shutdownGracePeriod: 20s
  accessLog: {enabled: true, format: json}
database:
  host: postgres.{app}.svc.cluster.local
  port: 5432
  name: {app}
  pool: {min: 2, max: 20, idleTimeout: 5m}
cache:
  redis: redis://redis.{app}.svc.cluster.local:6379/0
  ttl: 10m
features:
  newCheckout: false
  searchV2: true
  recommendations: {enabled: true, model: v7, fallback: popular}
logging:
  level: info
  fields: [trace_id, span_id, user_id, request_id]
tracing:
  endpoint: http://otel-collector.observability:4317
  sampleRate: 0.05
rateLimits:
  - {path: /api/search, perMinute: 600}
  - {path: /api/orders, perMinute: 120}
  - {path: /api/login, perMinute: 30}
"""


def realistic_objects(app: str) -> list[dict[str, Any]]:
    """One Application as a typical chart renders it: a Deployment of an app and a sidecar
    container (ports, env, resources, probes, volumes, security context), its Service, a
    ConfigMap holding its config file and one of environment values, its ServiceAccount."""
    labels = {
        "app.kubernetes.io/name": app,
        "app.kubernetes.io/instance": f"{app}-prod",
        "app.kubernetes.io/version": "2.14.3",
        "app.kubernetes.io/component": "api",
        "app.kubernetes.io/part-of": "shop",
    }
    selector = {k: labels[k] for k in ("app.kubernetes.io/name", "app.kubernetes.io/instance")}
    probe = {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 10, "timeoutSeconds": 2}
    env = [
        {"name": k, "value": v}
        for k, v in (("APP_ENV", "production"), ("LOG_FORMAT", "json"), ("GOMAXPROCS", "2"))
    ]
    env += [
        {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": f"{app}-db", "key": "password"}}},
        {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
    ]
    container = {
        "name": app,
        "image": f"registry.example.com/shop/{app}:2.14.3",
        "ports": [{"name": "http", "containerPort": 8080}, {"name": "metrics", "containerPort": 9090}],
        "env": env,
        "envFrom": [{"configMapRef": {"name": f"{app}-env"}}],
        "resources": {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"memory": "512Mi"}},
        "livenessProbe": {**probe, "initialDelaySeconds": 10},
        "readinessProbe": probe,
        "volumeMounts": [
            {"name": "config", "mountPath": "/etc/app", "readOnly": True},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
        "securityContext": {
            "runAsNonRoot": True,
            "readOnlyRootFilesystem": True,
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
        },
    }
    sidecar = {
        "name": "envoy",
        "image": "envoyproxy/envoy:v1.31.2",
        "args": ["--config-path", "/etc/envoy/envoy.yaml", "--log-level", "warn"],
        "ports": [{"name": "proxy", "containerPort": 15001}],
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "128Mi"}},
    }
    return [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": app, "labels": labels},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": selector},
                "strategy": {
                    "type": "RollingUpdate",
                    "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0},
                },
                "template": {
                    "metadata": {
                        "labels": labels,
                        "annotations": {"prometheus.io/scrape": "true", "prometheus.io/port": "9090"},
                    },
                    "spec": {
                        "serviceAccountName": app,
                        "securityContext": {"fsGroup": 2000, "seccompProfile": {"type": "RuntimeDefault"}},
                        "containers": [container, sidecar],
                        "volumes": [
                            {"name": "config", "configMap": {"name": f"{app}-config"}},
                            {"name": "tmp", "emptyDir": {}},
                        ],
                        "topologySpreadConstraints": [
                            {
                                "maxSkew": 1,
                                "topologyKey": "topology.kubernetes.io/zone",
                                "whenUnsatisfiable": "ScheduleAnyway",
                                "labelSelector": {"matchLabels": selector},
                            }
                        ],
                    },
                },
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": app, "labels": labels},
            "spec": {
                "selector": selector,
                "ports": [
                    {"name": "http", "port": 80, "targetPort": "http"},
                    {"name": "metrics", "port": 9090, "targetPort": "metrics"},
                ],
            },
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": f"{app}-config", "labels": labels},
            "data": {"application.yaml": APP_CONFIG.replace("{app}", app)},
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": f"{app}-env", "labels": labels},
            "data": {
                "REGION": "eu-west-1",
                "TZ": "UTC",
                "HTTP_TIMEOUT": "15s",
                "RETRY_MAX": "3",
                "CACHE_SIZE": "512",
                "QUEUE_URL": f"amqp://rabbitmq.{app}.svc:5672/{app}",
                "FEATURE_FLAGS_URL": "http://flags.platform.svc/v1",
                "OTEL_SERVICE_NAME": app,
            },
        },
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": app, "labels": labels}},
    ]


def write_realistic_fleet(root: Path, apps: int = bench_sync.APPS) -> None:
    """bench_sync's ApplicationSet (``apps`` Applications on every cluster), over realistic objects."""
    names = [f"app{i:02d}" for i in range(apps)]
    appset = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": {"name": "bench"},
        "spec": {
            "generators": [
                {
                    "matrix": {
                        "generators": [
                            {"list": {"elements": [{"app": n} for n in names]}},
                            {"clusters": {}},
                        ]
                    }
                }
            ],
            "template": {
                "metadata": {"name": "{{app}}-{{name}}"},
                "spec": {
                    "project": "default",
                    "source": {"repoURL": bench_sync.REPO_URL, "path": "apps/{{app}}"},
                    "destination": {"name": "{{name}}", "namespace": "{{app}}"},
                    "syncPolicy": {"automated": {"prune": True}, "syncOptions": ["CreateNamespace=true"]},
                },
            },
        },
    }
    (root / "appset.yaml").write_text(yaml.safe_dump(appset))
    for name in names:
        folder = root / "apps" / name
        folder.mkdir(parents=True)
        (folder / "objects.yaml").write_text(yaml.safe_dump_all(realistic_objects(name)))


# -- where the bytes go ---------------------------------------------------------------------------

FLEET_LISTS = (
    ("v1", "Namespace"),
    ("v1", "ConfigMap"),
    ("v1", "ServiceAccount"),
    ("v1", "Service"),
    ("apps/v1", "Deployment"),
)


def _size(key: str, value: Any) -> int:
    """Bytes of ``"key":value,`` in compact JSON, as the object's answer carries it."""
    return len(json.dumps({key: value}, separators=(",", ":"))) - 1


def breakdown(sim: processes.SimFleet, cluster: str) -> dict[str, dict[str, int]]:
    """One cluster's objects that fleet's no-op LISTs return (labelled managed-by=fleet), per kind:
    compact-JSON bytes per field of the full objects, and the sizes of their metadata answers (JSON
    and protobuf, as the simulator encodes them), computed from the stored objects without a
    request."""
    out: dict[str, dict[str, int]] = {}
    for api_version, kind in FLEET_LISTS:
        rows: dict[str, int] = {}
        items = [
            o
            for o in sim.objects(cluster, api_version=api_version, kind=kind)
            if (o["metadata"].get("labels") or {}).get(inventory.MANAGED_BY_LABEL)
            == inventory.MANAGED_BY_VALUE
        ]

        def add(field: str, size: int, rows: dict[str, int] = rows) -> None:
            rows[field] = rows.get(field, 0) + size

        for obj in items:
            item = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}  # list items omit them
            add("objects", 1)
            add("full JSON", len(json.dumps(item, separators=(",", ":"))))
            meta = obj["metadata"]
            add(
                "metadata JSON",
                len(
                    json.dumps(
                        {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": meta},
                        separators=(",", ":"),
                    )
                ),
            )
            add("metadata protobuf", len(_meta_pb(meta)))
            add(
                "metadata protobuf without managedFields (no v1.32 server offers it)",
                len(_meta_pb({k: v for k, v in meta.items() if k != "managedFields"})),
            )
            for key, value in meta.items():
                if key == "managedFields":
                    for entry in value:
                        add(
                            f"managedFields: {entry.get('manager')} {entry.get('operation')}",
                            _size("x", entry),
                        )
                elif key in ("annotations", "labels"):
                    for k, v in value.items():
                        mine = k.startswith("fleet.gitops.io/") or k == inventory.MANAGED_BY_LABEL
                        add(f"{key}: {'fleet' + chr(39) + 's' if mine else 'others'}", _size(k, v))
                else:
                    add(
                        "metadata: other (name, namespace, uid, resourceVersion, timestamps, owners)",
                        _size(key, value),
                    )
            for key, value in item.items():
                if key != "metadata":
                    add(f"body: {key}", _size(key, value))
        out[kind] = rows
    return out


def _meta_pb(meta: dict[str, Any]) -> bytes:
    """A PartialObjectMetadata message plus its field tag and length in the list (3 bytes)."""
    return (
        sim_protobuf.encode_message(
            {"kind": "PartialObjectMetadata", "metadata": meta}, api_version="meta.k8s.io/v1"
        )
        + b"   "
    )


def print_breakdown(rows: dict[str, dict[str, int]], scenario: str) -> None:
    print(
        f"\nwhere one cluster's no-op bytes go ({scenario} fleet; compact JSON per field of the full objects):"
    )
    for kind, fields in rows.items():
        n = fields.get("objects", 0)
        if not n:
            continue
        full = fields["full JSON"]
        print(f"  {kind}: {n} objects, full JSON {full:,} B ({full // n:,} per object)")
        for field, size in sorted(fields.items(), key=lambda kv: -kv[1]):
            if field in ("objects", "full JSON"):
                continue
            print(f"    {field:<78} {size:>8,} B  {size / full:5.2f}x")
    total = {
        k: sum(f.get(k, 0) for f in rows.values())
        for k in ("full JSON", "metadata JSON", "metadata protobuf")
    }
    json_share = total["metadata JSON"] / total["full JSON"]
    pb_share = total["metadata protobuf"] / total["full JSON"]
    print(f"  all kinds: metadata JSON {json_share:.2f}x and metadata protobuf {pb_share:.2f}x the full JSON")


def read_bytes(phase: dict[str, Any]) -> int:
    """Bytes of the answers a resync reads the cluster with: its LISTs and GETs."""
    return int(phase["bytes"].get("list", 0)) + int(phase["bytes"].get("get", 0))


def answers(sim: processes.SimFleet) -> dict[str, dict[str, int]]:
    """Requests and bytes by verb and answer form, summed over the clusters."""
    out: dict[str, dict[str, int]] = {}
    for counts in sim.request_counts().values():
        for verb, forms in counts.get("answers", {}).items():
            for form, seen in forms.items():
                row = out.setdefault(f"{verb} {form}", {"count": 0, "bytes": 0})
                row["count"] += seen["count"]
                row["bytes"] += seen["bytes"]
    return out


def run_size(clusters: int, procs: int, root: Path, kind: str, *, scenario: str = "small") -> dict[str, Any]:
    with processes.SimFleet(clusters, processes=procs, rollout_seconds=ROLLOUT, tls=True) as sim:
        probe = AnswerProbe(sim).start()
        request = driver.RunRequest(
            fleet=str(root),
            clusters=tuple(sim.clusters()),
            repo_map={bench_sync.REPO_URL: str(root)},
            executor=kind,
            record=False,
            concurrency=32
            if executor.executor_kind(kind, address=None, clusters=clusters) == "local"
            else 16,
            cluster_timeout=CLUSTER_TIMEOUT,
            health_timeout=600,
        )
        ex = executor.make_executor(request.executor, concurrency=request.concurrency, clusters=clusters)
        out: dict[str, Any] = {"clusters": clusters, "executor": ex.name}
        try:
            for phase in ("first", "full-list resync", "no-op"):
                # The baseline is what fresh workers with no copies at all send: full LISTs. So
                # the copies kept on disk are off for it (they would make it metadata LISTs too).
                if phase == "full-list resync":
                    os.environ[livecache.SWITCH_ENV] = "off"
                else:
                    os.environ.pop(livecache.SWITCH_ENV, None)
                if phase == "full-list resync":
                    # What fresh workers have: nothing kept (new Ray actors; this process's cache).
                    out["worker_rss_mib"] = worker_rss(ex)
                    ex.close()
                    livecache.close_all()
                    ex = executor.make_executor(
                        request.executor, concurrency=request.concurrency, clusters=clusters
                    )
                sim.reset_counts()
                probe.take()
                started = time.perf_counter()
                run = driver.run(request, executor_=ex)
                seconds = time.perf_counter() - started
                slowest_answer = probe.take()
                bad = [a for a in run.apps() if not a.ok]
                failed = sorted({a.cluster for a in bad})
                if failed:  # reported, not fatal: the numbers of a run that did not complete say so
                    print(
                        f"  {clusters} clusters {phase}: {len(bad)} Applications on {len(failed)} clusters "
                        f"not ok, e.g. {bad[0].message[:160]}"
                    )
                out[phase] = {
                    "seconds": seconds,
                    "requests": totals(sim, "verbs"),
                    "bytes": totals(sim, "bytes"),
                    "answers": answers(sim),
                    "changed": run.summary()["changed"],
                    "failed_clusters": len(failed),
                    "failed_apps": len(bad),
                    "slowest_simulator_answer": slowest_answer,
                }
                print(
                    f"  {scenario} {clusters} clusters {phase:<17} {seconds:7.1f} s  {seconds / clusters * 1000:6.1f} ms/cluster  "
                    f"requests {sum(out[phase]['requests'].values()):>7}  LIST+GET bytes {read_bytes(out[phase]):>11,}  "
                    f"slowest simulator answer {slowest_answer:5.2f} s",
                    flush=True,
                )
                if phase != "first":
                    for form, seen in sorted(out[phase]["answers"].items()):
                        print(f"      {form:<24} {seen['count']:>7} requests {seen['bytes']:>12,} B")
            out["breakdown"] = breakdown(sim, sim.cluster_names()[0])
            out["sim_rss_mib"] = [round(peak_rss_mib(pid), 1) for pid in sim.pids()]
            out["worker_rss_mib"] = [
                max(a, b) for a, b in zip(out["worker_rss_mib"], worker_rss(ex), strict=False)
            ]
        finally:
            probe.stop()
            ex.close()
            livecache.close_all()
    return out


def report_bytes(size: dict[str, Any], scenario: str) -> None:
    """The no-op resync's read bytes against the same resync with full JSON LISTs, and why."""
    full = read_bytes(size["full-list resync"])
    meta = read_bytes(size["no-op"])
    print(
        f"no-op resync, {scenario} fleet, {size['clusters']} clusters: LIST+GET bytes {meta:,} = "
        f"{meta / full:.2f}x those of the same resync with full JSON LISTs ({full:,}); target 0.10x: "
        f"{'met' if meta / full <= 0.10 else 'MISSED'}"
    )
    record.record(
        "bench_scale",
        f"no-op resync LIST+GET bytes, {scenario} fleet, {size['clusters']} clusters (metadata only, protobuf)",
        "the same resync with full JSON LISTs",
        meta / full,
    )


def report_big(size: dict[str, Any]) -> None:
    """The big cluster: answers over 128 KiB come gzipped (the client accepts gzip, as client-go
    does), so the no-op is also set against the full JSON LISTs' uncompressed size, computed from
    the stored objects: what fleet read before it accepted gzip."""
    report_bytes(size, "big-cluster")
    meta = read_bytes(size["no-op"])
    plain = sum(rows.get("full JSON", 0) for rows in size["breakdown"].values()) * size["clusters"]
    print(
        f"no-op resync, big-cluster fleet: LIST+GET bytes {meta:,} = {meta / plain:.2f}x the full JSON "
        f"LISTs uncompressed ({plain:,}, computed from the stored objects, not counted at the simulator)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clusters", nargs="?", type=int, default=1000)
    parser.add_argument("--processes", type=int, default=2, help="simulator processes")
    parser.add_argument("--reference", type=int, default=200, help="the reference fleet size")
    parser.add_argument("--executor", default="auto", help="auto (default), ray or local")
    parser.add_argument(
        "--scenario",
        choices=("small", "realistic", "both", "big-cluster"),
        default="both",
        help="small: bench_sync's objects at both sizes (time and memory); realistic: realistic "
        "workloads (bytes only); both (default); big-cluster: one cluster of --big-apps realistic "
        "Applications, whose LIST answers pass the API server's 128 KiB gzip threshold (by hand)",
    )
    parser.add_argument("--big-apps", type=int, default=100, help="Applications of the big cluster")
    parser.add_argument(
        "--realistic-clusters",
        type=int,
        default=20,
        help="clusters of the realistic scenario (default 20: its bytes per cluster do not depend on "
        "the fleet's size, and its pods load the simulator)",
    )
    args = parser.parse_args()
    sizes = {
        "small": f"{args.reference} and {args.clusters} clusters",
        "realistic": f"{args.realistic_clusters} clusters",
        "both": f"{args.reference} and {args.clusters} clusters, realistic {args.realistic_clusters}",
        "big-cluster": "1 cluster",
    }[args.scenario]
    apps = args.big_apps if args.scenario == "big-cluster" else bench_sync.APPS
    print(
        f"bench_scale: {sizes} x {apps} applications x {bench_sync.OBJECTS} objects; simulator in "
        f"{args.processes} processes; executor {args.executor}; scenario {args.scenario}",
        flush=True,
    )
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        # The live copies the workers keep on disk between processes go here, not to ~/.cache.
        os.environ[livecache.CACHE_ENV] = str(Path(tmp) / "cache")
        if args.scenario in ("small", "both"):
            root = Path(tmp) / "fleet"
            root.mkdir()
            bench_sync.write_fleet(root)
            reference = run_size(args.reference, args.processes, root, args.executor)
            rss_after_reference = peak_rss_mib()
            scaled = run_size(args.clusters, args.processes, root, args.executor)
            ok = report_scale(args, reference, scaled, rss_after_reference)
            print_breakdown(reference["breakdown"], "small")
            for size in (reference, scaled):
                report_bytes(size, "small")
        if args.scenario in ("realistic", "both"):
            root = Path(tmp) / "realistic"
            root.mkdir()
            write_realistic_fleet(root)
            realistic = run_size(
                args.realistic_clusters, args.processes, root, args.executor, scenario="realistic"
            )
            print_breakdown(realistic["breakdown"], "realistic")
            report_bytes(realistic, "realistic")
        if args.scenario == "big-cluster":
            root = Path(tmp) / "big"
            root.mkdir()
            write_realistic_fleet(root, args.big_apps)
            big = run_size(1, 1, root, args.executor, scenario="big-cluster")
            print_breakdown(big["breakdown"], "big-cluster")
            report_big(big)
    return 0 if ok else 1


def report_scale(
    args: argparse.Namespace, reference: dict[str, Any], scaled: dict[str, Any], rss_after_reference: float
) -> bool:
    """Time per cluster at both sizes and the peak memory; False when the driver's target is missed."""
    driver_rss = peak_rss_mib()
    print(
        f"\nexecutors: {reference['executor']} at {args.reference} clusters, {scaled['executor']} at {args.clusters}"
    )
    print(f"peak RSS of each Ray worker at {args.clusters} clusters: {scaled['worker_rss_mib'] or '-'} MiB")
    print(
        f"peak RSS of this process (the driver; the workers too on the local executor): {driver_rss:,.0f} MiB "
        f"({rss_after_reference:,.0f} MiB after {args.reference} clusters); target < 1024 MiB: "
        f"{'met' if driver_rss < 1024 else 'MISSED'}"
    )
    print(f"peak RSS of the simulator processes at {args.clusters} clusters: {scaled['sim_rss_mib']} MiB")
    for phase in ("first", "no-op"):
        per_ref = reference[phase]["seconds"] / args.reference
        per_big = scaled[phase]["seconds"] / args.clusters
        ratio = per_big / per_ref
        print(
            f"{phase:<6} time per cluster at {args.clusters} / at {args.reference}: {ratio:.2f}x "
            f"({per_big * 1000:.1f} ms against {per_ref * 1000:.1f} ms)"
        )
        record.record(
            "bench_scale",
            f"{phase} sync, time per cluster at {args.clusters} clusters",
            f"time per cluster at {args.reference} clusters",
            ratio,
            driver_peak_rss_mib=round(driver_rss),
        )
    return driver_rss < 1024


if __name__ == "__main__":
    sys.exit(main())
