"""The process-wide mask for secret values.

Every secret value that fleet resolves or decrypts is registered here the moment it exists in
memory. Logging (fleet.log), diffs, reports, error messages and the status store pass their text
through ``mask`` before it leaves the process, so a value that slipped into a message by accident
is still replaced by ``MASK``. Values live only in this process's memory and are never written.
"""

from __future__ import annotations

import base64
import re
import threading
from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit

MASK = "***"
# Very short values ("1", "no") would mask ordinary words everywhere; they are still masked
# wherever fleet knows a field is secret (Secret data, resolved references), just not by search.
MIN_SEARCH_LENGTH = 4

_lock = threading.Lock()
_values: set[str] = set()


def register(value: str | bytes | None) -> None:
    """Remember a secret value (and its base64 form, as it appears in Secret ``data``)."""
    if value is None:
        return
    raw = value if isinstance(value, bytes) else value.encode()
    text = raw.decode(errors="replace")
    forms = {text, base64.b64encode(raw).decode()}
    forms.update(line for line in text.splitlines() if line.strip())
    with _lock:
        _values.update(form for form in forms if len(form) >= MIN_SEARCH_LENGTH)


def register_all(values: Iterable[str | bytes]) -> None:
    for value in values:
        register(value)


def mask(text: str) -> str:
    """Replace every registered secret value in ``text`` by ``MASK``."""
    if not text:
        return text
    with _lock:
        known = sorted(_values, key=len, reverse=True)
    for value in known:
        if value in text:
            text = text.replace(value, MASK)
    return text


def known_count() -> int:
    with _lock:
        return len(_values)


def snapshot() -> frozenset[str]:
    """The registered values, to ``restore`` later (tests isolate their registrations this way)."""
    with _lock:
        return frozenset(_values)


def restore(saved: frozenset[str]) -> None:
    with _lock:
        _values.clear()
        _values.update(saved)


def forget_all() -> None:
    """Drop every registered value (tests, and `fleet secrets refresh` in long-running mode)."""
    with _lock:
        _values.clear()


def safe_url(url: str) -> str:
    """``url`` without user and password (``https://user:token@host/...``), for messages, logs,
    cache keys and tables: credentials in a repository URL are a secret like any other."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # not a URL urllib can read: still drop anything that looks like user:pass@
        return re.sub(r"//[^/?#]*@", "//", url)
    if not (parts.username or parts.password):
        return url
    host = (parts.hostname or "") + (f":{port}" if port else "")
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
