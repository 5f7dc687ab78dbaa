"""The Vault provider: ``ref+vault://<path>[?query][#/key]`` read through hvac (KV v1 and v2).

Called by the resolver (``fleet.secrets.resolver``) inside the per-cluster worker, just before
apply. vals' semantics and parameter names are kept:

- ``ref+vault://kv/data/app/db#/password`` reads the secret ``kv/data/app/db`` and selects
  ``password``; without a fragment the path's last segment is the key
  (``ref+vault://kv/data/app/db/password``).
- KV v2 is detected per mount with the ``sys/internal/ui/mounts`` preflight, like the vault CLI
  and vals; the path may include ``data/`` (vals' documented form) or not. ``?version=N``
  reads an older KV v2 version.
- Query parameters (each overriding ``ProviderSettings.options["vault"]``, then the environment):
  ``address`` (``VAULT_ADDR``), ``namespace`` (``VAULT_NAMESPACE``, sent as
  ``X-Vault-Namespace``), ``auth_method`` = ``token`` | ``approle`` | ``kubernetes``
  (``VAULT_AUTH_METHOD``), ``token_env``, ``token_file`` (else ``VAULT_TOKEN``,
  ``VAULT_TOKEN_FILE``, ``~/.vault-token``), ``role_id`` / ``secret_id`` (``VAULT_ROLE_ID``,
  ``VAULT_SECRET_ID``; also ``secret_id_env`` / ``secret_id_file``), ``role`` (Kubernetes role;
  vals spells it ``role_id``), ``jwt_file`` (``VAULT_KUBERNETES_JWT_TOKEN_PATH``), ``mount``
  (the auth mount: ``VAULT_LOGIN_MOUNT_POINT`` / ``VAULT_KUBERNETES_MOUNT_POINT``), ``ca_cert``
  (``VAULT_CACERT``), ``skip_verify`` (``VAULT_SKIP_VERIFY``), ``version``, ``decode=base64``.

The client token is renewed (``renew-self``) once less than half of its TTL is left; AppRole and
Kubernetes sessions log in again when the token expired or was revoked. A 403 is told apart from
an expired token with one ``lookup-self``.
"""

from __future__ import annotations

import base64
import binascii
import os
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

import hvac
import hvac.exceptions
import requests

from fleet import clocks, log, redact
from fleet.secrets import providers, refs

logger = log.get_logger(__name__)

DEFAULT_JWT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount/token"
RENEW_FRACTION = 0.5  # renew the token once less than this share of its TTL is left
REQUEST_TIMEOUT = 30.0
RETRY_AFTER = 10.0


class AuthMethod(StrEnum):
    """How the provider logs in to Vault (vals' ``auth_method``)."""

    TOKEN = "token"  # a token from token_env / token_file / VAULT_TOKEN / ~/.vault-token
    APPROLE = "approle"  # role_id + secret_id against auth/<mount>/login
    KUBERNETES = "kubernetes"  # a service-account JWT from a file against auth/<mount>/login


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class ClientConfig:
    """What identifies one authenticated Vault session (held in memory only, never logged)."""

    address: str
    namespace: str
    auth_method: AuthMethod
    token_env: str | None = None
    token_file: str | None = None
    role_id: str | None = None
    secret_id: str | None = None
    secret_id_env: str | None = None
    secret_id_file: str | None = None
    role: str | None = None
    jwt_file: str = DEFAULT_JWT_PATH
    mount: str = ""
    ca_cert: str | None = None
    skip_verify: bool = False

    def __repr__(self) -> str:  # secret_id must never be printed
        return (
            f"ClientConfig(address={self.address!r}, namespace={self.namespace!r}, auth={self.auth_method})"
        )

    @classmethod
    def from_ref(cls, ref: refs.Ref, settings: providers.ProviderSettings) -> ClientConfig:
        def opt(name: str, *env: str, default: str | None = None) -> str | None:
            return providers.option(ref, settings, name, *env, default=default)

        address = opt("address", "VAULT_ADDR")
        host = opt("host")
        if not address and host:
            address = f"{opt('proto', default='https')}://{host}"
        if not address:
            raise refs.BadReference(
                f"{ref}: no Vault address (set ?address=, the vault provider settings or VAULT_ADDR)",
                ref=ref.display(),
            )
        raw_method = opt("auth_method", "VAULT_AUTH_METHOD", default="token") or "token"
        try:
            method = AuthMethod(raw_method)
        except ValueError:
            known = ", ".join(m.value for m in AuthMethod)
            raise refs.BadReference(
                f"{ref}: unknown auth_method {raw_method!r} ({known})", ref=ref.display()
            ) from None
        mount_env = {
            AuthMethod.APPROLE: "VAULT_LOGIN_MOUNT_POINT",
            AuthMethod.KUBERNETES: "VAULT_KUBERNETES_MOUNT_POINT",
        }
        mount = opt("mount", mount_env.get(method, "VAULT_TOKEN_MOUNT_POINT"), default=method.value)
        return cls(
            address=address.rstrip("/"),
            namespace=(opt("namespace", "VAULT_NAMESPACE", default="") or "").strip("/"),
            auth_method=method,
            token_env=opt("token_env"),
            token_file=opt("token_file"),
            role_id=opt("role_id", "VAULT_ROLE_ID"),
            secret_id=opt("secret_id", "VAULT_SECRET_ID"),
            secret_id_env=opt("secret_id_env"),
            secret_id_file=opt("secret_id_file"),
            role=opt("role")
            or (opt("role_id", "VAULT_ROLE_ID") if method is AuthMethod.KUBERNETES else None),
            jwt_file=opt("jwt_file", "VAULT_KUBERNETES_JWT_TOKEN_PATH", default=DEFAULT_JWT_PATH)
            or DEFAULT_JWT_PATH,
            mount=(mount or method.value).strip("/"),
            ca_cert=opt("ca_cert", "VAULT_CACERT"),
            skip_verify=_truthy(opt("skip_verify", "VAULT_SKIP_VERIFY")),
        )


