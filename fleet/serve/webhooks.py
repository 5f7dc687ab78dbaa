"""Git push webhooks: verify a delivery, refuse replays, and read which repository, branch and
paths the push changed.

Where it sits: ``POST /hooks/{provider}`` (``fleet.serve.api``) passes the raw body and headers
here; a verified push becomes a ``Push``, which ``fleet.serve.targets`` maps onto the fleet's
Applications. Pure functions of the request, except ``ReplayGuard``, which remembers delivery
ids for a while (time from an injected clock).

Each provider's scheme (all compared with ``hmac.compare_digest``, in constant time):

- GitHub: ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>``; ``X-GitHub-Event: push``;
  delivery id ``X-GitHub-Delivery``.
- Gitea and Forgejo: ``X-Gitea-Signature: <hex HMAC-SHA256>`` (Forgejo sends it too, beside
  ``X-Forgejo-Signature``); ``X-Gitea-Event: push``; delivery id ``X-Gitea-Delivery``.
- GitLab: ``X-Gitlab-Token: <the secret itself>`` (GitLab does not sign); ``X-Gitlab-Event:
  Push Hook``; delivery id ``X-Gitlab-Event-UUID``.
- Bitbucket Cloud: ``X-Hub-Signature: sha256=<hex HMAC-SHA256>``; ``X-Event-Key: repo:push``;
  delivery id ``X-Request-UUID``.

What a push says it changed: GitHub, Gitea and GitLab list each commit's added, modified and
removed files; when they cut the list (GitLab sends 20 commits, Gitea its feed maximum, GitHub
2048: ``total_commits_count`` / ``total_commits`` / ``size`` say so), or a branch was created or
deleted, the paths are unknown. Bitbucket Cloud never lists files. Unknown paths touch every
Application of that repository and branch (as Argo CD does for such pushes).
"""

from __future__ import annotations

import collections
import hashlib
import hmac
import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from fleet.store import clock as clock_mod

MAX_BODY = 1024 * 1024  # bytes; GitHub caps payloads at 25 MB but a push of 2048 commits is far less
REPLAY_TTL = 24 * 3600.0  # seconds a delivery id is remembered (providers retry within hours)
REPLAY_MAX = 10_000  # delivery ids remembered at most (the oldest are forgotten first)
ZERO_SHA = "0" * 40  # ``before`` of a created branch, ``after`` of a deleted one


class Provider(StrEnum):
    """The Git servers whose push webhooks ``fleet serve`` understands (the path ``/hooks/{provider}``)."""

    GITHUB = "github"  # GitHub and GitHub Enterprise Server
    GITLAB = "gitlab"  # GitLab (SaaS and self-managed)
    GITEA = "gitea"  # Gitea and Forgejo
    BITBUCKET = "bitbucket"  # Bitbucket Cloud


class Outcome(StrEnum):
    """What became of one delivery (the ``outcome`` label of ``fleet_webhook_deliveries_total``)."""

    ACCEPTED = "accepted"  # verified push that touched the fleet: a run was queued (202)
    IGNORED = "ignored"  # verified, but not a push, or a push that touched nothing selected (202)
    UNAUTHORIZED = "unauthorized"  # signature or token missing or wrong, or no secret configured (401)
    REPLAYED = "replayed"  # a delivery id already seen (401: the same signed body sent again)
    MALFORMED = "malformed"  # verified, but not a push payload this server can read (400)
    TOO_LARGE = "too-large"  # the body is over the limit (413)
    UNKNOWN_PROVIDER = "unknown-provider"  # /hooks/<something else> (404)

    @property
    def status(self) -> int:
        return _STATUS[self]


_STATUS = {
    Outcome.ACCEPTED: 202,
    Outcome.IGNORED: 202,
    Outcome.UNAUTHORIZED: 401,
    Outcome.REPLAYED: 401,
    Outcome.MALFORMED: 400,
    Outcome.TOO_LARGE: 413,
    Outcome.UNKNOWN_PROVIDER: 404,
}


class Rejected(Exception):
    """A delivery refused; ``outcome`` says why (and its HTTP status). The message never holds
    the secret, the signature sent, or the body."""

    def __init__(self, outcome: Outcome, message: str) -> None:
        super().__init__(message)
        self.outcome = outcome


@dataclass(frozen=True, kw_only=True)
class Push:
    """A verified push: where, which branch, and the paths it changed (None: unknown)."""

    provider: Provider
    delivery: str
    repo_urls: tuple[str, ...]  # every URL the provider gives for the repository (https, ssh, web)
    branch: str  # "" for a tag push
    default_branch: str = ""
    paths: frozenset[str] | None = None
    after: str = ""  # the commit the branch points to now (ZERO_SHA when deleted)


