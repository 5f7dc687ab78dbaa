"""Resolve secret references in manifests, values and credentials, per cluster, just before apply.

Where it sits: the sync engine renders an Application's manifests on the worker that handles one
cluster, then calls ``Resolver.for_cluster(cluster).resolve_object(obj)`` for each object right
before the diff and apply; the cluster client calls ``Resolver.credential_resolver(cluster)`` on
credentials before it connects. Values exist only in this process's memory:

- a per-run cache (one ``ClusterResolution``): a document is read once per run and cluster,
  however many references point into it;
- an optional TTL cache across runs (``Resolver(ttl=...)``, long-running mode), dropped by
  ``refresh()`` and whenever the refresh generation (bumped by ``fleet secrets refresh``) changes;
- nothing is written to disk, and a pickled Resolver carries configuration only.

Every value is registered with ``fleet.redact`` the moment it is read, and ``resolve_object``
reports which fields held secrets so diffs and reports can mask them (``mask_object``). Errors
name the cluster, the object, the field and the reference, never a value (issue 5).
"""

from __future__ import annotations

import base64
import copy
import json
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fleet import errors, log, models, redact
from fleet.secrets import providers, refs
from fleet.secrets.providers import Provider  # by name: Resolver's parameter `providers` shadows the module

logger = log.get_logger(__name__)

# A field of an object: dict keys and list indexes from the root, e.g. ("data", "password").
FieldPath = tuple[str | int, ...]
SecretPaths = frozenset[FieldPath]

GENERATION_FILE = "secrets-generation.json"

_STRING = "string"  # cache kind: Provider.get_string (reference without fragment)
_DOCUMENT = "document"  # cache kind: Provider.get_document (reference with fragment)


def format_path(path: FieldPath) -> str:
    """``("spec", "containers", 0, "env")`` -> ``spec.containers[0].env``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "<root>"


def describe_object(obj: Mapping[str, Any]) -> str:
    """``Secret default/db`` for messages."""
    meta = obj.get("metadata") or {}
    name = meta.get("name", "<unnamed>")
    namespace = meta.get("namespace")
    return f"{obj.get('kind', 'object')} {namespace + '/' if namespace else ''}{name}"


def state_dir(path: str | os.PathLike[str] | None = None) -> Path:
    """fleet's state directory, shared with the status store (``fleet.store.state_dir``)."""
    from fleet import store  # lazily: the store pulls in sqlite, which a worker resolving secrets never needs

    return store.state_dir(path)


def generation_path(directory: str | os.PathLike[str] | None = None) -> Path:
    """The refresh generation file in the state directory (``state_dir``)."""
    return state_dir(directory) / GENERATION_FILE


def read_generation(path: str | os.PathLike[str]) -> int:
    """The refresh generation recorded at ``path`` (0 when there is none yet)."""
    try:
        data = json.loads(Path(path).read_text())
        return int(data.get("generation", 0))
    except FileNotFoundError:
        return 0
    except (ValueError, OSError, AttributeError) as exc:
        raise errors.InputError(f"is not a secrets refresh generation file ({exc})", file=str(path)) from exc