class _Session:
    """One hvac client and its token's lifetime (renewal and re-login)."""

    def __init__(self, config: ClientConfig, clock: clocks.Clock) -> None:
        self.config = config
        self.clock = clock  # when the token runs out, and when to renew it
        verify: bool | str = not config.skip_verify
        if config.ca_cert and not config.skip_verify:
            verify = config.ca_cert
        self.client = hvac.Client(
            url=config.address, namespace=config.namespace or None, verify=verify, timeout=REQUEST_TIMEOUT
        )
        self.lock = threading.RLock()
        self.token_ttl = 0.0  # creation TTL of the current token (0: never expires)
        self.expires_at: float | None = None  # monotonic time; None: never
        self.renewable = False
        self.logged_in = False
        self.mounts: dict[str, int] = {}  # KV mount path ("kv/") -> KV version
        self.renewals = 0
        self.logins = 0

    @property
    def can_login_again(self) -> bool:
        return self.config.auth_method is not AuthMethod.TOKEN

    def where(self) -> str:
        ns = f" namespace {self.config.namespace}" if self.config.namespace else ""
        return f"Vault {self.config.address}{ns}"

    # -- login --------------------------------------------------------------------------------

    def login(self, ref: refs.Ref) -> None:
        config = self.config
        with _mapped(ref, self, action="log in"):
            if config.auth_method is AuthMethod.TOKEN:
                self.client.token = _read_token(config, ref)
                data = self.client.auth.token.lookup_self()["data"]
                self._lifetime(
                    float(data.get("ttl") or 0),
                    float(data.get("creation_ttl") or data.get("ttl") or 0),
                    bool(data.get("renewable")),
                )
            elif config.auth_method is AuthMethod.APPROLE:
                secret_id = _secret_id(config, ref)
                if not config.role_id or not secret_id:
                    raise refs.BadReference(
                        f"{ref}: AppRole auth needs role_id and secret_id"
                        " (query, settings, VAULT_ROLE_ID/VAULT_SECRET_ID)",
                        ref=ref.display(),
                    )
                auth = self.client.auth.approle.login(
                    role_id=config.role_id, secret_id=secret_id, mount_point=config.mount
                )["auth"]
                self._from_auth(auth)
            else:
                if not config.role:
                    raise refs.BadReference(
                        f"{ref}: Kubernetes auth needs a role (?role= or ?role_id=, or VAULT_ROLE_ID)",
                        ref=ref.display(),
                    )
                try:
                    jwt = Path(config.jwt_file).read_text().strip()
                except OSError as exc:
                    raise providers.ProviderError(
                        f"{ref}: cannot read the service-account token {config.jwt_file}: {exc.strerror}",
                        ref=ref.display(),
                    ) from None
                redact.register(jwt)
                auth = self.client.auth.kubernetes.login(role=config.role, jwt=jwt, mount_point=config.mount)[
                    "auth"
                ]
                self._from_auth(auth)
        redact.register(self.client.token)
        self.logged_in = True
        self.logins += 1
        logger.debug(
            "logged in to Vault",
            extra={
                "fields": {
                    "vault": config.address,
                    "namespace": config.namespace,
                    "auth": config.auth_method.value,
                    "ttl": self.token_ttl,
                }
            },
        )

    def _from_auth(self, auth: Mapping[str, Any]) -> None:
        ttl = float(auth.get("lease_duration") or 0)
        self._lifetime(ttl, ttl, bool(auth.get("renewable")))

    def _lifetime(self, remaining: float, creation_ttl: float, renewable: bool) -> None:
        self.token_ttl = creation_ttl
        self.expires_at = self.clock.monotonic() + remaining if remaining > 0 else None
        self.renewable = renewable

    # -- keeping the token alive --------------------------------------------------------------

    def ensure(self, ref: refs.Ref) -> None:
        """Log in on first use; renew or log in again when the token is running out."""
        with self.lock:
            if not self.logged_in:
                self.login(ref)
                return
            if self.expires_at is None:
                return
            remaining = self.expires_at - self.clock.monotonic()
            if remaining > self.token_ttl * RENEW_FRACTION:
                return
            if self.renewable:  # even when our clock says it ran out: Vault's TTLs are whole seconds
                try:
                    auth = self.client.auth.token.renew_self()["auth"]
                except (hvac.exceptions.Forbidden, hvac.exceptions.InvalidRequest):
                    auth = None  # expired, revoked or past its max TTL: log in again if we can
                except (hvac.exceptions.VaultError, requests.RequestException) as exc:
                    raise _translate(exc, ref, self, action="renew the token") from None
                if auth is not None:
                    self.renewals += 1
                    self.expires_at = self.clock.monotonic() + float(auth.get("lease_duration") or 0)
                    logger.debug("renewed the Vault token", extra={"fields": {"vault": self.config.address}})
                    if float(auth.get("lease_duration") or 0) > self.token_ttl * RENEW_FRACTION:
                        return
            if self.can_login_again:
                self.login(ref)

    def token_is_valid(self) -> bool:
        try:
            self.client.auth.token.lookup_self()
        except hvac.exceptions.Forbidden:
            return False
        return True


