"""Semantic versions for Sprig's ``semver`` and ``semverCompare`` (Masterminds/semver v3 rules).

Helm charts and ApplicationSets use ``semverCompare ">=1.25-0" .kubeVersion`` style checks.
The rules re-implemented here: versions are parsed loosely (``v1.2`` is 1.2.0), constraints
support ``= != > < >= <= ~ ~> ^``, x/X/* wildcards, ``a - b`` ranges, ``,``/space for AND and
``||`` for OR; a prerelease version only satisfies a constraint group that itself names a
prerelease.
"""

from __future__ import annotations

import re
from typing import Any

from fleet.gotemplate import values
from fleet.gotemplate.errors import FuncError

_LOOSE = re.compile(
    r"v?([0-9]+)(\.[0-9]+)?(\.[0-9]+)?"
    r"(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?"
    r"(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?\Z"
)
_CV = (
    r"v?([0-9|x|X|\*]+)(\.[0-9|x|X|\*]+)?(\.[0-9|x|X|\*]+)?"
    r"(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?"
    r"(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?"
)
_OPS = r"=||!=|>|<|>=|=>|<=|=<|~|~>|\^"
_CONSTRAINT = re.compile(rf"^\s*({_OPS})\s*({_CV})\s*\Z")
_RANGE = re.compile(rf"\s*({_CV})\s+-\s+({_CV})\s*")
_FIND = re.compile(rf"({_OPS})\s*({_CV})")
_VALID = re.compile(rf"^(\s*({_OPS})\s*({_CV})\s*)((?:\s+|,\s*)({_OPS})\s*({_CV})\s*)*\Z")
_ALLOWED = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-0123456789")


class Version(values.GoObject):
    """A *semver.Version: fields reachable as methods (.Major, .Minor, .Patch, ...)."""

    go_type = "*semver.Version"
    go_kind = "ptr"

    def __init__(self, major: int, minor: int, patch: int, pre: str, metadata: str, original: str) -> None:
        self.major = major
        self.minor = minor
        self.patch = patch
        self.pre = pre
        self.metadata = metadata
        self.original = original

    def __str__(self) -> str:
        text = f"{self.major}.{self.minor}.{self.patch}"
        if self.pre:
            text += "-" + self.pre
        if self.metadata:
            text += "+" + self.metadata
        return text

    def __repr__(self) -> str:
        return f"Version({self})"

    def go_methods(self) -> dict[str, Any]:
        return {
            "Major": lambda: self.major,
            "Minor": lambda: self.minor,
            "Patch": lambda: self.patch,
            "Prerelease": lambda: self.pre,
            "Metadata": lambda: self.metadata,
            "Original": lambda: self.original,
            "String": lambda: str(self),
        }

    def compare(self, other: Version) -> int:
        for mine, theirs in ((self.major, other.major), (self.minor, other.minor), (self.patch, other.patch)):
            if mine != theirs:
                return 1 if mine > theirs else -1
        if not self.pre and not other.pre:
            return 0
        if not self.pre:
            return 1
        if not other.pre:
            return -1
        return _compare_prerelease(self.pre, other.pre)


def _compare_prerelease(left: str, right: str) -> int:
    left_parts = left.split(".")
    right_parts = right.split(".")
    for index in range(max(len(left_parts), len(right_parts))):
        a = left_parts[index] if index < len(left_parts) else ""
        b = right_parts[index] if index < len(right_parts) else ""
        result = _compare_part(a, b)
        if result:
            return result
    return 0


def _compare_part(a: str, b: str) -> int:
    if a == b:
        return 0
    if a == "":
        return -1
    if b == "":
        return 1
    a_num = a.isdigit()
    b_num = b.isdigit()
    if not a_num and not b_num:
        return 1 if a > b else -1
    if not b_num:
        return -1
    if not a_num:
        return 1
    return 1 if int(a) > int(b) else -1


def _validate_prerelease(pre: str) -> None:
    for part in pre.split("."):
        if part == "":
            raise FuncError("invalid prerelease string")
        if part.isdigit():
            if len(part) > 1 and part[0] == "0":
                raise FuncError("version segment starts with 0")
        elif not set(part) <= _ALLOWED:
            raise FuncError("invalid prerelease string")


def _validate_metadata(metadata: str) -> None:
    for part in metadata.split("."):
        if part == "" or not set(part) <= _ALLOWED:
            raise FuncError("invalid metadata string")