def bump_generation(path: str | os.PathLike[str]) -> int:
    """Increase the refresh generation at ``path``: long-running resolvers drop their TTL cache.

    The file holds a counter and a timestamp, never a value or a hash of one.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    generation = read_generation(target) + 1
    tmp = target.with_suffix(target.suffix + ".tmp")
    tmp.write_text(json.dumps({"generation": generation, "refreshed_at": time.time()}) + "\n")
    os.replace(tmp, target)
    return generation


class _SingleFlightCache:
    """key -> value with one fetch per key even when threads ask at once (values in memory only)."""

    def __init__(self) -> None:
        self._values: dict[Any, Any] = {}
        self._locks: dict[Any, threading.Lock] = {}
        self._lock = threading.Lock()

    def get(self, key: Any, fetch: Callable[[], Any]) -> tuple[Any, bool]:
        """(value, was_cached)."""
        with self._lock:
            if key in self._values:
                return self._values[key], True
            key_lock = self._locks.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                if key in self._values:
                    return self._values[key], True
            value = fetch()
            with self._lock:
                self._values[key] = value
                self._locks.pop(key, None)
            return value, False

    def clear(self) -> None:
        with self._lock:
            self._values.clear()


class Resolver:
    """Resolves references through providers, with a per-run cache and an optional TTL cache.

    Parameters:
        providers: ``None`` for the default schemes (``providers.DEFAULT_ENABLED``), a list of
            scheme names to enable (e.g. ``["vault", "file"]``), or a mapping of scheme ->
            ``Provider`` instance or scheme name (instances must be picklable to cross Ray).
        ttl: seconds a value stays cached across runs (long-running mode); ``None`` caches per
            run only.
        base_dir: where relative paths of ``file`` and ``sops`` references start.
        settings: per-scheme defaults (``providers.ProviderSettings``); ``base_dir`` overrides its own.
        generation_file: a refresh generation file (``bump_generation``) checked at the start of
            every run; when it changed, the TTL cache is dropped.
        clock: monotonic seconds, for the TTL cache.

    Picklable: only configuration crosses a process boundary; caches, clients and locks are
    rebuilt empty in the receiving process.
    """

    def __init__(
        self,
        providers: Mapping[str, Provider | str] | Iterable[str] | None = None,
        *,
        ttl: float | None = None,
        base_dir: str | os.PathLike[str] | None = None,
        settings: providers.ProviderSettings | None = None,
        generation_file: str | os.PathLike[str] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if ttl is not None and ttl < 0:
            raise ValueError("ttl must be >= 0 seconds")
        given: dict[str, Provider] = {}
        enabled: list[str] = []
        if isinstance(providers, Mapping):
            for scheme, entry in providers.items():
                enabled.append(scheme)
                if not isinstance(entry, str):
                    given[scheme] = entry
        else:
            enabled.extend(_providers_module.enabled_schemes(providers))
        settings = settings or _providers_module.ProviderSettings()
        if base_dir is not None:
            settings = _providers_module.ProviderSettings(base_dir=str(base_dir), options=settings.options)
        self.schemes: tuple[str, ...] = tuple(enabled)
        self.ttl = ttl
        self.settings = settings
        self.generation_file = str(generation_file) if generation_file is not None else None
        self.clock = clock
        self._given = given
        self._init_runtime()

    def _init_runtime(self) -> None:
        self._instances: dict[str, providers.Provider] = dict(self._given)
        self._ttl_cache: dict[Any, tuple[float, Any]] = {}
        self._lock = threading.Lock()
        self._seen_generation: int | None = None
        self.fetch_count = 0  # backend reads made by this process (metrics, tests)

    def __getstate__(self) -> dict[str, Any]:
        return {
            "schemes": self.schemes,
            "ttl": self.ttl,
            "settings": self.settings,
            "generation_file": self.generation_file,
            "clock": self.clock,
            "_given": self._given,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._init_runtime()

    def __repr__(self) -> str:
        return f"Resolver(schemes={list(self.schemes)}, ttl={self.ttl})"

    # -- providers and caches -----------------------------------------------------------------

    def provider(self, scheme: str, *, ref: refs.Ref | None = None) -> providers.Provider:
        """The provider for ``scheme`` in this process (created on first use)."""
        with self._lock:
            found = self._instances.get(scheme)
        if found is not None:
            return found
        if scheme not in self.schemes:
            shown = ref.display() if ref else scheme
            raise refs.BadReference(
                f"{shown}: scheme {scheme!r} is not enabled (enabled: {', '.join(self.schemes)})",
                ref=ref.display() if ref else None,
            )
        created = _providers_module.create(scheme, self.settings)
        with self._lock:
            return self._instances.setdefault(scheme, created)

    def refresh(self) -> None:
        """Drop the TTL cache: the next run reads every value from its backend again (rotation)."""
        with self._lock:
            self._ttl_cache.clear()
        logger.info("secret cache dropped", extra={"fields": {"event": "secrets_refresh"}})

    def _check_generation(self) -> None:
        if self.generation_file is None:
            return
        generation = read_generation(self.generation_file)
        if self._seen_generation is not None and generation != self._seen_generation:
            self.refresh()
        self._seen_generation = generation

    def _fetch(self, kind: str, ref: refs.Ref) -> Any:
        """One backend read, through the TTL cache when there is one."""
        key = (kind, ref.document_key)
        if self.ttl:
            now = self.clock()
            with self._lock:
                cached = self._ttl_cache.get(key)
            if cached is not None and cached[0] > now:
                return cached[1]
        provider = self.provider(ref.scheme, ref=ref)
        try:
            value = provider.get_document(ref) if kind == _DOCUMENT else provider.get_string(ref)
        except errors.FleetError:
            raise
        except Exception as exc:  # noqa: BLE001 - a provider bug must not leak its message (it may quote data)
            raise _providers_module.ProviderError(
                f"{ref}: the {ref.scheme} provider failed ({type(exc).__name__})", ref=ref.display()
            ) from exc
        with self._lock:
            self.fetch_count += 1
        if isinstance(value, str | bytes):
            redact.register(value)  # documents: only the parts a fragment selects are registered
        if self.ttl:
            with self._lock:
                self._ttl_cache[key] = (self.clock() + self.ttl, value)
        return value

    # -- entry points -------------------------------------------------------------------------

    def for_cluster(self, cluster: models.Cluster | None) -> ClusterResolution:
        """A per-run, per-cluster resolution context (its cache lives as long as it does)."""
        self._check_generation()
        return ClusterResolution(self, cluster)

    def credential_resolver(self, cluster: models.Cluster | None) -> Callable[[str], str]:
        """For the cluster client: a function that resolves references in one credential string."""
        return self.for_cluster(cluster).resolve_string

    @staticmethod
    def has_references(obj: Any) -> bool:
        return refs.has_references(obj)

    @staticmethod
    def mask_object(obj: Mapping[str, Any], secret_paths: Iterable[FieldPath] = ()) -> dict[str, Any]:
        return mask_object(obj, secret_paths)


_providers_module = providers  # the parameter name ``providers`` shadows the module in __init__

has_references = refs.has_references  # for callers that only import the resolver


@dataclass(frozen=True)
class ObjectResolution:
    """The outcome for one object of ``ClusterResolution.resolve_all``: resolved, or why not."""

    source: Mapping[str, Any]
    obj: dict[str, Any] | None
    secret_paths: SecretPaths
    error: refs.SecretError | errors.FleetError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class ClusterResolution:
    """References resolved for one cluster during one run (values cached here, in memory)."""

    def __init__(self, resolver: Resolver, cluster: models.Cluster | None) -> None:
        self.resolver = resolver
        self.cluster = cluster
        self.variables = refs.cluster_variables(cluster)
        self._cache = _SingleFlightCache()
        self.references: set[str] = set()  # displays of the references resolved (for reports)

    @property
    def cluster_name(self) -> str | None:
        return self.cluster.name if self.cluster is not None else None

    # -- one reference -------------------------------------------------------------------------

    def _prepare(self, raw: refs.Ref) -> refs.Ref:
        return refs.resolve_template(raw, self.variables, cluster=self.cluster_name)

    def lookup(self, ref: refs.Ref) -> Any:
        """The value of one (already templated) reference: str, bytes, number, bool, dict, list."""
        kind = _DOCUMENT if ref.has_fragment else _STRING
        fetched, cached = self._cache.get((kind, ref.document_key), lambda: self.resolver._fetch(kind, ref))
        value = select(fetched, ref) if ref.has_fragment else fetched
        _register_value(value)
        self.references.add(ref.display())
        logger.debug(
            "secret reference resolved",
            extra={"fields": {"ref": ref.display(), "cluster": self.cluster_name, "cached": cached}},
        )
        return value

    def resolve_string(self, text: str, *, where: str | None = None) -> str:
        """``text`` with every reference replaced by its value as text.

        ``where`` (e.g. ``"credentials.bearer_token"``) is named in errors, with the cluster.
        """
        if not refs.contains_reference(text):
            return text
        return self._named(lambda: self._resolve_string(text), where)

    def resolve_value(self, text: str, *, where: str | None = None) -> Any:
        """Like ``resolve_string``, but a string that is one whole reference keeps the value's type
        (number, bool, object), as vals does."""
        if not refs.contains_reference(text):
            return text
        return self._named(lambda: self._resolve_value(text), where)

    def _named(self, compute: Callable[[], Any], where: str | None) -> Any:
        try:
            return compute()
        except errors.FleetError as exc:
            context = " ".join(part for part in (self._cluster_label(), where) if part)
            if not context:
                raise
            raise _with_context(exc, context) from exc

    def _cluster_label(self) -> str:
        return f"cluster {self.cluster_name}" if self.cluster_name else ""

    def _resolve_string(self, text: str) -> str:
        return self._substitute(text, binary_ok=False)

    def _resolve_value(self, text: str) -> Any:
        if refs.is_whole_reference(text):
            ref = self._prepare(refs.parse(text))
            value = self.lookup(ref)
            return _as_text(value, ref.display()) if isinstance(value, bytes) else value
        return self._resolve_string(text)

    def _substitute(self, text: str, *, binary_ok: bool) -> Any:
        """Replace references in ``text``; with ``binary_ok`` a whole reference may give bytes."""
        matches = list(refs.iter_matches(text))
        if binary_ok and len(matches) == 1 and matches[0].span() == (0, len(text)):
            ref = self._prepare(refs.parse(matches[0].group(0)))
            value = self.lookup(ref)
            return value if isinstance(value, bytes) else to_text(value, ref_text=ref.display())
        out: list[str] = []
        last = 0
        for match in matches:
            out.append(text[last : match.start()])
            ref = self._prepare(refs.parse(match.group(0)))
            out.append(to_text(self.lookup(ref), ref_text=ref.display()))
            last = match.end()
        out.append(text[last:])
        return "".join(out)

    # -- objects -------------------------------------------------------------------------------

    def resolve_object(
        self, obj: Mapping[str, Any], *, where: str | None = None
    ) -> tuple[dict[str, Any], SecretPaths]:
        """A resolved deep copy of ``obj`` and the fields that hold secrets.

        Every string is resolved (whole references keep their type); a Secret's ``data`` is
        base64-decoded, resolved and re-encoded (a reference written directly, not base64, in
        ``data`` works too), ``stringData`` is resolved in place. For a Secret every ``data`` and
        ``stringData`` key is reported as secret, whether or not it held a reference.

        Raises the provider's error (``providers.SecretNotFound``, ``AccessDenied``,
        ``ProviderUnavailable``, ``refs.BadReference``, ...) with the cluster, object, field and
        reference named in its message; the input object is never modified.
        """
        paths: set[FieldPath] = set()
        label = where or describe_object(obj)
        result = self._walk(obj, (), paths, label, secret=refs.is_secret(obj))
        return result, frozenset(paths)

    def resolve_all(self, objs: Sequence[Mapping[str, Any]]) -> list[ObjectResolution]:
        """Resolve each object on its own: a failing reference fails only its object."""
        results: list[ObjectResolution] = []
        for obj in objs:
            try:
                resolved, paths = self.resolve_object(obj)
            except errors.FleetError as exc:
                results.append(ObjectResolution(source=obj, obj=None, secret_paths=frozenset(), error=exc))
                continue
            results.append(ObjectResolution(source=obj, obj=resolved, secret_paths=paths))
        return results

    def _walk(self, value: Any, path: FieldPath, paths: set[FieldPath], label: str, *, secret: bool) -> Any:
        if isinstance(value, Mapping):
            out: dict[Any, Any] = {}
            for key, item in value.items():
                child = (*path, key)
                if secret and path == () and key in ("data", "stringData") and isinstance(item, Mapping):
                    out[key] = {
                        k: self._secret_field(v, (*child, k), paths, label, encoded=key == "data")
                        for k, v in item.items()
                    }
                else:
                    out[key] = self._walk(item, child, paths, label, secret=False)
            return out
        if isinstance(value, list | tuple):
            return [self._walk(item, (*path, i), paths, label, secret=False) for i, item in enumerate(value)]
        if isinstance(value, str) and refs.contains_reference(value):
            resolved = self._guarded(lambda: self._resolve_value(value), label, path)
            paths.add(path)
            return resolved
        return copy.deepcopy(value)

    def _secret_field(
        self, value: Any, path: FieldPath, paths: set[FieldPath], label: str, *, encoded: bool
    ) -> Any:
        paths.add(path)
        if not isinstance(value, str):
            return copy.deepcopy(value)
        if not encoded:  # stringData: plain text
            if not refs.contains_reference(value):
                return value
            return self._guarded(lambda: self._resolve_string(value), label, path)
        decoded = refs.decode_secret_data(value)
        if decoded is not None and refs.contains_reference(decoded):
            text = decoded
        elif decoded is None and refs.contains_reference(value):
            text = value  # a reference written in data as is, not base64-encoded
        else:
            return value
        resolved = self._guarded(lambda: self._substitute(text, binary_ok=True), label, path)
        raw = resolved if isinstance(resolved, bytes) else resolved.encode()
        return base64.b64encode(raw).decode()

    def _guarded(self, compute: Callable[[], Any], label: str, path: FieldPath) -> Any:
        """Run ``compute``; on failure re-raise the same error type with where it happened."""
        try:
            return compute()
        except errors.FleetError as exc:
            raise _with_context(exc, self._context(label, path)) from exc

    def _context(self, label: str, path: FieldPath) -> str:
        where = f"{label} field {format_path(path)}"
        return f"{self._cluster_label()}: {where}" if self.cluster_name else where


def _with_context(exc: errors.FleetError, context: str) -> errors.FleetError:
    """The same error (class, retry hint, ref) with ``context`` in front of its message."""
    clone = copy.copy(exc)
    clone.message = redact.mask(f"{context}: {exc.message}")
    clone.args = (clone.message,)
    return clone


def select(document: Any, ref: refs.Ref) -> Any:
    """Walk ``ref``'s fragment into a document (keys of objects, indexes of lists)."""
    current = document
    if isinstance(current, str | bytes):
        current = providers.parse_document(current, ref)
    for depth, key in enumerate(ref.fragment):
        if isinstance(current, Mapping):
            if key in current:
                current = current[key]
                continue
            # YAML may have read a key such as 1 or true as a non-string
            matches = [v for k, v in current.items() if str(k) == key]
            if matches:
                current = matches[0]
                continue
        elif isinstance(current, list):
            if key.isdigit() and int(key) < len(current):
                current = current[int(key)]
                continue
        else:
            parent = "/".join(ref.fragment[:depth])
            raise providers.ProviderError(
                f"{ref}: #/{parent} is a {_kind_of(current)}, not an object to select {key!r} from",
                ref=ref.display(),
            )
        at = "/".join(ref.fragment[: depth + 1])
        raise providers.SecretNotFound(f"{ref}: the secret has no key #/{at}", ref=ref.display())
    return current


