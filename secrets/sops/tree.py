"""The ordered SOPS tree, the walk over its leaves, and which leaves a file's rule encrypts.

Every store (YAML, JSON, dotenv, INI, binary) parses a file into this tree and writes it back, so
the crypto (``cipher``), the MAC and the crypt rules work the same for all of them. It mirrors the
upstream tree (FORMATS.md A.3): a mapping is a list of items in document order, a comment is an
item of its own, a list is a plain Python list, and a leaf is a typed scalar.

Leaf types and the SOPS ``type:`` they map to: ``str`` (str), ``int`` (int), ``float`` (float),
``bool`` (bool), ``GoTime`` (time), ``bytes`` (bytes), ``Comment`` (comment); ``None`` is skipped.
Binary data read as text keeps undecodable bytes as surrogates (``surrogateescape``), so a ``str``
leaf always turns back into exactly the bytes it was read from.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

DEFAULT_UNENCRYPTED_SUFFIX = "_unencrypted"


@dataclass(frozen=True)
class Comment:
    """A comment line (YAML, INI, dotenv); ``value`` is the text after ``#`` (usually starts with a space)."""

    value: str
    inline: bool = False  # written on the line of the value it follows (YAML line comments)


@dataclass
class Item:
    """One entry of a mapping: a string key and its value, or a comment (``key`` is a Comment)."""

    key: str | Comment
    value: Any = None


class Branch(list[Item]):
    """An ordered mapping: the items in document order (duplicates and comments included)."""

    def get(self, key: str, default: Any = None) -> Any:
        for item in self:
            if item.key == key:
                return item.value
        return default

    def keys(self) -> list[str]:
        return [item.key for item in self if isinstance(item.key, str)]


@dataclass(frozen=True)
class GoTime:
    """A YAML timestamp, kept as Go's ``time.Time.MarshalText`` writes it (RFC 3339, nanoseconds).

    Only the text matters to SOPS (it is what gets encrypted and hashed), so the value is stored
    as that canonical text; ``parse_timestamp`` builds it from any form go-yaml v3 accepts.
    """

    text: str

    def __str__(self) -> str:
        return self.text


# go-yaml v3 (resolve.go allowedTimestampFormats): RFC 3339 with short date fields, "t" allowed,
# a space-separated form without zone, and a bare date. Checked with Go's time.Parse rules.
_TS_DATE = r"(?P<y>\d{4})-(?P<mo>\d{1,2})-(?P<d>\d{1,2})"
_TS_TIME = r"(?P<h>\d{1,2}):(?P<mi>\d{1,2}):(?P<s>\d{1,2})(?:[.,](?P<frac>\d+))?"
_TS_FORMS = (
    re.compile(rf"^{_TS_DATE}[Tt]{_TS_TIME}(?P<zone>Z|[+-]\d{{2}}:\d{{2}})$"),
    re.compile(rf"^{_TS_DATE} {_TS_TIME}$"),
    re.compile(rf"^{_TS_DATE}$"),
)
_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def parse_timestamp(text: str) -> GoTime | None:
    """The timestamp ``text`` denotes in go-yaml v3, or None when it is not one."""
    if len(text) < 5 or not text[:4].isdigit() or text[4] != "-":
        return None
    for form in _TS_FORMS:
        match = form.match(text)
        if match is None:
            continue
        parts = match.groupdict()
        year, month, day = int(parts["y"]), int(parts["mo"]), int(parts["d"])
        hour, minute, second = (int(parts.get(name) or 0) for name in ("h", "mi", "s"))
        if (
            not 1 <= month <= 12
            or not 1 <= day <= _DAYS[month - 1]
            or hour > 23
            or minute > 59
            or second > 59
        ):
            return None
        if month == 2 and day == 29 and not (year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)):
            return None
        frac = (parts.get("frac") or "")[:9].rstrip("0")
        zone = parts.get("zone") or "Z"
        if zone in ("+00:00", "-00:00"):
            zone = "Z"
        stamp = f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}"
        return GoTime(f"{stamp}.{frac}{zone}" if frac else f"{stamp}{zone}")
    return None


