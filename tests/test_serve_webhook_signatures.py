"""Webhook deliveries are verified per provider before anything happens: GitHub's
X-Hub-Signature-256, Gitea/Forgejo's X-Gitea-Signature, Bitbucket Cloud's X-Hub-Signature
(HMAC-SHA256 of the body) and GitLab's X-Gitlab-Token, compared in constant time. A valid
delivery is accepted (202); a missing or wrong signature, a body changed after signing, or a
delivery id seen before is refused (401); a body over the limit is 413; an unreadable push is
400. A refused delivery queues no run and is counted by provider and outcome."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from fleet.serve import server, webhooks
from tests import serve_helpers as sh
from tests.fixtures.sync import FleetEnv

P = webhooks.Provider


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[server.Server, str]]:
    """One server for the module, over a fleet without clusters, and pushes to a repository
    it does not read: a verified push touches nothing (202, ignored), so only the
    verification is under test."""
    import shutil

    from tests.fixtures.sync import DATA

    root = tmp_path_factory.mktemp("serve-signatures")
    shutil.copytree(DATA / "basic", root / "fleet")
    (root / "clusters.yaml").write_text("")
    env = FleetEnv(
        root=root / "fleet",
        sim=None,  # type: ignore[arg-type]  # no cluster is ever contacted here
        clusters_file=root / "clusters.yaml",
        state_dir=root / "state",
        runner=None,  # type: ignore[arg-type]
    )
    srv = sh.make_server(env, clusters=(), allow_empty=True)
    with server.running(srv):
        yield srv, sh.base_url(srv)


def _post(base: str, provider: webhooks.Provider, body: bytes, headers: dict[str, str]) -> sh.Answer:
    return sh.http("POST", f"{base}/hooks/{provider.value}", body, headers)


def _body(provider: webhooks.Provider) -> bytes:
    """A push to a repository the fleet does not read: verified, it touches nothing."""
    return json.dumps(sh.payload(provider, repo="https://git.example.com/elsewhere.git")).encode()


def valid(provider: webhooks.Provider, body: bytes) -> dict[str, str]:
    return sh.headers(provider, body)


def unsigned(provider: webhooks.Provider, body: bytes) -> dict[str, str]:
    return sh.headers(provider, body, secret=None)


def wrong_secret(provider: webhooks.Provider, body: bytes) -> dict[str, str]:
    return sh.headers(provider, body, secret="not-the-secret")


def signature_of_another_body(provider: webhooks.Provider, body: bytes) -> dict[str, str]:
    return sh.headers(provider, body + b" ")


def sha1_style(provider: webhooks.Provider, body: bytes) -> dict[str, str]:
    found = sh.headers(provider, body)
    for name in ("X-Hub-Signature-256", "X-Hub-Signature", "X-Gitea-Signature", "X-Gitlab-Token"):
        if name in found:
            found[name] = "sha1=" + found[name].removeprefix("sha256=")[:40]
    return found


CASES = [
    pytest.param(provider, make, status, outcome, id=f"{provider.value}-{make.__name__}")
    for provider in P
    for make, status, outcome in (
        (valid, 202, "ignored"),
        (unsigned, 401, "unauthorized"),
        (wrong_secret, 401, "unauthorized"),
        # GitLab sends its token, not a signature of the body: the same token passes whatever the body.
        (signature_of_another_body, *((202, "ignored") if provider is P.GITLAB else (401, "unauthorized"))),
        (sha1_style, 401, "unauthorized"),
    )
]


@pytest.mark.parametrize("provider, make, status, outcome", CASES)
def test_a_delivery_is_verified_by_its_providers_scheme(served, provider, make, status, outcome) -> None:
    srv, base = served
    before = _count(srv, provider, outcome)
    body = _body(provider)
    answer = _post(base, provider, body, make(provider, body))
    assert answer.status == status, answer.body
    assert answer.json().get("outcome") == outcome
    assert _count(srv, provider, outcome) == before + 1
    assert srv.worker.pending.selection is None  # nothing queued either way: the push touched nothing
    assert sh.SECRET not in answer.body.decode()


@pytest.mark.parametrize("provider", list(P), ids=lambda p: p.value)
def test_a_replayed_delivery_is_refused(served, provider) -> None:
    _srv, base = served
    body = _body(provider)
    headers = sh.headers(provider, body, delivery=f"replay-{provider.value}-1")
    assert _post(base, provider, body, headers).status == 202
    again = _post(base, provider, body, headers)
    assert again.status == 401 and again.json()["outcome"] == "replayed"
    # The provider's own redelivery carries a new id: accepted.
    fresh = sh.headers(provider, body, delivery=f"replay-{provider.value}-2")
    assert _post(base, provider, body, fresh).status == 202


BAD_BODIES = [
    pytest.param(b"not json", 400, id="not-json"),
    pytest.param(b"[1, 2]", 400, id="not-an-object"),
    pytest.param(json.dumps({"ref": 7}).encode(), 400, id="not-a-push-payload"),
    pytest.param(b"{" + b" " * (webhooks.MAX_BODY + 1) + b"}", 413, id="over-the-size-limit"),
]


@pytest.mark.parametrize("body, status", BAD_BODIES)
def test_a_signed_but_unreadable_delivery_is_refused(served, body, status) -> None:
    _srv, base = served
    answer = _post(base, P.GITHUB, body, sh.headers(P.GITHUB, body))
    assert answer.status == status, answer.body


def test_another_event_than_a_push_is_accepted_and_ignored(served) -> None:
    _srv, base = served
    body = json.dumps({"zen": "Design for failure.", "hook_id": 1}).encode()
    answer = _post(base, P.GITHUB, body, sh.headers(P.GITHUB, body, event="ping"))
    assert answer.status == 202 and answer.json()["outcome"] == "ignored"


def test_an_unknown_provider_is_not_found(served) -> None:
    _srv, base = served
    assert sh.http("POST", f"{base}/hooks/svn", b"{}").status == 404


def _count(srv: server.Server, provider: webhooks.Provider, outcome: str) -> float:
    value: Any = srv.metrics.registry.get_sample_value(
        "fleet_webhook_deliveries_total", {"provider": provider.value, "outcome": outcome}
    )
    return float(value or 0.0)


def test_a_chunked_delivery_over_the_size_limit_is_refused_with_413(served) -> None:
    # No Content-Length: the server counts as it reads, keeps no more than the limit, reads the
    # rest so the answer reaches the sender (no reset), and refuses it.
    import http.client
    from urllib.parse import urlsplit

    _srv, base = served
    where = urlsplit(base)
    body = b"{" + b" " * (webhooks.MAX_BODY + 1) + b"}"
    conn = http.client.HTTPConnection(where.hostname, where.port, timeout=60)
    chunks = (body[i : i + 65536] for i in range(0, len(body), 65536))
    conn.request(
        "POST", "/hooks/github", body=chunks, headers=sh.headers(P.GITHUB, body), encode_chunked=True
    )
    answer = conn.getresponse()
    assert answer.status == 413 and b"over" in answer.read()
    conn.close()