def _read_token(config: ClientConfig, ref: refs.Ref) -> str:
    """The token for token auth: token_env, token_file, VAULT_TOKEN, VAULT_TOKEN_FILE, ~/.vault-token."""
    if config.token_env:
        token = os.environ.get(config.token_env, "").strip()
        if not token:
            raise refs.BadReference(
                f"{ref}: token_env names {config.token_env}, which is not set", ref=ref.display()
            )
        return token
    candidates: list[str] = []
    if config.token_file:
        candidates.append(config.token_file)
    elif os.environ.get("VAULT_TOKEN", "").strip():
        return os.environ["VAULT_TOKEN"].strip()
    else:
        candidates += [os.environ.get("VAULT_TOKEN_FILE", ""), "~/.vault-token"]
    for candidate in filter(None, candidates):
        path = Path(candidate).expanduser()
        try:
            token = path.read_text().strip()
        except FileNotFoundError:
            if config.token_file:
                raise refs.BadReference(
                    f"{ref}: token_file {path} does not exist", ref=ref.display()
                ) from None
            continue
        except OSError as exc:
            raise providers.ProviderError(
                f"{ref}: cannot read token file {path}: {exc.strerror}", ref=ref.display()
            ) from None
        if token:
            return token
    raise providers.AccessDenied(
        f"{ref}: no Vault token (set VAULT_TOKEN, ~/.vault-token, ?token_env= or ?token_file=,"
        " or use approle/kubernetes auth)",
        ref=ref.display(),
    )


def _secret_id(config: ClientConfig, ref: refs.Ref) -> str | None:
    if config.secret_id_env:
        return os.environ.get(config.secret_id_env, "").strip() or None
    if config.secret_id_file:
        try:
            return Path(config.secret_id_file).expanduser().read_text().strip() or None
        except OSError as exc:
            raise providers.ProviderError(
                f"{ref}: cannot read secret_id_file {config.secret_id_file}: {exc.strerror}",
                ref=ref.display(),
            ) from None
    return config.secret_id