_RFC3339 = re.compile(r"^(\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2})(?:\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def rfc3339(text: str) -> str:
    """``text`` parsed as RFC 3339 and written back as Go's ``time.RFC3339`` (seconds only).

    This is the AAD of the MAC (FORMATS.md A.5): the ``lastmodified`` string with fractional
    seconds dropped and a zero offset written ``Z``. Raises ValueError when it is not RFC 3339.
    """
    match = _RFC3339.match(text.strip())
    if match is None or parse_timestamp(match.group(1).replace("t", "T") + "Z") is None:
        raise ValueError(f"not an RFC 3339 timestamp: {text!r}")
    stamp, zone = match.group(1).replace("t", "T"), match.group(2).upper()
    if zone in ("+00:00", "-00:00"):
        zone = "Z"
    return stamp + zone


def now_rfc3339() -> str:
    """The current UTC time as sops writes ``lastmodified`` and ``created_at``."""
    return datetime.now(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


class RuleKind(StrEnum):
    """The crypt rule of a file: at most one per file (FORMATS.md A.4)."""

    UNENCRYPTED_SUFFIX = "unencrypted_suffix"  # encrypt unless a path component ends with it
    ENCRYPTED_SUFFIX = "encrypted_suffix"  # encrypt only where a path component ends with it
    UNENCRYPTED_REGEX = "unencrypted_regex"  # encrypt unless a path component matches
    ENCRYPTED_REGEX = "encrypted_regex"  # encrypt only where a path component matches
    UNENCRYPTED_COMMENT_REGEX = "unencrypted_comment_regex"  # not when an active comment matches
    ENCRYPTED_COMMENT_REGEX = "encrypted_comment_regex"  # only when an earlier active comment matches


@dataclass(frozen=True)
class CryptRule:
    """Which leaves are encrypted. Regexes are searched unanchored, like Go's ``regexp.Match``.

    Python's ``re`` stands in for Go's RE2: the two agree on the patterns people write for keys
    (anchors, alternations, classes); RE2-only syntax is rejected when the rule is built.
    """

    kind: RuleKind = RuleKind.UNENCRYPTED_SUFFIX
    value: str = DEFAULT_UNENCRYPTED_SUFFIX
    _pattern: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.kind in (
            RuleKind.UNENCRYPTED_REGEX,
            RuleKind.ENCRYPTED_REGEX,
            RuleKind.UNENCRYPTED_COMMENT_REGEX,
            RuleKind.ENCRYPTED_COMMENT_REGEX,
        ):
            object.__setattr__(self, "_pattern", re.compile(self.value))

    def _matches(self, text: str) -> bool:
        assert self._pattern is not None
        return self._pattern.search(text) is not None

    def should_encrypt(self, path: tuple[str, ...], comments: list[list[str]], *, is_comment: bool) -> bool:
        """Upstream ``shouldBeEncrypted``: the leaf at ``path`` under the active comment stack."""
        kind = self.kind
        if kind is RuleKind.UNENCRYPTED_SUFFIX:
            return not (self.value and any(part.endswith(self.value) for part in path))
        if kind is RuleKind.ENCRYPTED_SUFFIX:
            return any(part.endswith(self.value) for part in path)
        if kind is RuleKind.UNENCRYPTED_REGEX:
            return not any(self._matches(part) for part in path)
        if kind is RuleKind.ENCRYPTED_REGEX:
            return any(self._matches(part) for part in path)
        if kind is RuleKind.UNENCRYPTED_COMMENT_REGEX:
            return not any(self._matches(text) for level in comments for text in level)
        # ENCRYPTED_COMMENT_REGEX: the comment line that matches is itself left in clear.
        last_level = len(comments) - 1
        last_index = len(comments[-1]) - 1 if comments else -1
        for i, level in enumerate(comments):
            for j, text in enumerate(level):
                if is_comment and i == last_level and j == last_index:
                    continue
                if self._matches(text):
                    return True
        return False


@dataclass
class Leaf:
    """What the walk hands to its callback: a leaf, where it is, and whether the rule encrypts it."""

    value: Any
    path: tuple[str, ...]
    encrypt: bool
    is_comment: bool

    @property
    def aad(self) -> str:
        """The AES-GCM additional data: the path's keys joined by ``:``, plus a trailing ``:``."""
        return ":".join(self.path) + ":"


LeafCallback = Callable[[Leaf], Any]


class TreeError(ValueError):
    """The tree holds something SOPS cannot walk (a non-string key, an unknown leaf type)."""


def walk(branches: list[Branch], rule: CryptRule, on_leaf: LeafCallback) -> None:
    """Visit every leaf of every document in order and replace it by ``on_leaf``'s result.

    List indices are not part of the path; comments get the path of their enclosing mapping and
    join the active comment stack (cleared after each non-comment item, per nesting level).
    """
    for branch in branches:
        _walk_branch(branch, (), [], rule, on_leaf)


def _walk_branch(
    branch: Branch, path: tuple[str, ...], stack: list[list[str]], rule: CryptRule, on_leaf: LeafCallback
) -> None:
    stack = [*stack, []]
    for item in branch:
        if isinstance(item.key, Comment):
            stack[-1].append(item.key.value)
            leaf = Leaf(item.key, path, rule.should_encrypt(path, stack, is_comment=True), True)
            result = on_leaf(leaf)
            if isinstance(result, Comment):
                item.key = result
            elif isinstance(result, str):
                item.key = Comment(result, item.key.inline)
            else:
                raise TreeError(f"a comment became {type(result).__name__}")
            continue
        if not isinstance(item.key, str):
            raise TreeError(
                f"non-string key {item.key!r} ({type(item.key).__name__}): only string keys are supported"
            )
        value_is_comment = isinstance(item.value, Comment)
        if value_is_comment:
            stack[-1].append(item.value.value)
        item.value = _walk_value(item.value, (*path, item.key), stack, rule, on_leaf)
        if not value_is_comment:
            stack[-1] = []


def _walk_list(
    values: list[Any], path: tuple[str, ...], stack: list[list[str]], rule: CryptRule, on_leaf: LeafCallback
) -> list[Any]:
    stack = [*stack, []]
    for index, value in enumerate(values):
        is_comment = isinstance(value, Comment)
        if is_comment:
            stack[-1].append(value.value)
        values[index] = _walk_value(value, path, stack, rule, on_leaf)
        if not is_comment:
            stack[-1] = []
    return values


def _walk_value(
    value: Any, path: tuple[str, ...], stack: list[list[str]], rule: CryptRule, on_leaf: LeafCallback
) -> Any:
    if value is None:
        return None
    if isinstance(value, Branch):
        _walk_branch(value, path, stack, rule, on_leaf)
        return value
    if isinstance(value, list):
        return _walk_list(value, path, stack, rule, on_leaf)
    if isinstance(value, str | bool | int | float | bytes | GoTime | Comment):
        is_comment = isinstance(value, Comment)
        return on_leaf(Leaf(value, path, rule.should_encrypt(path, stack, is_comment=is_comment), is_comment))
    raise TreeError(f"cannot walk a value of type {type(value).__name__}")


def iter_leaves(value: Any) -> Iterator[Any]:
    """Every non-comment leaf below ``value`` (for registering decrypted values with the mask)."""
    if isinstance(value, Branch):
        for item in value:
            if isinstance(item.key, str):
                yield from iter_leaves(item.value)
    elif isinstance(value, list):
        for element in value:
            yield from iter_leaves(element)
    elif value is not None and not isinstance(value, Comment):
        yield value


def to_plain(value: Any) -> Any:
    """The tree as plain Python data (dict, list, scalars; comments dropped, times as text).

    Duplicate keys keep their last value, as a YAML or JSON reader would.
    """
    if isinstance(value, Branch):
        return {item.key: to_plain(item.value) for item in value if isinstance(item.key, str)}
    if isinstance(value, list):
        return [to_plain(element) for element in value if not isinstance(element, Comment)]
    if isinstance(value, GoTime):
        return value.text
    return value


def from_plain(value: Any) -> Any:
    """Plain Python data (dicts in insertion order) as a tree (for building files in code)."""
    if isinstance(value, dict):
        branch = Branch()
        for key, element in value.items():
            if not isinstance(key, str):
                raise TreeError(f"non-string key {key!r}: only string keys are supported")
            branch.append(Item(key, from_plain(element)))
        return branch
    if isinstance(value, list | tuple):
        return [from_plain(element) for element in value]
    if isinstance(value, datetime):
        stamp = parse_timestamp(value.isoformat())
        return stamp if stamp is not None else value.isoformat()
    return value