def _kind_of(value: Any) -> str:
    return {str: "string", bytes: "binary value", bool: "boolean", int: "number", float: "number"}.get(
        type(value), type(value).__name__
    )


to_text = providers.to_text


def _as_text(value: bytes, ref_text: str) -> str:
    return providers.to_text(value, ref_text=ref_text)


def _register_value(value: Any) -> None:
    """Register a secret value (every leaf of a document) with the process-wide mask."""
    if isinstance(value, str | bytes):
        redact.register(value)
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int | float):
        redact.register(str(value))
    elif isinstance(value, Mapping):
        for item in value.values():
            _register_value(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _register_value(item)


def mask_object(obj: Mapping[str, Any], secret_paths: Iterable[FieldPath] = ()) -> dict[str, Any]:
    """A copy of ``obj`` fit to show: secret fields and Secret data as ``***``, registered values masked.

    Use it on desired and live objects alike before a diff or a report.
    """
    masked: dict[str, Any] = _mask_strings(obj)
    for path in secret_paths:
        _set_path(masked, path, redact.MASK)
    if refs.is_secret(obj):
        for key in ("data", "stringData"):
            section = masked.get(key)
            if isinstance(section, dict):
                for name in section:
                    section[name] = redact.MASK
    return masked


def _mask_strings(value: Any) -> Any:
    if isinstance(value, str):
        return redact.mask(value)
    if isinstance(value, Mapping):
        return {k: _mask_strings(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_mask_strings(v) for v in value]
    return copy.deepcopy(value)


def _set_path(obj: Any, path: FieldPath, replacement: Any) -> None:
    current = obj
    for part in path[:-1]:
        try:
            current = current[part]
        except (KeyError, IndexError, TypeError):
            return
    if not path:
        return
    try:
        if isinstance(current, dict) and path[-1] in current:
            current[path[-1]] = replacement
        elif isinstance(current, list) and isinstance(path[-1], int) and path[-1] < len(current):
            current[path[-1]] = replacement
    except TypeError:
        return
