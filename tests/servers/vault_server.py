"""A small Vault API server for tests and benchmarks (no Vault binary can run here).

It follows HashiCorp Vault's documented HTTP API closely enough for hvac and for SOPS'
``hc_vault`` key type: token auth (``lookup-self``, ``renew-self``, ``create``, TTLs and expiry),
AppRole and Kubernetes login, KV v1 and KV v2 mounts (versions, soft delete, destroy, metadata),
ACL policies with path globs (``*`` suffix, ``+`` segment) and capabilities, Enterprise namespaces
through the ``X-Vault-Namespace`` header, and the transit engine (AES-256-GCM with real keys,
``vault:v<N>:`` ciphertexts). Denied paths answer 403 ``{"errors":["permission denied"]}``,
missing ones 404 ``{"errors":[]}``, as Vault does.

It is a stand-in at the edge, never a fake of fleet's own code: tests drive it through hvac.
Runs in a thread (``VaultServer().start()``) or standalone::

    python -m tests.servers.vault_server --port 8200 --root-token root --kv secret=2 --transit transit

State lives in memory only; every request is recorded (``requests``) so tests can count reads.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import secrets as std_secrets  # the standard library module (fleet.secrets is never imported as "secrets")
import ssl
import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

CAPABILITIES = ("create", "read", "update", "patch", "delete", "list", "sudo", "deny")
# Paths every valid token may use, as Vault's built-in "default" policy allows.
DEFAULT_POLICY_PATHS = ("auth/token/lookup-self", "auth/token/renew-self", "auth/token/revoke-self")


class VaultHTTPError(Exception):
    """An error answer: status and Vault's ``{"errors": [...]}`` list."""

    def __init__(self, status: int, *messages: str) -> None:
        super().__init__(status, messages)
        self.status = status
        self.messages = list(messages)


def _denied() -> VaultHTTPError:
    return VaultHTTPError(403, "permission denied")


def _missing() -> VaultHTTPError:
    return VaultHTTPError(404)


def _rfc3339(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int((ts % 1) * 1e6):06d}Z"


# --- policies ---------------------------------------------------------------------------------

_HCL_PATH = re.compile(r'path\s+"(?P<path>[^"]+)"\s*\{(?P<body>[^}]*)\}', re.S)
_HCL_CAPS = re.compile(r"capabilities\s*=\s*\[(?P<caps>[^\]]*)\]", re.S)


def parse_policy(text: str | Mapping[str, Any]) -> dict[str, frozenset[str]]:
    """A policy as ``{path pattern: capabilities}``, from HCL or JSON (Vault accepts both).

    Hand-written because only the ``path "..." { capabilities = [...] }`` stanza matters here and
    no HCL parser is among the dependencies.
    """
    rules: dict[str, set[str]] = {}
    if isinstance(text, Mapping):
        doc: Any = text
    else:
        stripped = text.strip()
        doc = json.loads(stripped) if stripped.startswith("{") else None
    if doc is not None:
        for pattern, body in (doc.get("path") or {}).items():
            rules.setdefault(pattern, set()).update(body.get("capabilities", []))
    else:
        cleaned = "\n".join(re.sub(r"(^|\s)(#|//).*$", "", line) for line in str(text).splitlines())
        for match in _HCL_PATH.finditer(cleaned):
            caps = _HCL_CAPS.search(match.group("body"))
            values = re.findall(r'"([^"]+)"', caps.group("caps")) if caps else []
            rules.setdefault(match.group("path"), set()).update(values)
    for pattern, caps in rules.items():
        unknown = caps - set(CAPABILITIES)
        if unknown:
            raise VaultHTTPError(400, f"invalid capabilities {sorted(unknown)} for path {pattern!r}")
    return {pattern: frozenset(caps) for pattern, caps in rules.items()}


def _pattern_matches(pattern: str, path: str) -> bool:
    glob = pattern.endswith("*")
    body = pattern[:-1] if glob else pattern
    p_parts = body.split("/")
    if glob:
        # "+" segments must line up; the last (partial) segment is a prefix
        t_parts = path.split("/")
        if len(t_parts) < len(p_parts):
            return False
        for i, part in enumerate(p_parts):
            last = i == len(p_parts) - 1
            if part == "+":
                if last and t_parts[i] == "":
                    return False
                continue
            if last:
                if not "/".join(t_parts[i:]).startswith(part):
                    return False
            elif t_parts[i] != part:
                return False
        return True
    t_parts = path.split("/")
    if len(t_parts) != len(p_parts):
        return False
    return all(p == "+" or p == t for p, t in zip(p_parts, t_parts, strict=True))


def _priority(pattern: str) -> tuple[int, int, int, int, str]:
    """Vault's ACL priority: the higher tuple is the more specific pattern."""
    wildcard_at = min((i for i, c in enumerate(pattern) if c in "*+"), default=len(pattern))
    return (
        wildcard_at,  # the later the first wildcard, the more specific
        0 if pattern.endswith("*") else 1,  # a glob loses to a non-glob
        -pattern.count("+"),  # more "+" segments lose
        len(pattern),  # shorter loses
        pattern,
    )


