"""Benchmark: a webhook-triggered sync of one changed Application across CLUSTERS simulated
clusters, against a full-fleet run of the same change, both through a running ``fleet serve``.

Scenario: a fleet of APPS ApplicationSets (``app0`` .. ``app<N-1>``, a ConfigMap and a Service
each) generating one Application per cluster: CLUSTERS x APPS Applications. After a first sync
of everything, each round changes ``app0``'s ConfigMap in the fleet's working tree, then:

- webhook: POST a signed GitHub push that modified ``apps/app0/configmap.yaml`` to
  ``/hooks/github`` (debounce 0); timed from the POST until the run it triggered is recorded,
  then every cluster's ConfigMap is checked to hold the new value;
- baseline: POST ``/api/v1/sync`` for the whole fleet (what a schedule or a push without
  matching would do); timed the same way.

Both go through the same server, executor and simulator in the same process, REPEAT rounds each
(best of). The ratio is what a push matched to its Applications saves.

Run: .venv/bin/python benchmarks/bench_webhook.py [CLUSTERS] [APPS] [local|ray]
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fleet import driver, log  # noqa: E402
from fleet.clusters.sim import SimServer  # noqa: E402
from fleet.serve import schedule, server, webhooks  # noqa: E402
from tests import serve_helpers  # noqa: E402

CLUSTERS = int(sys.argv[1]) if len(sys.argv) > 1 else 200
APPS = int(sys.argv[2]) if len(sys.argv) > 2 else 5
EXECUTOR = sys.argv[3] if len(sys.argv) > 3 else "local"
REPEAT = 2
REPO = "https://git.example.com/fleet.git"


def write_fleet(root: Path) -> None:
    for a in range(APPS):
        name = f"app{a}"
        appset = {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "ApplicationSet",
            "metadata": {"name": name, "namespace": "argocd"},
            "spec": {
                "generators": [{"clusters": {}}],
                "template": {
                    "metadata": {"name": f"{name}-{{{{name}}}}"},
                    "spec": {
                        "project": "default",
                        "source": {"repoURL": REPO, "targetRevision": "HEAD", "path": f"apps/{name}"},
                        "destination": {"name": "{{name}}", "namespace": name},
                        "syncPolicy": {"automated": {"prune": True}, "syncOptions": ["CreateNamespace=true"]},
                    },
                },
            },
        }
        (root / f"{name}.yaml").write_text(yaml.safe_dump(appset, sort_keys=False))
        folder = root / "apps" / name
        folder.mkdir(parents=True)
        set_value(root, name, "v0")
        service = {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": name},
            "spec": {"selector": {"app": name}, "ports": [{"port": 80}]},
        }
        (folder / "service.yaml").write_text(yaml.safe_dump(service))


def set_value(root: Path, app: str, value: str) -> None:
    config = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": f"{app}-config"},
        "data": {"value": value},
    }
    (root / "apps" / app / "configmap.yaml").write_text(yaml.safe_dump(config))


def all_updated(sim: SimServer, value: str) -> bool:
    return all(
        sim.get_object(c, "v1", "ConfigMap", "app0", "app0-config")["data"]["value"] == value
        for c in sim.cluster_names()
    )


def timed(srv: server.Server, post: callable, expected_runs: int) -> float:  # type: ignore[valid-type]
    started = time.perf_counter()
    answer = post()
    assert answer.status == 202, answer.body
    assert srv.worker.wait_finished(expected_runs, timeout=1800)
    return time.perf_counter() - started


def main() -> None:
    log.configure(log.LogFormat.JSON)
    import logging

    logging.getLogger("fleet").setLevel(logging.WARNING)  # the benchmark's own lines only
    with (
        tempfile.TemporaryDirectory(prefix="bench-webhook-") as tmp,
        SimServer(CLUSTERS, rollout_seconds=0.05) as sim,
    ):
        root = Path(tmp) / "fleet"
        root.mkdir()
        write_fleet(root)
        clusters_file = sim.write_cluster_secrets(Path(tmp) / "clusters.yaml")
        request = driver.RunRequest(
            fleet=str(root),
            cluster_files=(str(clusters_file),),
            repo_map={REPO: str(root)},
            executor=EXECUTOR,
            concurrency=32,
            state_dir=str(Path(tmp) / "state"),
        )
        options = server.ServeOptions(
            listen=server.Listen(host="127.0.0.1", port=0),
            plan=schedule.Never(),
            webhook_secret=serve_helpers.SECRET,
            api_token=serve_helpers.TOKEN,
            debounce=0.0,
        )
        srv = server.Server(request, options)
        auth = {"Authorization": f"Bearer {serve_helpers.TOKEN}", "Content-Type": "application/json"}
        with server.running(srv):
            base = serve_helpers.base_url(srv)
            runs = 0

            def full() -> serve_helpers.Answer:
                return serve_helpers.http("POST", f"{base}/api/v1/sync", b"", auth)

            def push() -> serve_helpers.Answer:
                doc = serve_helpers.payload(
                    webhooks.Provider.GITHUB, repo=REPO, modified=["apps/app0/configmap.yaml"]
                )
                return serve_helpers.deliver(base, webhooks.Provider.GITHUB, doc)

            runs += 1
            first = timed(srv, full, runs)
            print(
                f"first sync of {CLUSTERS} clusters x {APPS} Applications: {first:.1f}s ({EXECUTOR} executor)"
            )
            webhook_times, full_times = [], []
            run_seconds: dict[str, list[float]] = {"webhook": [], "full": []}
            for r in range(REPEAT):
                for label, post, times in (("webhook", push, webhook_times), ("full", full, full_times)):
                    value = f"{label}-{r}"
                    set_value(root, "app0", value)
                    runs += 1
                    times.append(timed(srv, post, runs))
                    assert all_updated(sim, value), f"{label}: not every cluster was updated"
                    (last,) = json.loads(serve_helpers.http("GET", f"{base}/api/v1/runs?limit=1").body)[
                        "runs"
                    ]
                    run_seconds[label].append(_seconds(last["started_at"], last["finished_at"]))
        webhook, baseline = min(webhook_times), min(full_times)
        print(
            f"webhook push touching app0 only, POST to every cluster updated: {webhook:.2f}s (best of {REPEAT})"
        )
        print(
            f"baseline, a full-fleet run of the same change:                {baseline:.2f}s (best of {REPEAT})"
        )
        print(f"ratio webhook / full-fleet run: {webhook / baseline:.2f}x (lower is better)")
        print(
            f"of which the runs themselves (registered to recorded): {min(run_seconds['webhook']):.2f}s "
            f"and {min(run_seconds['full']):.2f}s; the rest is matching the push, queueing and registering"
        )


def _seconds(started: str, finished: str) -> float:
    import datetime as dt

    def parse(text: str) -> dt.datetime:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))

    return (parse(finished) - parse(started)).total_seconds()


if __name__ == "__main__":
    main()
