"""The INI store: sections as top-level mappings, read and written the way go-ini does it.

Upstream reads INI with go-ini (non-unique sections allowed): ``=`` or ``:`` separates keys from
values, ``#`` or ``;`` starts a comment (also inside an unquoted value), ``\"\"\"`` and backticks
quote values, an always-present ``DEFAULT`` section holds keys before the first header. A
section's comment is the first item of its mapping (AAD ``section:``); a key's comment follows the
key. The metadata lives in a ``[sops]`` section, flattened, with newlines written as ``\\n`` —
SOPS 3.13.0/3.13.1 wrote ``\"\"\"`` blocks instead, and both are read (FORMATS.md A.9).

Written by hand: Python's configparser lowercases keys, merges duplicate sections, interpolates
``%`` and has none of go-ini's quoting, so it reads other values than sops does.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fleet.secrets.sops import errors, metadata, tree
from fleet.secrets.sops.stores import dotenv, flatten

DEFAULT_SECTION = "DEFAULT"
_DELIMITERS = "=:"


@dataclass
class _Key:
    name: str
    value: str
    comment: str = ""


@dataclass
class _Section:
    name: str
    comment: str = ""
    keys: list[_Key] = field(default_factory=list)

    def set(self, name: str, value: str, comment: str) -> None:
        for key in self.keys:
            if key.name == name:  # go-ini keeps one key per name: the last value wins
                key.value, key.comment = value, comment
                return
        self.keys.append(_Key(name, value, comment))


def _clean_comment(text: str) -> str:
    positions = [i for i in (text.find("#"), text.find(";")) if i >= 0]
    return text[min(positions) :] if positions else ""


def _read_key_name(line: str, number: int, file: str | None) -> tuple[str, int]:
    quote = ""
    if line.startswith('"'):
        quote = '"""' if len(line) > 6 and line.startswith('"""') else '"'
    elif line.startswith("`"):
        quote = "`"
    if quote:
        start = len(quote)
        pos = line.find(quote, start)
        if pos < 0:
            raise errors.FormatError(f"line {number}: missing closing key quote", file=file)
        rest = line[pos + start :]
        idx = min((i for i in (rest.find(d) for d in _DELIMITERS) if i >= 0), default=-1)
        if idx < 0:
            raise errors.FormatError(f"line {number}: key-value delimiter not found", file=file)
        return line[start:pos].strip(), pos + idx + start + 1
    idx = min((i for i in (line.find(d) for d in _DELIMITERS) if i >= 0), default=-1)
    if idx < 0:
        raise errors.FormatError(f"line {number}: key-value delimiter not found", file=file)
    if idx == 0:
        raise errors.FormatError(f"line {number}: empty key name", file=file)
    return line[:idx].strip(), idx + 1


def _has_surrounded_quote(text: str, quote: str) -> bool:
    return len(text) >= 2 and text[0] == quote and text[-1] == quote and text[1:].find(quote) == len(text) - 2


class _Parser:
    def __init__(self, text: str, file: str | None) -> None:
        self.lines = text.split("\n")
        self.lines = [line + "\n" for line in self.lines[:-1]] + ([self.lines[-1]] if self.lines[-1] else [])
        self.position = 0
        self.file = file
        self.comment = ""

    def next_line(self) -> str | None:
        if self.position >= len(self.lines):
            return None
        line = self.lines[self.position]
        self.position += 1
        return line

    def read_value(self, raw: str, number: int) -> str:
        line = raw.lstrip()
        if not line:
            return ""
        quote = '"""' if len(line) > 3 and line.startswith('"""') else ("`" if line.startswith("`") else "")
        if quote:
            start = len(quote)
            pos = line.rfind(quote, start)
            if pos >= 0:
                return line[start:pos]
            value = line[start:]
            while True:
                following = self.next_line()
                if following is None:
                    raise errors.FormatError(f"line {number}: missing closing value quote", file=self.file)
                end = following.rfind(quote)
                if end >= 0:
                    value += following[:end]
                    self.comment += _clean_comment(following[end:]).strip()
                    return value
                value += following
        line = line.strip()
        if line.endswith("\\"):
            value = line[:-1]
            while True:
                following = self.next_line()
                if following is None:
                    break
                following = following.strip()
                if not following:
                    break
                value += following
                if not value.endswith("\\"):
                    break
                value = value[:-1]
            return value
        positions = [i for i in (line.find("#"), line.find(";")) if i >= 0]
        if positions:
            cut = min(positions)
            self.comment += line[cut:]
            line = line[:cut].strip()
        if _has_surrounded_quote(line, "'") or _has_surrounded_quote(line, '"'):
            line = line[1:-1]
        return line

    def parse(self) -> list[_Section]:
        sections = [_Section(DEFAULT_SECTION)]
        section = sections[0]
        counter = 1
        while (raw := self.next_line()) is not None:
            number = self.position
            if self.position == 1 and raw.startswith("\ufeff"):
                raw = raw[1:]
            line = raw.lstrip()
            if not line:
                continue
            if line[0] in "#;":
                self.comment += line
                continue
            if line[0] == "[":
                close = line.rfind("]")
                if close < 0:
                    raise errors.FormatError(
                        f"line {number}: unclosed section: {line.strip()}", file=self.file
                    )
                name = line[1:close]
                if not name:
                    raise errors.FormatError(f"line {number}: empty section name", file=self.file)
                self.comment += _clean_comment(line[close + 1 :])
                section = _Section(name, self.comment.strip())
                sections.append(section)
                self.comment = ""
                counter = 1
                continue
            name, offset = _read_key_name(line, number, self.file)
            if name == "-":
                name = f"#{counter}"
                counter += 1
            value = self.read_value(line[offset:], number)
            section.set(name, value, self.comment.strip())
            self.comment = ""
        return sections


def _strip_comment_char(comment: str) -> str:
    if comment.startswith(";"):
        return comment.lstrip("; ")
    if comment.startswith("#"):
        return comment.lstrip("# ")
    return comment


def load(data: bytes, *, file: str | None = None) -> list[tree.Branch]:
    text = data.decode("utf-8", "surrogateescape")
    branch = tree.Branch()
    for section in _Parser(text, file).parse():
        items = tree.Branch()
        if section.comment:
            items.append(tree.Item(tree.Comment(_strip_comment_char(section.comment))))
        for key in section.keys:
            items.append(tree.Item(key.name, key.value))
            if key.comment:
                items.append(tree.Item(tree.Comment(_strip_comment_char(key.comment))))
        branch.append(tree.Item(section.name, items))
    return [branch]


def _comment_lines(comment: str, *, trim: bool) -> list[str]:
    lines = []
    for line in comment.split("\n"):
        if not line:
            continue
        if line[0] not in "#;":
            lines.append("; " + (line.strip() if trim else line))
        else:
            lines.append(line[0] + " " + line[1:].strip())
    return lines


def _quote_key(name: str) -> str:
    if '"' in name or any(d in name for d in _DELIMITERS):
        return f"`{name}`"
    if "`" in name:
        return f'"""{name}"""'
    return name


def _quote_value(value: str) -> str:
    if "\n" in value or "`" in value:
        return f'"""{value}"""'
    if "#" in value or ";" in value:
        return f"`{value}`"
    if value.strip() != value:
        return f'"{value}"'
    return value


def emit(branches: list[tree.Branch]) -> bytes:
    """go-ini's ``WriteTo`` with its defaults (aligned ``=``, a blank line between sections)."""
    sections: list[_Section] = []
    for branch in branches:
        for item in branch:
            if isinstance(item.key, tree.Comment):
                continue
            if not isinstance(item.value, tree.Branch):
                raise errors.FormatError("error encoding section: section values should always be mappings")
            section = _Section(item.key)
            entries = list(item.value)
            if entries and isinstance(entries[0].key, tree.Comment):
                section.comment = entries[0].key.value
                entries = entries[1:]
            last: _Key | None = None
            for entry in entries:
                if isinstance(entry.key, tree.Comment):
                    if last is not None:
                        last.comment = entry.key.value
                    continue
                value = entry.value if isinstance(entry.value, str) else dotenv.value_text(entry.value)
                existing = next((key for key in section.keys if key.name == entry.key), None)
                if existing is not None:
                    existing.value = value
                    last = existing
                else:
                    last = _Key(entry.key, value)
                    section.keys.append(last)
            sections.append(section)
    out: list[str] = []
    for index, section in enumerate(sections):
        if section.comment:
            out.extend(line + "\n" for line in _comment_lines(section.comment, trim=False))
        if index > 0 or section.name.upper() != DEFAULT_SECTION:
            out.append(f"[{section.name}]\n")
        elif not section.keys:
            continue
        width = max((len(_quote_key(key.name).encode()) for key in section.keys), default=0)
        for key in section.keys:
            if key.comment:
                out.extend(line + "\n" for line in _comment_lines(key.comment, trim=True))
            name = _quote_key(key.name)
            padding = " " * (width - len(name.encode()))
            out.append(f"{name}{padding} = {_quote_value(key.value)}\n")
        if index != len(sections) - 1:
            out.append("\n")
    return "".join(out).encode("utf-8", "surrogateescape")