class _mapped:
    """Context manager: hvac / requests errors become fleet errors naming the reference."""

    def __init__(self, ref: refs.Ref, session: _Session, *, action: str) -> None:
        self.ref, self.session, self.action = ref, session, action

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> Literal[False]:
        if exc is None or isinstance(exc, refs.SecretError):
            return False
        if isinstance(exc, hvac.exceptions.VaultError | requests.RequestException):
            raise _translate(exc, self.ref, self.session, action=self.action) from None
        return False


def _vault_errors(exc: hvac.exceptions.VaultError) -> str:
    found = (
        [str(e) for e in (exc.errors or []) if e] if isinstance(exc.errors, list) else [str(exc.errors or "")]
    )
    return redact.mask("; ".join(e for e in found if e))[:300]


def _translate(exc: BaseException, ref: refs.Ref, session: _Session, *, action: str) -> refs.SecretError:
    where = session.where()
    shown = ref.display()
    if isinstance(exc, hvac.exceptions.Forbidden | hvac.exceptions.Unauthorized):
        status = 401 if isinstance(exc, hvac.exceptions.Unauthorized) else 403
        return providers.AccessDenied(
            f"{shown}: permission denied by {where} (HTTP {status}, {action})", ref=shown
        )
    if isinstance(exc, hvac.exceptions.InvalidPath):
        return providers.SecretNotFound(f"{shown}: not found in {where} (HTTP 404)", ref=shown)
    if isinstance(exc, hvac.exceptions.InvalidRequest):
        detail = _vault_errors(exc)
        if action == "log in":
            return providers.AccessDenied(
                f"{shown}: {where} refused the login ({detail or 'HTTP 400'})", ref=shown
            )
        return providers.ProviderError(
            f"{shown}: {where} rejected the request ({detail or 'HTTP 400'})", ref=shown
        )
    if isinstance(exc, hvac.exceptions.VaultError):
        return providers.ProviderUnavailable(
            f"{shown}: {where} failed to {action} ({type(exc).__name__})", ref=shown, retry_after=RETRY_AFTER
        )
    if isinstance(exc, requests.exceptions.SSLError):
        return providers.ProviderError(
            f"{shown}: TLS verification of {where} failed (see VAULT_CACERT / ?ca_cert=)", ref=shown
        )
    return providers.ProviderUnavailable(
        f"{shown}: cannot reach {where} ({type(exc).__name__})", ref=shown, retry_after=RETRY_AFTER
    )


class _Base64Document(Mapping[str, Any]):
    """A secret's data with ``decode=base64``: each value decoded when it is selected (as vals does:
    a sibling that is not base64 only fails when it is the one asked for)."""

    def __init__(self, data: Mapping[str, Any], ref: refs.Ref) -> None:
        self._data = data
        self._ref = ref

    def __getitem__(self, key: str) -> Any:
        return _decode(self._data[key], self._ref, key)

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


def _decode(value: Any, ref: refs.Ref, key: str) -> Any:
    if not isinstance(value, str):
        return value
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise providers.ProviderError(
            f"{ref}: base64 decode failed for key {key!r}", ref=ref.display()
        ) from None
    redact.register(raw)
    try:
        return raw.decode()
    except UnicodeDecodeError:
        return raw


