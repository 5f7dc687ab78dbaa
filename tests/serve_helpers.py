"""Helpers for the ``fleet serve`` tests: webhook deliveries as each provider sends them, a
plain HTTP client, and a server over a ``FleetEnv`` (``tests/fixtures/sync.py``).

The payloads are ``tests/data/serve/<provider>-push.json`` (written from each provider's
documentation of its push event), with the repository URLs, the branch and the changed files
rewritten for the test; ``deliver`` signs them as the provider would (or not, or wrongly).
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import hashlib
import hmac
import json
import shutil
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fleet import driver, log
from fleet.serve import schedule, server, webhooks
from tests.fixtures.sync import REPO_URL, FleetEnv

DATA = Path(__file__).resolve().parent / "data" / "serve"
SECRET = "hook-secret-Zq81"
TOKEN = "api-token-Pw27"


def payload(
    provider: webhooks.Provider,
    *,
    repo: str = REPO_URL,
    branch: str = "main",
    modified: Iterable[str] = ("apps/web/configmap.yaml",),
) -> dict[str, Any]:
    """The provider's push payload for ``repo`` (an https URL), ``branch`` and changed files."""
    doc: dict[str, Any] = json.loads((DATA / f"{provider.value}-push.json").read_text())
    doc = copy.deepcopy(doc)
    https = repo.removesuffix(".git")
    host_path = https.split("://", 1)[1]
    host, _, path = host_path.partition("/")
    ssh = f"git@{host}:{path}.git"
    files = list(modified)
    if provider is webhooks.Provider.BITBUCKET:
        doc["repository"]["links"]["html"]["href"] = https
        doc["repository"]["full_name"] = path
        for change in doc["push"]["changes"]:
            change["new"]["name"] = change["old"]["name"] = branch
        return doc
    doc["ref"] = f"refs/heads/{branch}"
    if provider is webhooks.Provider.GITLAB:
        for part in (doc["project"], doc["repository"]):
            for key in ("git_http_url", "http_url"):
                if key in part:
                    part[key] = f"{https}.git"
            for key in ("git_ssh_url", "ssh_url", "url"):
                if key in part:
                    part[key] = ssh
            for key in ("web_url", "homepage"):
                if key in part:
                    part[key] = https
    else:
        repository = doc["repository"]
        repository["clone_url"] = f"{https}.git"
        repository["ssh_url"] = ssh
        repository["html_url"] = https
        for key in ("git_url", "url"):
            if key in repository:
                repository[key] = https
    for commit in doc["commits"]:
        commit["modified"], commit["added"], commit["removed"] = files, [], []
    if "head_commit" in doc:
        doc["head_commit"]["modified"] = files
    return doc


def headers(
    provider: webhooks.Provider,
    body: bytes,
    *,
    secret: str | None = SECRET,
    delivery: str | None = None,
    event: str | None = None,
) -> dict[str, str]:
    """The headers the provider sends with ``body``: event, delivery id and signature (none
    when ``secret`` is None)."""
    delivery = delivery or str(uuid.uuid4())
    found = {"Content-Type": "application/json", "User-Agent": f"{provider.value}-hookshot/test"}
    if provider is webhooks.Provider.GITHUB:
        found |= {"X-GitHub-Event": event or "push", "X-GitHub-Delivery": delivery}
        if secret is not None:
            found["X-Hub-Signature-256"] = "sha256=" + _hmac(secret, body)
    elif provider is webhooks.Provider.GITEA:
        found |= {"X-Gitea-Event": event or "push", "X-Gitea-Delivery": delivery}
        if secret is not None:
            found["X-Gitea-Signature"] = _hmac(secret, body)
    elif provider is webhooks.Provider.GITLAB:
        found |= {"X-Gitlab-Event": event or "Push Hook", "X-Gitlab-Event-UUID": delivery}
        if secret is not None:
            found["X-Gitlab-Token"] = secret
    else:
        found |= {
            "X-Event-Key": event or "repo:push",
            "X-Request-UUID": delivery,
            "X-Hook-UUID": str(uuid.uuid4()),
        }
        if secret is not None:
            found["X-Hub-Signature"] = "sha256=" + _hmac(secret, body)
    return found


