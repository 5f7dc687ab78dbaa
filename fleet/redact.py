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

import ahocorasick_rs

MASK = "***"
# Very short values ("1", "no") would mask ordinary words everywhere; they are still masked
# wherever fleet knows a field is secret (Secret data, resolved references), just not by search.
MIN_SEARCH_LENGTH = 4

_lock = threading.Lock()
_values: set[str] = set()
# The automaton that finds every registered value in one pass over a text, rebuilt on the first
# mask after the values changed (None: not built yet, or nothing registered).
_searcher: ahocorasick_rs.AhoCorasick | None = None
_stale = False


def register(value: str | bytes | None) -> None:
    """Remember a secret value (and its base64 form, as it appears in Secret ``data``)."""
    if value is None:
        return
    raw = value if isinstance(value, bytes) else value.encode()
    text = raw.decode(errors="replace")
    forms = {text, base64.b64encode(raw).decode()}
    forms.update(line for line in text.splitlines() if line.strip())
    _update(form for form in forms if len(form) >= MIN_SEARCH_LENGTH)


def register_all(values: Iterable[str | bytes]) -> None:
    for value in values:
        register(value)


def _update(forms: Iterable[str]) -> None:
    global _stale
    new = set(forms)
    with _lock:
        if not new <= _values:
            _values.update(new)
            _stale = True


def _current() -> ahocorasick_rs.AhoCorasick | None:
    global _searcher, _stale
    # Without the lock while nothing changed: every thread of a worker masks every message, and
    # waiting for one lock per call cost as much as the search (a register done before the call
    # in this thread has set _stale already, so its value is always masked).
    if not _stale:
        return _searcher
    with _lock:
        if _stale:
            _searcher = ahocorasick_rs.AhoCorasick(list(_values)) if _values else None
            _stale = False
        return _searcher


def mask(text: str) -> str:
    """Replace every registered secret value in ``text`` by ``MASK``; where values overlap, the
    whole stretch they cover.

    One pass of an Aho-Corasick automaton over the text finds every value at once: a worker that
    registered the tokens of hundreds of clusters masks every diff, message and result, and a
    search per value made that the largest CPU cost of a sync at 200 clusters (issue 15).
    """
    if not text:
        return text
    searcher = _current()
    if searcher is None:
        return text
    found = searcher.find_matches_as_indexes(text, overlapping=True)
    if not found:
        return text
    pieces: list[str] = []
    done = 0  # text[:done] is in pieces already
    cover_start, cover_end = -1, -1
    for _index, start, end in sorted(found, key=lambda m: (m[1], -m[2])):
        if start < cover_end:  # overlaps the stretch being masked: widen it
            cover_end = max(cover_end, end)
            continue
        if cover_end >= 0:
            pieces.append(text[done:cover_start])
            pieces.append(MASK)
            done = cover_end
        cover_start, cover_end = start, end
    pieces.append(text[done:cover_start])
    pieces.append(MASK)
    pieces.append(text[cover_end:])
    return "".join(pieces)


def known_count() -> int:
    with _lock:
        return len(_values)


def snapshot() -> frozenset[str]:
    """The registered values, to ``restore`` later (tests isolate their registrations this way)."""
    with _lock:
        return frozenset(_values)


def restore(saved: frozenset[str]) -> None:
    global _stale
    with _lock:
        _values.clear()
        _values.update(saved)
        _stale = True


def forget_all() -> None:
    """Drop every registered value (tests, and `fleet secrets refresh` in long-running mode)."""
    global _stale
    with _lock:
        _values.clear()
        _stale = True


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