# --- state ------------------------------------------------------------------------------------


@dataclass
class Token:
    id: str
    namespace: str
    policies: list[str]
    ttl: int  # creation TTL, seconds; 0 = never expires
    issued: float
    expires: float | None
    renewable: bool
    explicit_max_ttl: int = 0
    display_name: str = "token"
    meta: dict[str, str] = field(default_factory=dict)
    accessor: str = field(default_factory=lambda: std_secrets.token_hex(12))
    path: str = "auth/token/create"


@dataclass
class KvEntry:
    versions: dict[int, dict[str, Any]] = field(default_factory=dict)
    current: int = 0
    created: float = 0.0
    updated: float = 0.0


@dataclass
class Mount:
    type: str  # "kv" or "transit"
    version: int = 1  # kv only
    kv: dict[str, Any] = field(default_factory=dict)  # v1: path -> data; v2: path -> KvEntry
    keys: dict[str, dict[str, Any]] = field(default_factory=dict)  # transit: name -> key


@dataclass
class AppRole:
    name: str
    role_id: str
    secret_ids: set[str]
    policies: list[str]
    token_ttl: int = 0
    token_max_ttl: int = 0


@dataclass
class KubernetesRole:
    name: str
    jwts: set[str]
    policies: list[str]
    ttl: int = 0


@dataclass
class Namespace:
    mounts: dict[str, Mount] = field(default_factory=dict)  # "kv/" -> Mount
    policies: dict[str, dict[str, frozenset[str]]] = field(default_factory=dict)
    auth: dict[str, str] = field(
        default_factory=lambda: {"token/": "token", "approle/": "approle", "kubernetes/": "kubernetes"}
    )
    approles: dict[str, dict[str, AppRole]] = field(default_factory=dict)  # auth mount -> roles
    k8s_roles: dict[str, dict[str, KubernetesRole]] = field(default_factory=dict)


@dataclass(frozen=True)
class Request:
    """One request the server answered (for tests that count backend reads)."""

    method: str
    path: str  # without /v1/
    namespace: str
    status: int