class IniStore:
    """The INI store (``.ini``)."""

    def load(self, data: bytes, *, file: str | None) -> list[tree.Branch]:
        return load(data, file=file)

    def load_encrypted(self, data: bytes, *, file: str | None) -> tuple[list[tree.Branch], tree.Branch]:
        branches, flat = metadata.extract(load(data, file=file), file=file)
        unescaped = tree.Branch(
            tree.Item(
                item.key, item.value.replace("\\n", "\n") if isinstance(item.value, str) else item.value
            )
            for item in flat
        )
        try:
            return branches, flatten.unflatten(unescaped)
        except flatten.FlattenError as exc:
            raise errors.MetadataError(f"invalid flattened sops metadata: {exc}", file=file) from None

    def emit_plain(self, branches: list[tree.Branch]) -> bytes:
        return emit(branches)

    def emit_encrypted(
        self, branches: list[tree.Branch], meta: tree.Branch, *, legacy_multiline: bool = False
    ) -> bytes:
        """With ``legacy_multiline`` the metadata keeps real newlines (SOPS 3.13.0/3.13.1 layout)."""
        flat = flatten.flatten(meta)
        if not legacy_multiline:
            flat = tree.Branch(
                tree.Item(
                    item.key, item.value.replace("\n", "\\n") if isinstance(item.value, str) else item.value
                )
                for item in flat
            )
        from fleet.secrets.sops.stores import append_nested_metadata

        return emit(append_nested_metadata(branches, flat))

    def has_metadata(self, branches: list[tree.Branch]) -> bool:
        return metadata.has_metadata(branches)
