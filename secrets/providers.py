"""Secret providers: the small interface every backend implements, and the scheme registry.

A provider turns a parsed reference (``fleet.secrets.refs.Ref``) into a value. It sits below the
resolver (``fleet.secrets.resolver``), which does the caching, fragment selection, templating,
masking and error context; a provider only talks to its backend. One module per backend:
``vault.py`` (hvac), ``aws.py`` (boto3), ``sops/`` (native SOPS), plus ``echo`` and ``file`` here.

The two methods mirror vals' ``GetString`` / ``GetStringMap``, so each backend keeps vals'
semantics for references with and without a fragment:

- ``get_string(ref)`` is called for a reference *without* a fragment and returns the value the
  path designates (Vault: the field named by the path's last segment; AWS: the whole secret
  string, or bytes for a binary secret; file: the whole file).
- ``get_document(ref)`` is called for a reference *with* a fragment and returns the document the
  path designates (Vault: the secret's data map; AWS / file: the value parsed as YAML or JSON).
  The resolver walks the fragment; providers never see it.

Providers are created in the process that uses them (a Ray worker builds its own from
``ProviderSettings``), hold their live clients privately and must drop them when pickled.
"""

from __future__ import annotations

import base64
import importlib
import json
import os
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import yaml

from fleet import errors
from fleet.secrets import refs


class SecretNotFound(refs.SecretError, errors.PermanentError):
    """The backend has no such secret, version or key (HTTP 404 and alike)."""


class AccessDenied(refs.SecretError, errors.PermanentError):
    """The backend refused: permission denied or bad credentials (HTTP 401/403)."""


class ProviderUnavailable(refs.SecretError, errors.TemporaryError):
    """The backend could not be reached or failed (connection refused, timeout, 429, 5xx)."""

    DEFAULT_RETRY_AFTER = 10.0


class ProviderError(refs.SecretError, errors.PermanentError):
    """Any other failure that retrying will not fix (bad provider config, undecodable value)."""


@runtime_checkable
class Provider(Protocol):
    """One backend. Values returned are registered with ``fleet.redact`` by the caller."""

    def get_string(self, ref: refs.Ref) -> str | bytes:
        """The value the reference's path designates (reference without a fragment)."""
        ...

    def get_document(self, ref: refs.Ref) -> Mapping[str, Any]:
        """The document the reference's path designates (reference with a fragment)."""
        ...


@dataclass(frozen=True)
class ProviderSettings:
    """Plain, picklable configuration from which any process can build its providers.

    ``options`` holds per-scheme defaults (``{"vault": {"address": ..., "auth_method":
    "approle"}}``) that a reference's own query parameters override; providers fall back to their
    usual environment variables (``VAULT_ADDR``, ``AWS_REGION``, ...) last. Keep credentials out of
    ``options`` (they would travel with the object): name an env var or a file instead
    (``token_env``, ``token_file``, ``secret_id_env``).
    ``base_dir`` anchors relative paths of file-reading schemes (``file``, ``sops``).
    """

    base_dir: str | None = None
    options: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def for_scheme(self, scheme: str) -> Mapping[str, str]:
        return self.options.get(scheme, {})


ProviderFactory = Callable[[ProviderSettings], Provider]

# scheme -> "module:attribute" of a factory taking ``ProviderSettings``. Import paths (not objects) so a
# Ray worker on another machine builds the same registry without importing every backend.
DEFAULT_PROVIDERS: dict[str, str] = {
    "vault": "fleet.secrets.vault:VaultProvider",  # HashiCorp Vault KV v1/v2, through hvac
    "awssecrets": "fleet.secrets.aws:SecretsManagerProvider",  # AWS Secrets Manager, through boto3
    "sops": "fleet.secrets.sops.provider:SopsProvider",  # one value of a SOPS file (secrets/sops/)
    "echo": "fleet.secrets.providers:EchoProvider",  # vals' echo: the path itself (tests, demos)
    "file": "fleet.secrets.providers:FileProvider",  # vals' file: a local file (opt-in, see below)
}
# Schemes a Resolver enables when it is given no explicit list. ``file`` is left out on purpose:
# a manifest from Git must not be able to read arbitrary files on the worker (e.g. a Vault token)
# and apply them to a cluster; callers that resolve their own local files opt in.
DEFAULT_ENABLED: tuple[str, ...] = ("vault", "awssecrets", "sops", "echo")

_lock = threading.Lock()
_registry: dict[str, str | ProviderFactory] = dict(DEFAULT_PROVIDERS)


def register(scheme: str, factory: str | ProviderFactory) -> None:
    """Add or replace the provider of ``scheme``.

    Prefer a ``"module:attribute"`` string: a callable registered at run time exists only in the
    process that registered it, not in Ray workers.
    """
    if not refs.SCHEME_PATTERN.match(scheme):
        raise ValueError(f"invalid scheme name {scheme!r}")
    with _lock:
        _registry[scheme] = factory


def schemes() -> list[str]:
    """Every registered scheme."""
    with _lock:
        return sorted(_registry)