def _hmac(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass
class Answer:
    status: int
    body: bytes
    headers: Mapping[str, str]

    def json(self) -> Any:
        return json.loads(self.body)


def http(
    method: str, url: str, body: bytes | None = None, headers: Mapping[str, str] | None = None
) -> Answer:
    request = urllib.request.Request(url, data=body, method=method, headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return Answer(answer.status, answer.read(), dict(answer.headers))
    except urllib.error.HTTPError as exc:
        return Answer(exc.code, exc.read(), dict(exc.headers))


def deliver(base: str, provider: webhooks.Provider, doc: Mapping[str, Any], **options: Any) -> Answer:
    """POST ``doc`` to ``/hooks/<provider>`` as the provider would (``options``: ``headers``)."""
    body = json.dumps(doc).encode()
    return http("POST", f"{base}/hooks/{provider.value}", body, headers(provider, body, **options))


def request_for(env: FleetEnv, **changes: Any) -> driver.RunRequest:
    """The sync request ``fleet serve`` would build for ``env`` (local executor)."""
    base = driver.RunRequest(
        fleet=str(env.root),
        cluster_files=(str(env.clusters_file),),
        repo_map={REPO_URL: str(env.root)},
        executor="local",
        state_dir=str(env.state_dir),
        store=env.store,
        git_cache=str(env.root.parent / "git-cache"),
    )
    return dataclasses.replace(base, **changes)


def make_server(
    env: FleetEnv,
    *,
    plan: schedule.Schedule | None = None,
    clock: Any = None,
    debounce: float = 0.0,
    api_token: str = TOKEN,
    **request_changes: Any,
) -> server.Server:
    """A server over ``env`` on a free loopback port (start it with ``server.running``). Logs
    go to this test's stderr (a CLI run before may have left them on its closed stream)."""
    log.configure(log.LogFormat.JSON)
    options = server.ServeOptions(
        listen=server.Listen(host="127.0.0.1", port=0),
        plan=plan or schedule.Never(),
        webhook_secret=SECRET,
        api_token=api_token,
        debounce=debounce,
    )
    return server.Server(request_for(env, **request_changes), options, clock=clock)


def base_url(srv: server.Server) -> str:
    assert srv.address is not None, "the server is not listening"
    return srv.address.url


API_APPSET = {
    "apiVersion": "argoproj.io/v1alpha1",
    "kind": "ApplicationSet",
    "metadata": {"name": "api", "namespace": "argocd"},
    "spec": {
        "generators": [{"clusters": {}}],
        "template": {
            "metadata": {"name": "api-{{name}}"},
            "spec": {
                "project": "default",
                "source": {"repoURL": REPO_URL, "targetRevision": "HEAD", "path": "apps/api"},
                "destination": {"name": "{{name}}", "namespace": "api"},
                "syncPolicy": {"automated": {"prune": True}, "syncOptions": ["CreateNamespace=true"]},
            },
        },
    },
}
API_OBJECTS = [
    {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "api"}},
]


@contextlib.contextmanager
def module_fleet(tmp_path_factory: Any, clusters: int) -> Iterator[FleetEnv]:
    """``make_fleet("basic", clusters=N)`` for a whole test module (one simulator, one copy)."""
    from typer.testing import CliRunner

    from fleet.clusters.sim import SimServer
    from tests.fixtures.sync import DATA

    root = tmp_path_factory.mktemp("serve-fleet")
    shutil.copytree(DATA / "basic", root / "fleet")
    with SimServer(clusters, rollout_seconds=0.1) as sim:
        yield FleetEnv(
            root=root / "fleet",
            sim=sim,
            clusters_file=sim.write_cluster_secrets(root / "clusters.yaml"),
            state_dir=root / "state",
            runner=CliRunner(),
        )


def add_api_app(env: FleetEnv) -> None:
    """A second Application, ``api-<cluster>`` from ``apps/api``: one ServiceAccount (a kind the
    web Application has none of, so the simulator's counts tell the two apart)."""
    env.write("appset-api.yaml", API_APPSET)
    env.write("apps/api/serviceaccount.yaml", API_OBJECTS)