# --- verification ------------------------------------------------------------------------------


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def _hmac_hex(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def verify(provider: Provider, headers: Mapping[str, str], body: bytes, secret: str) -> None:
    """Raise ``Rejected(UNAUTHORIZED)`` unless the delivery carries the right signature or token."""
    if not secret:
        raise Rejected(Outcome.UNAUTHORIZED, "this server has no --webhook-secret: webhooks are refused")
    h = _lower(headers)
    if provider is Provider.GITLAB:
        token = h.get("x-gitlab-token")
        if token is None:
            raise Rejected(Outcome.UNAUTHORIZED, "no X-Gitlab-Token header")
        if not _same(token, secret):
            raise Rejected(Outcome.UNAUTHORIZED, "X-Gitlab-Token does not match the webhook secret")
        return
    header, prefix = {
        Provider.GITHUB: ("x-hub-signature-256", "sha256="),
        Provider.BITBUCKET: ("x-hub-signature", "sha256="),
        Provider.GITEA: ("x-gitea-signature", ""),
    }[provider]
    signature = h.get(header)
    if signature is None and provider is Provider.GITEA:
        signature = h.get("x-forgejo-signature")
    if signature is None:
        raise Rejected(Outcome.UNAUTHORIZED, f"no {header} header")
    if prefix and not signature.startswith(prefix):
        raise Rejected(Outcome.UNAUTHORIZED, f"{header} is not of the form {prefix}<hex>")
    if not _same(signature.removeprefix(prefix).lower(), _hmac_hex(secret, body)):
        raise Rejected(
            Outcome.UNAUTHORIZED, f"{header} does not match the body signed with the webhook secret"
        )


_DELIVERY_HEADER = {
    Provider.GITHUB: "x-github-delivery",
    Provider.GITEA: "x-gitea-delivery",
    Provider.GITLAB: "x-gitlab-event-uuid",
    Provider.BITBUCKET: "x-request-uuid",
}


def delivery_id(provider: Provider, headers: Mapping[str, str]) -> str:
    """The provider's id of this delivery (a redelivery by hand gets a new one); raises
    ``Rejected(MALFORMED)`` without one."""
    h = _lower(headers)
    found = h.get(_DELIVERY_HEADER[provider], "").strip()
    if not found and provider is Provider.GITEA:
        found = h.get("x-forgejo-delivery", "").strip()
    if not found:
        raise Rejected(Outcome.MALFORMED, f"no {_DELIVERY_HEADER[provider]} header")
    return found


class ReplayGuard:
    """Delivery ids seen in the last ``ttl`` seconds, at most ``limit`` of them: a delivery whose
    id was seen is a replay (a captured, correctly signed request sent again).

    Kept in memory: a restarted server forgets, which is acceptable because the signature still
    binds the body and a replayed push only re-syncs what Git already says.
    """

    def __init__(
        self, *, ttl: float = REPLAY_TTL, limit: int = REPLAY_MAX, clock: clock_mod.Clock | None = None
    ) -> None:
        self.ttl, self.limit = ttl, limit
        self.clock = clock or clock_mod.SystemClock()
        self._seen: collections.OrderedDict[str, float] = collections.OrderedDict()
        self._lock = threading.Lock()

    def check(self, provider: Provider, delivery: str) -> None:
        """Remember the delivery; raise ``Rejected(REPLAYED)`` if it was seen already."""
        now = self.clock.now()
        key = f"{provider.value}:{delivery}"
        with self._lock:
            while self._seen and next(iter(self._seen.values())) < now - self.ttl:
                self._seen.popitem(last=False)
            if key in self._seen:
                raise Rejected(Outcome.REPLAYED, f"delivery {delivery} was already received")
            self._seen[key] = now
            while len(self._seen) > self.limit:
                self._seen.popitem(last=False)


# --- reading a push -----------------------------------------------------------------------------

_EVENT_HEADER = {
    Provider.GITHUB: ("x-github-event", "push"),
    Provider.GITEA: ("x-gitea-event", "push"),
    Provider.GITLAB: ("x-gitlab-event", "Push Hook"),
    Provider.BITBUCKET: ("x-event-key", "repo:push"),
}


def event_name(provider: Provider, headers: Mapping[str, str]) -> str:
    h = _lower(headers)
    header = _EVENT_HEADER[provider][0]
    found = h.get(header, "")
    if not found and provider is Provider.GITEA:
        found = h.get("x-forgejo-event", "")
    return found


def is_push(provider: Provider, headers: Mapping[str, str]) -> bool:
    return event_name(provider, headers) == _EVENT_HEADER[provider][1]


def parse(provider: Provider, headers: Mapping[str, str], body: bytes) -> Push | None:
    """The push a verified delivery describes; None for another event (a ping, an issue...).
    Raises ``Rejected(MALFORMED)`` for a push payload that cannot be read."""
    if not is_push(provider, headers):
        return None
    delivery = delivery_id(provider, headers)
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise Rejected(Outcome.MALFORMED, "the body is not JSON") from None
    if not isinstance(payload, dict):
        raise Rejected(Outcome.MALFORMED, "the body is not a JSON object")
    try:
        if provider is Provider.BITBUCKET:
            return _bitbucket(payload, delivery)
        return _commits_style(provider, payload, delivery)
    except (KeyError, TypeError, AttributeError) as exc:
        raise Rejected(
            Outcome.MALFORMED, f"not a {provider.value} push payload (missing or wrong {exc})"
        ) from None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _commits_style(provider: Provider, payload: dict[str, Any], delivery: str) -> Push:
    """GitHub, Gitea and GitLab: ``ref``, ``before``/``after`` and ``commits[].added/modified/removed``."""
    ref = payload["ref"]
    if not isinstance(ref, str):
        raise TypeError("ref")
    if provider is Provider.GITLAB:
        project = payload.get("project") or {}
        repository = payload.get("repository") or {}
        keys: tuple[str, ...] = (
            "git_http_url",
            "git_ssh_url",
            "web_url",
            "http_url",
            "ssh_url",
            "homepage",
            "url",
        )
        urls = [_text(project.get(k)) for k in keys] + [_text(repository.get(k)) for k in keys]
        default = _text(project.get("default_branch"))
        total = payload.get("total_commits_count")
    else:
        repository = payload["repository"]
        keys = ("clone_url", "ssh_url", "html_url", "git_url", "url")
        urls = [_text(repository.get(k)) for k in keys]
        default = _text(repository.get("default_branch") or repository.get("master_branch"))
        total = payload.get("total_commits") if provider is Provider.GITEA else payload.get("size")
    commits = payload.get("commits") or []
    if not isinstance(commits, list):
        raise TypeError("commits")
    before, after = _text(payload.get("before")), _text(payload.get("after"))
    paths: set[str] | None = set()
    for commit in commits:
        for key in ("added", "modified", "removed"):
            for path in commit.get(key) or ():
                if isinstance(path, str) and paths is not None:
                    paths.add(path)
    cut = isinstance(total, int) and total > len(commits)
    created_or_deleted = ZERO_SHA in (before, after) or bool(payload.get("created") or payload.get("deleted"))
    if cut or created_or_deleted or not commits:
        paths = None
    return Push(
        provider=provider,
        delivery=delivery,
        repo_urls=tuple(dict.fromkeys(u for u in urls if u)),
        branch=ref.removeprefix("refs/heads/") if ref.startswith("refs/heads/") else "",
        default_branch=default,
        paths=frozenset(paths) if paths is not None else None,
        after=after,
    )


def _bitbucket(payload: dict[str, Any], delivery: str) -> Push:
    """Bitbucket Cloud's ``repo:push``: ``push.changes[].new`` names the branch; no file lists."""
    repository = payload["repository"]
    links = repository.get("links") or {}
    html = _text((links.get("html") or {}).get("href"))
    urls = [html]
    if html:
        urls.append(html.rstrip("/") + ".git")
    full_name = _text(repository.get("full_name"))
    if full_name:
        urls.append(f"git@bitbucket.org:{full_name}.git")
    branch, after = "", ""
    for change in payload["push"]["changes"]:
        new = change.get("new") or {}
        if new.get("type") == "branch":
            branch = _text(new.get("name"))
            after = _text((new.get("target") or {}).get("hash"))
    mainbranch = _text((repository.get("mainbranch") or {}).get("name"))
    return Push(
        provider=Provider.BITBUCKET,
        delivery=delivery,
        repo_urls=tuple(dict.fromkeys(u for u in urls if u)),
        branch=branch,
        default_branch=mainbranch,
        paths=None,
        after=after,
    )


__all__ = [
    "MAX_BODY",
    "Outcome",
    "Provider",
    "Push",
    "Rejected",
    "ReplayGuard",
    "delivery_id",
    "is_push",
    "parse",
    "verify",
]