def factory_for(scheme: str) -> ProviderFactory:
    """The factory of ``scheme``; ``BadReference`` when no provider handles it."""
    with _lock:
        entry = _registry.get(scheme)
    if entry is None:
        raise refs.BadReference(f"no secret provider for scheme {scheme!r} (known: {', '.join(schemes())})")
    if not isinstance(entry, str):
        return entry
    module_name, _, attribute = entry.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise ProviderError(
            f"the provider of scheme {scheme!r} is not available ({module_name} cannot be imported)"
        ) from exc
    factory: ProviderFactory = getattr(module, attribute)
    return factory


def create(scheme: str, settings: ProviderSettings | None = None) -> Provider:
    """A new provider instance for ``scheme``."""
    return factory_for(scheme)(settings or ProviderSettings())


def enabled_schemes(selection: Iterable[str] | None) -> tuple[str, ...]:
    """The schemes a resolver enables: ``selection``, or the defaults (``DEFAULT_ENABLED``)."""
    return tuple(selection) if selection is not None else DEFAULT_ENABLED


# --- helpers for providers --------------------------------------------------------------------


def parse_document(value: str | bytes, ref: refs.Ref) -> Mapping[str, Any]:
    """A secret value read as a YAML (or JSON, a subset of YAML) mapping, for fragment lookups."""
    text = value.decode() if isinstance(value, bytes) else value
    try:
        doc = yaml.safe_load(text)
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        # the parser's message can quote the value; keep only where it failed
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise ProviderError(
            f"{ref}: the secret is not valid YAML or JSON{where}", ref=ref.display()
        ) from None
    if not isinstance(doc, Mapping):
        raise ProviderError(
            f"{ref}: the secret is not a YAML or JSON object, so a fragment cannot select a key in it",
            ref=ref.display(),
        )
    return doc


def option(
    ref: refs.Ref, settings: ProviderSettings, name: str, *env: str, default: str | None = None
) -> str | None:
    """A setting: the reference's query, then ``ProviderSettings.options``, then env vars, then default."""
    value = ref.param(name)
    if value is not None:
        return value
    value = settings.for_scheme(ref.scheme).get(name)
    if value is not None:
        return value
    for var in env:
        if os.environ.get(var):
            return os.environ[var]
    return default


def to_text(value: Any, *, ref_text: str) -> str:
    """A value as it is written into a string: Go's ``%v`` for scalars (as vals), JSON for objects."""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        try:
            return value.decode()
        except UnicodeDecodeError:
            raise ProviderError(
                f"{ref_text}: the secret is binary; use the reference as a whole value in a Secret's data",
                ref=ref_text,
            ) from None
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, separators=(",", ":"), default=str)


class EchoProvider:
    """vals' ``echo``: ``ref+echo://a/b/c`` is ``a/b/c``; with ``#/a/b`` it is ``c`` (for tests)."""

    def __init__(self, settings: ProviderSettings | None = None) -> None:
        self.settings = settings or ProviderSettings()

    def get_string(self, ref: refs.Ref) -> str:
        return ref.path.rstrip("/")

    def get_document(self, ref: refs.Ref) -> Mapping[str, Any]:
        keys = ref.path.split("/")
        if len(keys) < 2:
            raise ProviderError(
                f"{ref}: echo needs two or more path segments to build a document", ref=str(ref)
            )
        doc: dict[str, Any] = {}
        current = doc
        for key in keys[:-2]:
            current = current.setdefault(key, {})
        current[keys[-2]] = keys[-1]
        return doc


class FileProvider:
    """vals' ``file``: a local file's content, or a key of a YAML/JSON file (``?encode=base64``).

    Relative paths are read under ``ProviderSettings.base_dir`` (or the working directory). When a
    ``base_dir`` is set, paths that leave it are refused unless the ``file`` options say
    ``allow_outside_base_dir: "true"`` (the CLI does, for a user's own local files).
    """

    def __init__(self, settings: ProviderSettings | None = None) -> None:
        self.settings = settings or ProviderSettings()

    def _read(self, ref: refs.Ref) -> bytes:
        raw = ref.path.rstrip("/")
        base = Path(self.settings.base_dir) if self.settings.base_dir else Path.cwd()
        path = (base / os.path.expanduser(raw)).resolve()
        confined = self.settings.for_scheme("file").get("allow_outside_base_dir", "false").lower() not in (
            "true",
            "1",
        )
        if self.settings.base_dir and confined and not path.is_relative_to(base.resolve()):
            raise AccessDenied(f"{ref}: the file is outside {base}", ref=str(ref))
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise SecretNotFound(f"{ref}: no such file {path}", ref=str(ref)) from None
        except OSError as exc:
            raise ProviderError(f"{ref}: cannot read {path}: {exc.strerror}", ref=str(ref)) from None

    def get_string(self, ref: refs.Ref) -> str | bytes:
        content = self._read(ref)
        encode = ref.param("encode", "raw")
        if encode == "base64":
            return base64.b64encode(content).decode()
        if encode != "raw":
            raise refs.BadReference(f"{ref}: unsupported encode={encode!r} (raw or base64)", ref=str(ref))
        try:
            return content.decode()
        except UnicodeDecodeError:
            return content

    def get_document(self, ref: refs.Ref) -> Mapping[str, Any]:
        content = self._read(ref)
        return parse_document(content, ref)