def parse_version(text: str) -> Version:
    """semver.NewVersion: loose parsing (``v`` prefix, missing minor and patch are 0)."""
    match = _LOOSE.match(text)
    if not match:
        raise FuncError("invalid semantic version")
    numbers = []
    for group in (match.group(1), match.group(2), match.group(3)):
        if group is None:
            numbers.append(0)
            continue
        value = int(group.lstrip("."))
        if value >= 1 << 64:
            raise FuncError(
                f'error parsing version segment: strconv.ParseUint: parsing "{group.lstrip(".")}": value out of range'
            )
        numbers.append(value)
    pre = match.group(5) or ""
    metadata = match.group(8) or ""
    if pre:
        _validate_prerelease(pre)
    if metadata:
        _validate_metadata(metadata)
    return Version(numbers[0], numbers[1], numbers[2], pre, metadata, text)


class _Constraint:
    def __init__(self, text: str) -> None:
        match = _CONSTRAINT.match(text)
        if not match:
            raise FuncError(f"improper constraint: {_q(text)}")
        self.op = match.group(1)
        self.orig = match.group(2)
        major, minor, patch, pre = match.group(3), match.group(4), match.group(5), match.group(6) or ""
        self.dirty = self.minor_dirty = self.patch_dirty = False
        version = self.orig
        if _is_x(major):
            version = "0.0.0" + pre
            self.dirty = True
        elif minor is None or _is_x(minor.lstrip(".")):
            self.minor_dirty = self.dirty = True
            version = f"{major}.0.0{pre}"
        elif patch is None or _is_x(patch.lstrip(".")):
            self.patch_dirty = self.dirty = True
            version = f"{major}{minor}.0{pre}"
        try:
            self.con = parse_version(version)
        except FuncError:
            raise FuncError("constraint parser error") from None

    def check(self, version: Version, include_pre: bool) -> bool:
        if version.pre and not include_pre:
            return False
        con = self.con
        op = self.op
        if op in ("", "="):
            if self.dirty:
                return self._tilde(version)
            return version.compare(con) == 0
        if op == "!=":
            if self.dirty:
                if con.major != version.major:
                    return True
                if con.minor != version.minor and not self.minor_dirty:
                    return True
                if self.minor_dirty:
                    return False
                if con.patch != version.patch and not self.patch_dirty:
                    return True
                if self.patch_dirty:
                    if version.pre or con.pre:
                        return _compare_prerelease(version.pre, con.pre) != 0
                    return False
            return version.compare(con) != 0
        if op == ">":
            if not self.dirty:
                return version.compare(con) == 1
            if version.major > con.major:
                return True
            if version.major < con.major or self.minor_dirty:
                return False
            if self.patch_dirty:
                return version.minor > con.minor
            return version.compare(con) == 1
        if op == "<":
            return version.compare(con) < 0
        if op in (">=", "=>"):
            return version.compare(con) >= 0
        if op in ("<=", "=<"):
            if not self.dirty:
                return version.compare(con) <= 0
            if version.major > con.major:
                return False
            return not (version.major == con.major and version.minor > con.minor and not self.minor_dirty)
        if op in ("~", "~>"):
            return self._tilde(version)
        if op == "^":
            return self._caret(version)
        return False

    def _tilde(self, version: Version) -> bool:
        con = self.con
        if version.compare(con) < 0:
            return False
        if (
            con.major == 0
            and con.minor == 0
            and con.patch == 0
            and not self.minor_dirty
            and not self.patch_dirty
        ):
            return True
        if version.major != con.major:
            return False
        return not (version.minor != con.minor and not self.minor_dirty)

    def _caret(self, version: Version) -> bool:
        con = self.con
        if version.compare(con) < 0:
            return False
        if con.major > 0 or self.minor_dirty:
            return version.major == con.major
        if con.major == 0 and version.major > 0:
            return False
        if con.minor > 0 or self.patch_dirty:
            return version.minor == con.minor
        if con.minor == 0 and version.minor > 0:
            return False
        return con.patch == version.patch


def _is_x(text: str | None) -> bool:
    return text in ("x", "X", "*")


def _q(text: str) -> str:
    from fleet.gotemplate import gofmt

    return gofmt.quote(text)


def _rewrite_range(text: str) -> str:
    for match in list(_RANGE.finditer(text)):
        text = text.replace(match.group(0), f">= {match.group(1)}, <= {match.group(11)} ", 1)
    return text


def check(constraint: str, version_text: str) -> bool:
    """semverCompare: does ``version_text`` satisfy ``constraint``?"""
    groups = []
    for part in _rewrite_range(constraint).split("||"):
        if not _VALID.match(part):
            raise FuncError(f"improper constraint: {_q(part)}")
        texts = [match.group(0) for match in _FIND.finditer(part)] or [part]
        parsed = [_Constraint(text) for text in texts]
        has_pre = any(item.con.pre for item in parsed)
        groups.append((parsed, has_pre))
    version = parse_version(version_text)
    return any(all(item.check(version, has_pre) for item in parsed) for parsed, has_pre in groups)