class VaultProvider:
    """``ref+vault://``: one hvac session per (address, namespace, auth); sessions are not pickled.

    Parameters:
        clock: when tokens run out and are renewed (default: the process's clock, fleet.clock).
    """

    def __init__(
        self, settings: providers.ProviderSettings | None = None, *, clock: clocks.Clock | None = None
    ) -> None:
        self.settings = settings or providers.ProviderSettings()
        self.clock = clock or clocks.current()
        self._sessions: dict[ClientConfig, _Session] = {}
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        return {"settings": self.settings}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["settings"])  # type: ignore[misc]

    def session(self, ref: refs.Ref) -> _Session:
        config = ClientConfig.from_ref(ref, self.settings)
        with self._lock:
            found = self._sessions.get(config)
            if found is None:
                found = self._sessions[config] = _Session(config, self.clock)
        return found

    # -- Provider -------------------------------------------------------------------------------

    def get_string(self, ref: refs.Ref) -> str | bytes:
        parent, _, key = ref.path.strip("/").rpartition("/")
        if not parent or not key:
            raise refs.BadReference(
                f"{ref}: a Vault reference without a fragment needs <secret path>/<key> (or use #/key)",
                ref=ref.display(),
            )
        data = self._read(ref, parent)
        if key not in data:
            raise providers.SecretNotFound(
                f"{ref}: the secret {parent} has no key {key!r}", ref=ref.display()
            )
        value = data[key]
        if ref.param("decode", "raw") == "base64":
            return _decode(value, ref, key)
        return providers.to_text(value, ref_text=ref.display())

    def get_document(self, ref: refs.Ref) -> Mapping[str, Any]:
        data = self._read(ref, ref.path.strip("/"))
        if ref.param("decode", "raw") == "base64":
            return _Base64Document(data, ref)
        return data

    # -- reading --------------------------------------------------------------------------------

    def _read(self, ref: refs.Ref, path: str) -> Mapping[str, Any]:
        decode = ref.param("decode", "raw")
        if decode not in ("raw", "base64"):
            raise refs.BadReference(
                f"{ref}: unsupported decode={decode!r} (raw or base64)", ref=ref.display()
            )
        version = ref.param("version")
        if version is not None and not version.isdigit():
            raise refs.BadReference(f"{ref}: version must be a number, not {version!r}", ref=ref.display())
        session = self.session(ref)
        session.ensure(ref)
        try:
            return self._read_once(session, ref, path, version)
        except providers.AccessDenied:
            # Tell a real denial from a dead token: only the latter is fixed by logging in again.
            with session.lock:
                if session.token_is_valid():
                    raise
                if not session.can_login_again:
                    raise providers.AccessDenied(
                        f"{ref}: the Vault token for {session.where()} is invalid or expired",
                        ref=ref.display(),
                    ) from None
                session.login(ref)
            return self._read_once(session, ref, path, version)

    def _read_once(
        self, session: _Session, ref: refs.Ref, path: str, version: str | None
    ) -> Mapping[str, Any]:
        with _mapped(ref, session, action="read the secret"):
            mount, kv_version = self._mount_of(session, path)
            relative = path[len(mount) :].strip("/") if path.startswith(mount) else path.partition("/")[2]
            if kv_version == 2:
                if relative.startswith("data/"):
                    relative = relative[len("data/") :]  # vals' documented form: kv/data/<path>
                answer = session.client.secrets.kv.v2.read_secret_version(
                    path=relative,
                    mount_point=mount.strip("/"),
                    version=int(version) if version else None,
                    raise_on_deleted_version=False,
                )
                payload = answer.get("data") or {}
                data = payload.get("data")
                if data is None:
                    meta = payload.get("metadata") or {}
                    state = "destroyed" if meta.get("destroyed") else "deleted"
                    raise providers.SecretNotFound(
                        f"{ref}: version {meta.get('version', version or 'latest')} of the secret"
                        f" is {state} in {session.where()}",
                        ref=ref.display(),
                    )
                return data
            if version is not None:
                raise refs.BadReference(
                    f"{ref}: ?version= needs a KV v2 mount, and {mount} is KV v1", ref=ref.display()
                )
            answer = session.client.secrets.kv.v1.read_secret(path=relative, mount_point=mount.strip("/"))
            return answer.get("data") or {}

    def _mount_of(self, session: _Session, path: str) -> tuple[str, int]:
        """(mount path with a trailing "/", KV version) for a secret path, cached per session."""
        probe = path.strip("/") + "/"
        for mount, version in session.mounts.items():
            if probe.startswith(mount):
                return mount, version
        try:
            answer = session.client.adapter.get(f"/v1/sys/internal/ui/mounts/{path.strip('/')}")
        except (hvac.exceptions.Forbidden, hvac.exceptions.InvalidPath, hvac.exceptions.InvalidRequest):
            # Older Vault, or no access to the preflight: vals' rule, first segment is the mount,
            # and the "data/" form marks KV v2 (not cached: the next secret may tell otherwise).
            first, _, rest = path.strip("/").partition("/")
            return first + "/", 2 if rest.startswith("data/") else 1
        data = answer.get("data") or {}
        mount = str(data.get("path") or path.partition("/")[0] + "/")
        options = data.get("options") or {}
        version = 2 if str(options.get("version", "1")) == "2" else 1
        session.mounts[mount] = version
        return mount, version