class VaultServer:
    """The server. Seed it directly (``put_secret``, ``put_policy``, ``create_token``, ...) or over HTTP."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        root_token: str = "root",
        kv_mounts: Mapping[str, int] | None = None,
        tls_cert: str | None = None,
        tls_key: str | None = None,
    ) -> None:
        self.host = host
        self.tls = (tls_cert, tls_key) if tls_cert else None
        self.port = port
        self.root_token = root_token
        self._lock = threading.RLock()
        self._offset = 0.0
        self.namespaces: dict[str, Namespace] = {"": Namespace()}
        self.tokens: dict[str, Token] = {}
        self.requests: list[Request] = []
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.tokens[root_token] = Token(
            id=root_token,
            namespace="",
            policies=["root"],
            ttl=0,
            issued=self.now(),
            expires=None,
            renewable=False,
            display_name="root",
            path="auth/token/root",
        )
        for mount, version in (kv_mounts if kv_mounts is not None else {"secret": 2}).items():
            self.enable_kv(mount, version=version)

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> VaultServer:
        handler = type("Handler", (_Handler,), {"server_state": self})
        self._httpd = ThreadingHTTPServer((self.host, self.port), handler)
        self._httpd.daemon_threads = True
        if self.tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(self.tls[0], self.tls[1])
            self._httpd.socket = context.wrap_socket(self._httpd.socket, server_side=True)
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="vault-test-server",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> VaultServer:
        return self.start() if self._httpd is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    address = url

    # -- clock ------------------------------------------------------------------------------

    def now(self) -> float:
        return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        """Move the server's clock forward (tokens expire without waiting)."""
        with self._lock:
            self._offset += seconds

    # -- requests ---------------------------------------------------------------------------

    def request_count(self, path_prefix: str = "", *, method: str | None = None) -> int:
        with self._lock:
            return sum(
                1
                for r in self.requests
                if r.path.startswith(path_prefix) and (method is None or r.method == method)
            )

    def reset_requests(self) -> None:
        with self._lock:
            self.requests.clear()

    # -- seeding helpers --------------------------------------------------------------------

    def _ns(self, namespace: str) -> Namespace:
        name = namespace.strip("/")
        if name not in self.namespaces:
            raise VaultHTTPError(400, f"namespace {name!r} does not exist")
        return self.namespaces[name]

    def create_namespace(self, name: str) -> None:
        with self._lock:
            self.namespaces.setdefault(name.strip("/"), Namespace())

    def enable_kv(self, mount: str, *, version: int = 2, namespace: str = "") -> None:
        with self._lock:
            self._ns(namespace).mounts[mount.strip("/") + "/"] = Mount(type="kv", version=version)

    def enable_transit(self, mount: str = "transit", *, namespace: str = "") -> None:
        with self._lock:
            self._ns(namespace).mounts[mount.strip("/") + "/"] = Mount(type="transit")

    def put_secret(self, mount: str, path: str, data: Mapping[str, Any], *, namespace: str = "") -> int:
        """Write a KV secret; returns its version (KV v2) or 0 (KV v1)."""
        with self._lock:
            m = self._ns(namespace).mounts[mount.strip("/") + "/"]
            return self._kv_write(m, path.strip("/"), dict(data))

    def put_policy(self, name: str, rules: str | Mapping[str, Any], *, namespace: str = "") -> None:
        with self._lock:
            self._ns(namespace).policies[name] = parse_policy(rules)

    def create_token(
        self,
        *,
        policies: Iterable[str] = ("default",),
        ttl: int = 0,
        renewable: bool = True,
        explicit_max_ttl: int = 0,
        namespace: str = "",
        token_id: str | None = None,
        display_name: str = "token",
        path: str = "auth/token/create",
    ) -> str:
        policies = list(policies)
        with self._lock:
            self._ns(namespace)
            now = self.now()
            token = Token(
                id=token_id or "hvs." + std_secrets.token_urlsafe(18),
                namespace=namespace.strip("/"),
                policies=sorted(set(policies) | {"default"}) if "root" not in policies else ["root"],
                ttl=ttl,
                issued=now,
                expires=now + ttl if ttl else None,
                renewable=renewable and ttl > 0,
                explicit_max_ttl=explicit_max_ttl,
                display_name=display_name,
                path=path,
            )
            self.tokens[token.id] = token
            return token.id

    def revoke_token(self, token: str) -> None:
        with self._lock:
            self.tokens.pop(token, None)

    def add_approle(
        self,
        role_name: str,
        *,
        policies: Iterable[str],
        token_ttl: int = 0,
        token_max_ttl: int = 0,
        role_id: str | None = None,
        secret_id: str | None = None,
        namespace: str = "",
        mount: str = "approle",
    ) -> tuple[str, str]:
        """Configure an AppRole; returns (role_id, secret_id)."""
        with self._lock:
            role = AppRole(
                name=role_name,
                role_id=role_id or str(uuid.uuid4()),
                secret_ids={secret_id or str(uuid.uuid4())},
                policies=list(policies),
                token_ttl=token_ttl,
                token_max_ttl=token_max_ttl,
            )
            ns = self._ns(namespace)
            ns.auth.setdefault(mount.strip("/") + "/", "approle")
            ns.approles.setdefault(mount.strip("/") + "/", {})[role_name] = role
            return role.role_id, next(iter(role.secret_ids))

    def add_kubernetes_role(
        self,
        role: str,
        *,
        jwts: Iterable[str],
        policies: Iterable[str],
        ttl: int = 0,
        namespace: str = "",
        mount: str = "kubernetes",
    ) -> None:
        """Configure a Kubernetes auth role that accepts exactly the given service-account JWTs."""
        with self._lock:
            ns = self._ns(namespace)
            ns.auth.setdefault(mount.strip("/") + "/", "kubernetes")
            ns.k8s_roles.setdefault(mount.strip("/") + "/", {})[role] = KubernetesRole(
                name=role, jwts=set(jwts), policies=list(policies), ttl=ttl
            )

    # -- request handling -------------------------------------------------------------------

    def handle(self, method: str, raw_path: str, headers: Mapping[str, str], body: bytes) -> tuple[int, Any]:
        """Answer one request: (status, JSON body or None)."""
        split = urlsplit(raw_path)
        query = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        path = split.path
        namespace = (headers.get("X-Vault-Namespace") or "").strip("/")
        status = 500
        try:
            if not path.startswith("/v1/"):
                raise _missing()
            path = path[len("/v1/") :].strip("/")
            if method == "GET" and query.get("list") in ("true", "1"):
                method = "LIST"
            try:
                payload = json.loads(body) if body.strip() else {}
            except json.JSONDecodeError:
                raise VaultHTTPError(400, "failed to parse JSON input") from None
            if not isinstance(payload, dict):
                raise VaultHTTPError(400, "failed to parse JSON input: not an object")
            with self._lock:
                status, answer = self._route(
                    method, path, namespace, headers.get("X-Vault-Token"), query, payload
                )
            return status, answer
        except VaultHTTPError as exc:
            status = exc.status
            return exc.status, {"errors": exc.messages}
        finally:
            with self._lock:
                self.requests.append(Request(method=method, path=path, namespace=namespace, status=status))

    def _route(
        self,
        method: str,
        path: str,
        namespace: str,
        token_id: str | None,
        query: dict[str, str],
        body: dict[str, Any],
    ) -> tuple[int, Any]:
        if path == "sys/health":
            return 200, {
                "initialized": True,
                "sealed": False,
                "standby": False,
                "performance_standby": False,
                "server_time_utc": int(self.now()),
                "version": "1.17.0+fleet-test",
                "cluster_name": "fleet-test",
            }
        if namespace and namespace not in self.namespaces:
            raise _denied()
        ns = self.namespaces[namespace]
        # logins need no token
        auth_mount, rest = self._auth_mount(ns, path)
        if auth_mount is not None and rest == "login" and method in ("POST", "PUT"):
            kind = ns.auth[auth_mount]
            if kind == "approle":
                return 200, self._approle_login(ns, auth_mount, namespace, body)
            if kind == "kubernetes":
                return 200, self._kubernetes_login(ns, auth_mount, namespace, body)
        token = self._token(token_id)
        if path.startswith("sys/internal/ui/mounts/"):
            # Vault answers this for any token with some access to the mount (the CLI's KV preflight)
            mount_path, mount = self._mount(ns, path[len("sys/internal/ui/mounts/") :])
            if not self._has_access_under(token, namespace, mount_path):
                raise _denied()
            return 200, self._wrap({"path": mount_path, **self._mount_info(mount)})
        if path.startswith("auth/token/"):
            return self._token_api(method, path[len("auth/token/") :], token, namespace, body)
        self._authorize(token, namespace, method, path)
        if path.startswith("sys/"):
            return self._sys(method, path[len("sys/") :], ns, namespace, body)
        if auth_mount is not None:
            return self._auth_config(method, ns, auth_mount, rest, body)
        mount_path, mount = self._mount(ns, path)
        rel = path[len(mount_path) :]
        if mount.type == "kv" and mount.version == 1:
            return self._kv1(method, mount, rel, body)
        if mount.type == "kv":
            return self._kv2(method, mount, mount_path, rel, query, body)
        return self._transit(method, mount, rel, body)

    # -- auth -------------------------------------------------------------------------------

    def _token(self, token_id: str | None) -> Token:
        token = self.tokens.get(token_id or "")
        if token is None:
            raise _denied()
        if token.expires is not None and token.expires <= self.now():
            del self.tokens[token.id]
            raise _denied()
        return token

    def _auth_mount(self, ns: Namespace, path: str) -> tuple[str | None, str]:
        if not path.startswith("auth/"):
            return None, ""
        rest = path[len("auth/") :] + "/"
        for mount in sorted(ns.auth, key=len, reverse=True):
            if rest.startswith(mount):
                return mount, rest[len(mount) :].strip("/")
        return None, ""

    def _issue(
        self, namespace: str, policies: list[str], ttl: int, max_ttl: int, meta: dict[str, str], path: str
    ) -> dict[str, Any]:
        token_id = self.create_token(
            policies=policies,
            ttl=ttl,
            renewable=True,
            explicit_max_ttl=max_ttl,
            namespace=namespace,
            path=path,
        )
        token = self.tokens[token_id]
        token.meta = meta
        return self._issue_answer(token, orphan=True)  # a login token has no parent

    def _approle_login(
        self, ns: Namespace, mount: str, namespace: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        role_id, secret_id = body.get("role_id"), body.get("secret_id")
        for role in ns.approles.get(mount, {}).values():
            if role.role_id == role_id:
                if secret_id not in role.secret_ids:
                    raise VaultHTTPError(400, "invalid role or secret ID")
                return self._issue(
                    namespace,
                    role.policies,
                    role.token_ttl,
                    role.token_max_ttl,
                    {"role_name": role.name},
                    f"auth/{mount}login",
                )
        raise VaultHTTPError(400, "invalid role or secret ID")

    def _kubernetes_login(
        self, ns: Namespace, mount: str, namespace: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        role = ns.k8s_roles.get(mount, {}).get(str(body.get("role", "")))
        if role is None:
            raise VaultHTTPError(400, f'invalid role name "{body.get("role", "")}"')
        if body.get("jwt") not in role.jwts:
            raise _denied()
        return self._issue(namespace, role.policies, role.ttl, 0, {"role": role.name}, f"auth/{mount}login")

    def _token_api(
        self, method: str, rest: str, token: Token, namespace: str, body: dict[str, Any]
    ) -> tuple[int, Any]:
        if rest in ("lookup-self",) and method == "GET":
            return 200, self._wrap(self._token_data(token))
        if rest == "lookup" and method in ("POST", "PUT"):
            self._authorize(token, namespace, "UPDATE", "auth/token/lookup")
            other = self.tokens.get(str(body.get("token", "")))
            if other is None:
                raise VaultHTTPError(400, "bad token")
            return 200, self._wrap(self._token_data(other))
        if rest == "renew-self" and method in ("POST", "PUT"):
            return 200, self._renew(token, body.get("increment"))
        if rest == "revoke-self" and method in ("POST", "PUT"):
            self.tokens.pop(token.id, None)
            return 204, None
        if rest in ("create", "create-orphan") and method in ("POST", "PUT"):
            self._authorize(token, namespace, "UPDATE", f"auth/token/{rest}")
            policies = body.get("policies") or token.policies
            if "root" not in token.policies and not set(policies) <= set(token.policies) | {"default"}:
                raise VaultHTTPError(400, "child policies must be subset of parent")
            ttl = _duration(body.get("ttl", 0))
            token_id = self.create_token(
                policies=policies,
                ttl=ttl,
                renewable=bool(body.get("renewable", True)),
                explicit_max_ttl=_duration(body.get("explicit_max_ttl", 0)),
                namespace=namespace,
                token_id=body.get("id"),
                display_name=body.get("display_name", "token"),
            )
            orphan = rest == "create-orphan" or bool(body.get("no_parent"))
            return 200, self._issue_answer(self.tokens[token_id], orphan=orphan)
        self._authorize(token, namespace, method, "auth/token/" + rest)
        raise VaultHTTPError(405, "unsupported operation")

    def _issue_answer(self, token: Token, *, orphan: bool = False) -> dict[str, Any]:
        return self._wrap(
            None,
            auth={
                "client_token": token.id,
                "accessor": token.accessor,
                "policies": token.policies,
                "token_policies": token.policies,
                "metadata": token.meta,
                "lease_duration": token.ttl,
                "renewable": token.renewable,
                "entity_id": "",
                "token_type": "service",
                "orphan": orphan,
            },
        )

    def _renew(self, token: Token, increment: Any) -> dict[str, Any]:
        if not token.renewable:
            raise VaultHTTPError(400, "lease is not renewable")
        now = self.now()
        ttl = _duration(increment) if increment else token.ttl
        expires = now + ttl
        if token.explicit_max_ttl:
            expires = min(expires, token.issued + token.explicit_max_ttl)
        token.expires = expires
        answer = self._issue_answer(token)
        answer["auth"]["lease_duration"] = max(0, int(expires - now))
        return answer

    def _token_data(self, token: Token) -> dict[str, Any]:
        now = self.now()
        return {
            "accessor": token.accessor,
            "creation_time": int(token.issued),
            "creation_ttl": token.ttl,
            "display_name": token.display_name,
            "entity_id": "",
            "expire_time": _rfc3339(token.expires) if token.expires else None,
            "explicit_max_ttl": token.explicit_max_ttl,
            "id": token.id,
            "issue_time": _rfc3339(token.issued),
            "meta": token.meta or None,
            "num_uses": 0,
            "orphan": False,
            "path": token.path,
            "policies": token.policies,
            "renewable": token.renewable,
            "ttl": max(0, int(token.expires - now)) if token.expires else 0,
            "type": "service",
            "namespace_path": token.namespace + "/" if token.namespace else "",
        }

    def _authorize(self, token: Token, namespace: str, method: str, path: str) -> None:
        if "root" in token.policies and (
            not token.namespace or token.namespace == namespace or namespace.startswith(token.namespace + "/")
        ):
            return
        # a token acts in its own namespace and below; paths are seen from its namespace
        if namespace == token.namespace:
            acl_path = path
        elif not token.namespace or namespace.startswith(token.namespace + "/"):
            relative = namespace[len(token.namespace) :].strip("/")
            acl_path = f"{relative}/{path}"
        else:
            raise _denied()
        if path in DEFAULT_POLICY_PATHS:
            return
        policies = self.namespaces[token.namespace].policies
        rules: dict[str, set[str]] = {}
        for name in token.policies:
            for pattern, caps in policies.get(name, {}).items():
                rules.setdefault(pattern, set()).update(caps)
        matching = [pattern for pattern in rules if _pattern_matches(pattern, acl_path)]
        if not matching:
            raise _denied()
        caps = rules[max(matching, key=_priority)]
        if "deny" in caps:
            raise _denied()
        needed = {
            "GET": {"read"},
            "LIST": {"list"},
            "DELETE": {"delete"},
            "PATCH": {"patch"},
            "POST": {"create", "update"},
            "PUT": {"create", "update"},
            "UPDATE": {"update"},
        }.get(method, {"sudo"})
        if not caps & needed:
            raise _denied()

    def _has_access_under(self, token: Token, namespace: str, mount_path: str) -> bool:
        if "root" in token.policies:
            return True
        prefix = mount_path
        if namespace != token.namespace:
            prefix = namespace[len(token.namespace) :].strip("/") + "/" + mount_path
        policies = self.namespaces[token.namespace].policies
        for name in token.policies:
            for pattern, caps in policies.get(name, {}).items():
                if caps - {"deny"} and (pattern.startswith(prefix) or prefix.startswith(pattern.rstrip("*"))):
                    return True
        return False

    def _auth_config(
        self, method: str, ns: Namespace, mount: str, rest: str, body: dict[str, Any]
    ) -> tuple[int, Any]:
        kind = ns.auth[mount]
        parts = rest.split("/")
        if kind == "approle" and parts[0] == "role" and len(parts) >= 2:
            roles = ns.approles.setdefault(mount, {})
            name = parts[1]
            if len(parts) == 2 and method in ("POST", "PUT"):
                existing = roles.get(name)
                roles[name] = AppRole(
                    name=name,
                    role_id=existing.role_id if existing else str(uuid.uuid4()),
                    secret_ids=existing.secret_ids if existing else set(),
                    policies=_list(body.get("token_policies", body.get("policies", []))),
                    token_ttl=_duration(body.get("token_ttl", 0)),
                    token_max_ttl=_duration(body.get("token_max_ttl", 0)),
                )
                return 204, None
            role = roles.get(name)
            if role is None:
                raise _missing()
            if len(parts) == 2 and method == "GET":
                return 200, self._wrap(
                    {
                        "token_policies": role.policies,
                        "token_ttl": role.token_ttl,
                        "token_max_ttl": role.token_max_ttl,
                    }
                )
            if parts[2:] == ["role-id"] and method == "GET":
                return 200, self._wrap({"role_id": role.role_id})
            if parts[2:] == ["secret-id"] and method in ("POST", "PUT"):
                secret_id = str(uuid.uuid4())
                role.secret_ids.add(secret_id)
                return 200, self._wrap(
                    {"secret_id": secret_id, "secret_id_accessor": str(uuid.uuid4()), "secret_id_ttl": 0}
                )
        raise _missing()

    # -- sys ----------------------------------------------------------------------------------

    def _sys(
        self, method: str, rest: str, ns: Namespace, namespace: str, body: dict[str, Any]
    ) -> tuple[int, Any]:
        if rest == "mounts" and method == "GET":
            return 200, self._wrap({path: self._mount_info(m) for path, m in ns.mounts.items()})
        if rest.startswith("mounts/"):
            mount = rest[len("mounts/") :].strip("/") + "/"
            if method in ("POST", "PUT"):
                kind = body.get("type", "")
                if kind in ("kv", "kv-v2"):
                    version = 2 if kind == "kv-v2" else int((body.get("options") or {}).get("version", 1))
                    ns.mounts[mount] = Mount(type="kv", version=version)
                elif kind == "transit":
                    ns.mounts[mount] = Mount(type="transit")
                else:
                    raise VaultHTTPError(400, f"plugin not found in the catalog: {kind}")
                return 204, None
            if method == "DELETE":
                ns.mounts.pop(mount, None)
                return 204, None
        if rest.startswith(("policies/acl/", "policy/")):
            name = rest.split("/", 2)[-1] if rest.startswith("policies/acl/") else rest[len("policy/") :]
            if method in ("POST", "PUT"):
                ns.policies[name] = parse_policy(body.get("policy", body.get("rules", "")))
                return 204, None
            if method == "GET":
                if name not in ns.policies:
                    raise _missing()
                rules = {p: {"capabilities": sorted(c)} for p, c in ns.policies[name].items()}
                return 200, self._wrap({"name": name, "policy": json.dumps({"path": rules})})
            if method == "DELETE":
                ns.policies.pop(name, None)
                return 204, None
        if rest.startswith("namespaces/") and method in ("POST", "PUT"):
            child = rest[len("namespaces/") :].strip("/")
            full = f"{namespace}/{child}" if namespace else child
            self.namespaces.setdefault(full, Namespace())
            return 200, self._wrap({"path": full + "/", "id": std_secrets.token_hex(3)})
        if rest.startswith("auth/") and method in ("POST", "PUT"):
            ns.auth[rest[len("auth/") :].strip("/") + "/"] = str(body.get("type", ""))
            return 204, None
        if rest == "auth" and method == "GET":
            return 200, self._wrap({path: {"type": kind} for path, kind in ns.auth.items()})
        raise _missing()

    def _mount(self, ns: Namespace, path: str) -> tuple[str, Mount]:
        probe = path.strip("/") + "/"
        for mount in sorted(ns.mounts, key=len, reverse=True):
            if probe.startswith(mount):
                return mount, ns.mounts[mount]
        raise VaultHTTPError(404, f'no handler for route "{path}". route entry not found.')

    @staticmethod
    def _mount_info(mount: Mount) -> dict[str, Any]:
        options = {"version": str(mount.version)} if mount.type == "kv" else None
        return {"type": mount.type, "options": options, "description": "", "config": {}}

    def _wrap(self, data: Any, **extra: Any) -> dict[str, Any]:
        return {
            "request_id": str(uuid.uuid4()),
            "lease_id": "",
            "renewable": False,
            "lease_duration": 0,
            "data": data,
            "wrap_info": None,
            "warnings": None,
            "auth": None,
            **extra,
        }

    # -- kv -----------------------------------------------------------------------------------

    def _kv_write(self, mount: Mount, path: str, data: dict[str, Any]) -> int:
        if mount.version == 1:
            mount.kv[path] = data
            return 0
        entry = mount.kv.setdefault(path, KvEntry(created=self.now()))
        entry.current += 1
        entry.updated = self.now()
        entry.versions[entry.current] = {
            "data": data,
            "created_time": _rfc3339(entry.updated),
            "deletion_time": "",
            "destroyed": False,
        }
        return entry.current

    def _kv1(self, method: str, mount: Mount, rel: str, body: dict[str, Any]) -> tuple[int, Any]:
        rel = rel.strip("/")
        if method == "GET":
            if rel not in mount.kv:
                raise _missing()
            return 200, self._wrap(mount.kv[rel], lease_duration=2764800)
        if method == "LIST":
            keys = _list_keys(mount.kv, rel)
            if not keys:
                raise _missing()
            return 200, self._wrap({"keys": keys})
        if method in ("POST", "PUT"):
            mount.kv[rel] = body
            return 204, None
        if method == "DELETE":
            mount.kv.pop(rel, None)
            return 204, None
        raise VaultHTTPError(405, "unsupported operation")

    def _kv2(
        self,
        method: str,
        mount: Mount,
        mount_path: str,
        rel: str,
        query: dict[str, str],
        body: dict[str, Any],
    ) -> tuple[int, Any]:
        section, _, sub = rel.partition("/")
        sub = sub.strip("/")
        entry: KvEntry | None = mount.kv.get(sub)
        if section == "config":
            return 200, self._wrap({"max_versions": 0, "cas_required": False, "delete_version_after": "0s"})
        if section == "data":
            if method == "GET":
                if entry is None or not entry.versions:
                    raise _missing()
                version = int(query.get("version") or 0) or entry.current
                stored = entry.versions.get(version)
                if stored is None:
                    raise _missing()
                metadata = {k: v for k, v in stored.items() if k != "data"} | {
                    "version": version,
                    "custom_metadata": None,
                }
                if stored["deletion_time"] or stored["destroyed"]:
                    # Vault answers 404 with the version's metadata for deleted and destroyed versions
                    return 404, {"errors": [], "data": {"data": None, "metadata": metadata}}
                return 200, self._wrap({"data": stored["data"], "metadata": metadata})
            if method in ("POST", "PUT"):
                options = body.get("options") or {}
                if "cas" in options and int(options["cas"]) != (entry.current if entry else 0):
                    raise VaultHTTPError(400, "check-and-set parameter did not match the current version")
                version = self._kv_write(mount, sub, dict(body.get("data") or {}))
                stored = mount.kv[sub].versions[version]
                return 200, self._wrap(
                    {k: v for k, v in stored.items() if k != "data"} | {"version": version}
                )
            if method == "DELETE":
                if entry is not None and entry.current in entry.versions:
                    entry.versions[entry.current]["deletion_time"] = _rfc3339(self.now())
                return 204, None
        if section in ("delete", "undelete", "destroy") and method in ("POST", "PUT"):
            if entry is None:
                return 204, None
            for version in body.get("versions") or []:
                stored = entry.versions.get(int(version))
                if stored is None:
                    continue
                if section == "delete":
                    stored["deletion_time"] = _rfc3339(self.now())
                elif section == "undelete" and not stored["destroyed"]:
                    stored["deletion_time"] = ""
                elif section == "destroy":
                    stored["destroyed"] = True
                    stored["data"] = None
            return 204, None
        if section == "metadata":
            if method == "LIST":
                keys = _list_keys(mount.kv, sub)
                if not keys:
                    raise _missing()
                return 200, self._wrap({"keys": keys})
            if method == "GET":
                if entry is None:
                    raise _missing()
                versions = {
                    str(n): {k: v for k, v in stored.items() if k != "data"}
                    for n, stored in entry.versions.items()
                }
                return 200, self._wrap(
                    {
                        "current_version": entry.current,
                        "oldest_version": min(entry.versions, default=0),
                        "created_time": _rfc3339(entry.created),
                        "updated_time": _rfc3339(entry.updated),
                        "max_versions": 0,
                        "cas_required": False,
                        "delete_version_after": "0s",
                        "custom_metadata": None,
                        "versions": versions,
                    }
                )
            if method == "DELETE":
                mount.kv.pop(sub, None)
                return 204, None
            if method in ("POST", "PUT"):
                return 204, None
        raise VaultHTTPError(405, f"unsupported path {mount_path}{rel}")

    # -- transit ------------------------------------------------------------------------------

    def _transit(self, method: str, mount: Mount, rel: str, body: dict[str, Any]) -> tuple[int, Any]:
        parts = rel.strip("/").split("/")
        if parts[0] == "keys" and len(parts) >= 2:
            name = parts[1]
            if len(parts) == 2 and method in ("POST", "PUT"):
                if body.get("type", "aes256-gcm96") != "aes256-gcm96":
                    raise VaultHTTPError(400, "only aes256-gcm96 keys are supported by the test server")
                mount.keys.setdefault(name, _new_transit_key())
                return 204, None
            key = mount.keys.get(name)
            if key is None:
                raise _missing()
            if len(parts) == 2 and method == "GET":
                versions = {str(v): int(self.now()) for v in key["versions"]}
                return 200, self._wrap(
                    {
                        "name": name,
                        "type": "aes256-gcm96",
                        "keys": versions,
                        "latest_version": key["latest"],
                        "min_decryption_version": 1,
                        "min_encryption_version": 0,
                        "deletion_allowed": False,
                        "exportable": False,
                        "supports_encryption": True,
                        "supports_decryption": True,
                    }
                )
            if parts[2:] == ["rotate"] and method in ("POST", "PUT"):
                key["latest"] += 1
                key["versions"][key["latest"]] = AESGCM.generate_key(bit_length=256)
                return 204, None
        if parts[0] == "encrypt" and len(parts) == 2 and method in ("POST", "PUT"):
            key = mount.keys.setdefault(parts[1], _new_transit_key())  # Vault upserts on encrypt
            version = int(body.get("key_version") or key["latest"])
            plaintext = _b64decode(body.get("plaintext", ""), "plaintext")
            nonce = os.urandom(12)
            sealed = AESGCM(key["versions"][version]).encrypt(nonce, plaintext, None)
            ciphertext = f"vault:v{version}:" + base64.b64encode(nonce + sealed).decode()
            return 200, self._wrap({"ciphertext": ciphertext, "key_version": version})
        if parts[0] == "decrypt" and len(parts) == 2 and method in ("POST", "PUT"):
            key = mount.keys.get(parts[1])
            if key is None:
                raise VaultHTTPError(400, "encryption key not found")
            match = re.fullmatch(r"vault:v(\d+):(.+)", str(body.get("ciphertext", "")))
            if match is None or int(match.group(1)) not in key["versions"]:
                raise VaultHTTPError(400, "invalid ciphertext: no prefix")
            raw = _b64decode(match.group(2), "ciphertext")
            try:
                plaintext = AESGCM(key["versions"][int(match.group(1))]).decrypt(raw[:12], raw[12:], None)
            except Exception:  # noqa: BLE001 - InvalidTag and malformed input answer alike
                raise VaultHTTPError(400, "cipher: message authentication failed") from None
            return 200, self._wrap({"plaintext": base64.b64encode(plaintext).decode()})
        raise _missing()


def _new_transit_key() -> dict[str, Any]:
    return {"latest": 1, "versions": {1: AESGCM.generate_key(bit_length=256)}}


def _b64decode(value: str, what: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except ValueError:
        raise VaultHTTPError(400, f"failed to base64-decode {what}") from None


def _list_keys(store: Mapping[str, Any], prefix: str) -> list[str]:
    prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
    keys: set[str] = set()
    for path in store:
        if path.startswith(prefix):
            head, slash, _ = path[len(prefix) :].partition("/")
            keys.add(head + slash)
    return sorted(keys)


def _list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return [str(v) for v in value or []]


def _duration(value: Any) -> int:
    """Vault durations: seconds as a number, or "30s", "5m", "1h"."""
    if value in (None, ""):
        return 0
    if isinstance(value, int | float):
        return int(value)
    match = re.fullmatch(r"(\d+)([smhd]?)", str(value).strip())
    if match is None:
        raise VaultHTTPError(400, f"invalid duration {value!r}")
    return int(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]


class _Handler(BaseHTTPRequestHandler):
    server_state: VaultServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = (
        True  # headers and body go out as two writes: without this, delayed ACKs add ~40 ms per request
    )

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = dict(self.headers.items())
        status, answer = self.server_state.handle(self.command, self.path, headers, body)
        data = b"" if answer is None else json.dumps(answer).encode()
        self.send_response(204 if answer is None and status == 200 else status)
        if data:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if data:
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_LIST = do_PATCH = _serve

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
        return  # quiet: tests read ``VaultServer.requests`` instead


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="A Vault API test server (in memory).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8200)
    parser.add_argument("--root-token", default=os.environ.get("VAULT_DEV_ROOT_TOKEN_ID", "root"))
    parser.add_argument(
        "--kv",
        action="append",
        default=[],
        metavar="MOUNT=VERSION",
        help="a KV mount, e.g. secret=2 or legacy=1 (default: secret=2)",
    )
    parser.add_argument("--transit", action="append", default=[], metavar="MOUNT", help="a transit mount")
    parser.add_argument("--tls-cert", help="serve HTTPS with this PEM certificate (and --tls-key)")
    parser.add_argument("--tls-key", help="the PEM private key of --tls-cert")
    args = parser.parse_args(argv)
    kv = {}
    for spec in args.kv or ["secret=2"]:
        mount, _, version = spec.partition("=")
        kv[mount] = int(version or 2)
    server = VaultServer(
        host=args.host,
        port=args.port,
        root_token=args.root_token,
        kv_mounts=kv,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
    )
    for mount in args.transit:
        server.enable_transit(mount)
    server.start()
    print(f"vault test server listening on {server.url} (root token {args.root_token!r})", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
