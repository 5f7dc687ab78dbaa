"""The YAML store: go-yaml v3 semantics for reading, go-yaml v3 layout for writing.

Reading (``load``): PyYAML's scanner and composer build the node graph (anchors and aliases are
expanded, duplicate keys rejected); a scanner subclass records every comment with its position,
and comments become tree items of the mapping or list whose indentation they sit at, the way
upstream turns go-yaml's head/line/foot comments into items (FORMATS.md A.3, A.9). Plain scalars
are typed with go-yaml v3's resolver rather than PyYAML's YAML 1.1 one: ``yes``/``no``/``on`` are
strings, ``0777`` is octal, unquoted timestamps are ``time``.

Writing (``emit``) follows go-yaml v3's emitter as sops drives it: 4-space indentation,
sequences indented inside mappings, ``- `` compacting for mappings in lists, literal blocks for
multi-line strings, quoting only where a plain scalar would change type or cannot be read back,
and comments as head, line and foot comments. PyYAML's emitter cannot hold comments and indents
differently, so the layout is written here (the scalar rules are ported from go-yaml).
"""

from __future__ import annotations

import base64
import math
import re
from dataclasses import dataclass
from typing import Any, cast

import yaml as pyyaml
from yaml.composer import Composer
from yaml.nodes import CollectionNode, MappingNode, Node, ScalarNode, SequenceNode
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import BaseResolver
from yaml.scanner import Scanner

from fleet.secrets.sops import errors, metadata, tree
from fleet.secrets.sops.cipher import format_float_g

INDENT = 4  # upstream IndentDefault
_PLAIN = "fleet:plain"  # tag given to untagged plain scalars, typed below with go-yaml's rules
_STR, _BINARY = "tag:yaml.org,2002:str", "tag:yaml.org,2002:binary"
_TYPED_TAGS = {
    "tag:yaml.org,2002:int": "int",
    "tag:yaml.org,2002:float": "float",
    "tag:yaml.org,2002:bool": "bool",
    "tag:yaml.org,2002:null": "null",
    "tag:yaml.org,2002:timestamp": "timestamp",
}


# -- reading -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _RawComment:
    line: int
    column: int
    text: str  # after the '#'
    inline: bool  # something precedes it on its line


class _Loader(Reader, Scanner, Parser, Composer, BaseResolver):
    """PyYAML's pure-Python loader, keeping comments and leaving scalars untyped."""

    def __init__(self, stream: str) -> None:
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        Parser.__init__(self)
        Composer.__init__(self)
        BaseResolver.__init__(self)
        self.raw_comments: list[tuple[int, int, str]] = []
        self.document_starts: list[int] = []

    def resolve(self, kind: type[Node], value: Any, implicit: tuple[bool, bool]) -> str:
        if kind is ScalarNode:
            return _PLAIN if implicit[0] else _STR
        return BaseResolver.resolve(self, kind, value, implicit)

    def _take_comment(self) -> None:
        mark = self.get_mark()
        start = self.pointer
        while self.peek() not in "\0\r\n\x85\u2028\u2029":
            self.forward()
        self.raw_comments.append((mark.line, mark.column, self.buffer[start + 1 : self.pointer]))

    def scan_to_next_token(self) -> None:
        # PyYAML's loop, recording the comments it skips
        if self.index == 0 and self.peek() == "\ufeff":
            self.forward()
        found = False
        while not found:
            while self.peek() == " ":
                self.forward()
            if self.peek() == "#":
                self._take_comment()
            if self.scan_line_break():
                if not self.flow_level:
                    self.allow_simple_key = True
            else:
                found = True

    def scan_block_scalar_ignored_line(self, start_mark: Any) -> None:
        while self.peek() == " ":
            self.forward()
        if self.peek() == "#":
            self._take_comment()
        if self.peek() not in "\0\r\n\x85\u2028\u2029":
            raise pyyaml.scanner.ScannerError(
                "while scanning a block scalar",
                start_mark,
                "expected a comment or a line break",
                self.get_mark(),
            )
        self.scan_line_break()

    def compose_document(self) -> Node | None:
        start = self.get_event()
        self.document_starts.append(start.start_mark.line)
        node = self.compose_node(None, None)  # type: ignore[arg-type]  # as PyYAML's own compose_document; the stub wants an int
        self.get_event()
        self.anchors = {}
        return node


_RESOLVE_MAP: dict[str, Any] = {
    **dict.fromkeys(("true", "True", "TRUE"), True),
    **dict.fromkeys(("false", "False", "FALSE"), False),
    **dict.fromkeys(("", "~", "null", "Null", "NULL"), None),
    **dict.fromkeys((".nan", ".NaN", ".NAN"), math.nan),
    **dict.fromkeys((".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"), math.inf),
    **dict.fromkeys(("-.inf", "-.Inf", "-.INF"), -math.inf),
    "<<": "<<",  # the merge key: upstream keeps it as a plain "<<" key
}
_YAML_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_GO_FLOAT = re.compile(r"^[-+]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|inf|infinity|nan)$", re.IGNORECASE)
_INT64 = (-(2**63), 2**63 - 1)


class _OutOfRange(ValueError):
    pass


def _go_parse_int(text: str, *, signed: bool = True) -> int | None:
    """Go ``strconv.ParseInt(s, 0, 64)`` (``ParseUint`` with ``signed=False``); None if invalid."""
    sign = 1
    body = text
    if body[:1] in "+-":
        if not signed:
            return None
        sign = -1 if body[0] == "-" else 1
        body = body[1:]
    lowered = body.lower()
    if lowered.startswith(("0x", "0o", "0b")):
        base = {"x": 16, "o": 8, "b": 2}[lowered[1]]
        digits = body[2:]
    elif len(body) > 1 and body[0] == "0":
        base, digits = 8, body[1:]
    else:
        base, digits = 10, body
    if not digits:
        return None
    try:
        value = sign * int(digits, base)
    except ValueError:
        return None
    if not digits.isalnum():
        return None
    low, high = _INT64 if signed else (0, 2**64 - 1)
    if not low <= value <= high:
        raise _OutOfRange(text)
    return value


def _resolve_plain(text: str, *, tag: str | None = None) -> Any:
    """go-yaml v3 ``resolve`` for an untagged plain scalar (or one with a resolvable tag)."""
    hint = "N" if not text else _hint(text[0])
    if hint:
        if text in _RESOLVE_MAP:
            return _RESOLVE_MAP[text]
        if hint == ".":
            if _GO_FLOAT.match(text):
                return float(text)
        elif hint in "DS":
            if tag in (None, "timestamp"):
                stamp = tree.parse_timestamp(text)
                if stamp is not None:
                    return stamp
            plain = text.replace("_", "")
            try:
                value = _go_parse_int(plain)
                if value is not None:
                    return value
                if _go_parse_int(plain, signed=False) is not None:
                    raise _OutOfRange(text)
            except _OutOfRange:
                raise ValueError(f"the integer {text} does not fit in 64 bits") from None
            if _YAML_FLOAT.match(plain):
                return float(plain)
    return text


def _hint(char: str) -> str:
    if char in "+-":
        return "S"
    if char.isascii() and char.isdigit():
        return "D"
    if char in "yYnNtTfFoO~":
        return "M"
    if char == ".":
        return "."
    return ""


def _scalar_value(node: ScalarNode, *, file: str | None) -> Any:
    """The typed value of a scalar node, as go-yaml v3 decodes it into ``interface{}``."""
    tag = node.tag
    text = node.value
    if tag == _PLAIN:
        try:
            return _resolve_plain(text)
        except ValueError as exc:
            raise errors.FormatError(f"line {node.start_mark.line + 1}: {exc}", file=file) from None
    if tag == _BINARY:
        try:
            return base64.b64decode("".join(text.split()), validate=True).decode("utf-8", "surrogateescape")
        except ValueError:
            raise errors.FormatError(
                f"line {node.start_mark.line + 1}: !!binary value contains invalid base64 data", file=file
            ) from None
    kind = _TYPED_TAGS.get(tag)
    if kind is None:  # !!str, quoted or block scalars, custom tags: a string
        return text
    value = _resolve_plain(text, tag=kind)
    ok = {
        "int": isinstance(value, int) and not isinstance(value, bool),
        "float": isinstance(value, float | int) and not isinstance(value, bool),
        "bool": isinstance(value, bool),
        "null": value is None,
        "timestamp": isinstance(value, tree.GoTime),
    }[kind]
    if not ok:
        raise errors.FormatError(
            f"line {node.start_mark.line + 1}: cannot decode {text!r} as a {kind}", file=file
        )
    return float(value) if kind == "float" else value


def _last_line(node: Node) -> int:
    """The last line holding content of ``node`` (PyYAML's end marks of collections overshoot)."""
    if isinstance(node, ScalarNode):
        end = node.end_mark
        if node.style in ("|", ">"):
            # block scalars end after their trailing line breaks
            line = end.line - 1 if end.column == 0 else end.line
            return max(line, node.start_mark.line)
        return end.line
    collection = cast(CollectionNode, node)  # a mapping or a sequence: every other node is a scalar
    if collection.flow_style or not collection.value:
        return collection.end_mark.line
    last = collection.value[-1]
    return _last_line(last[1] if isinstance(node, MappingNode) else last)


def _is_block_collection(node: Node) -> bool:
    return isinstance(node, MappingNode | SequenceNode) and not node.flow_style and bool(node.value)


class _Converter:
    """Node graph + comments -> SOPS tree, attributing each comment to a mapping or list."""

    def __init__(self, lines: list[str], file: str | None) -> None:
        self.lines = lines
        self.file = file
        self.depth = 0

    def comment(self, raw: _RawComment, *, inline: bool | None = None) -> tree.Comment:
        return tree.Comment(raw.text, raw.inline if inline is None else inline)

    def document(self, node: Node | None, comments: list[_RawComment]) -> tree.Branch:
        if node is None or (
            isinstance(node, ScalarNode) and node.tag == _PLAIN and node.value in ("", "~", "null")
        ):
            return tree.Branch(tree.Item(self.comment(c, inline=False)) for c in comments)
        if isinstance(node, SequenceNode):
            raise errors.FormatError("YAML documents that are sequences are not supported", file=self.file)
        if not isinstance(node, MappingNode):
            raise errors.FormatError("YAML documents that are values are not supported", file=self.file)
        return self.mapping(node, comments)

    def _error(self, node: Node, message: str) -> errors.FormatError:
        return errors.FormatError(f"line {node.start_mark.line + 1}: {message}", file=self.file)

    def value(self, node: Node, comments: list[_RawComment]) -> Any:
        self.depth += 1
        if self.depth > 500:
            raise self._error(node, "the document nests too deeply (recursive alias?)")
        try:
            if isinstance(node, MappingNode):
                return self.mapping(node, comments)
            if isinstance(node, SequenceNode):
                return self.sequence(node, comments)
            return _scalar_value(cast(ScalarNode, node), file=self.file)
        finally:
            self.depth -= 1

    def _split(
        self, comments: list[_RawComment], start: int, value: Node, next_line: float
    ) -> tuple[list[tree.Comment], list[_RawComment], list[tree.Comment]]:
        """Comments of one entry: (before it, inside its value, after it)."""
        before: list[tree.Comment] = []
        inside: list[_RawComment] = []
        after: list[tree.Comment] = []
        end = _last_line(value)
        nested = _is_block_collection(value)
        column = value.start_mark.column
        for raw in comments:
            if raw.line >= next_line:
                continue
            if raw.line < start:
                before.append(self.comment(raw, inline=False))
            elif not nested:
                if raw.line <= end:
                    before.append(self.comment(raw, inline=True))
                else:
                    after.append(self.comment(raw, inline=False))
            elif raw.line == start and raw.line < value.start_mark.line:
                before.append(self.comment(raw, inline=False))  # "key: # comment" over a block value
            elif raw.line < value.start_mark.line:
                if raw.column >= column:
                    inside.append(raw)
                else:
                    before.append(self.comment(raw, inline=False))
            elif raw.line <= end:
                inside.append(raw)
            elif raw.column >= column:
                inside.append(raw)
            else:
                after.append(self.comment(raw, inline=False))
        return before, inside, after

    def mapping(self, node: MappingNode, comments: list[_RawComment]) -> tree.Branch:
        branch = tree.Branch()
        seen: dict[str, int] = {}
        pairs = node.value
        for index, (key_node, value_node) in enumerate(pairs):
            key = self.value(key_node, [])
            if not isinstance(key, str):
                raise self._error(key_node, f"non-string key {key!r}: only string keys are supported")
            if key in seen:
                raise self._error(key_node, f"mapping key {key!r} already defined at line {seen[key]}")
            seen[key] = key_node.start_mark.line + 1
            start = key_node.start_mark.line
            next_line = pairs[index + 1][0].start_mark.line if index + 1 < len(pairs) else math.inf
            mine = comments if index == 0 else [c for c in comments if c.line >= start]
            before, inside, after = self._split(mine, start, value_node, next_line)
            branch.extend(tree.Item(comment) for comment in before)
            branch.append(tree.Item(key, self.value(value_node, inside)))
            branch.extend(tree.Item(comment) for comment in after)
        if not pairs:
            branch.extend(tree.Item(self.comment(c, inline=False)) for c in comments)
        return branch

    def sequence(self, node: SequenceNode, comments: list[_RawComment]) -> list[Any]:
        values: list[Any] = []
        items = node.value
        for index, item in enumerate(items):
            start = item.start_mark.line
            next_line = items[index + 1].start_mark.line if index + 1 < len(items) else math.inf
            mine = comments if index == 0 else [c for c in comments if c.line >= start]
            before, inside, after = self._split(mine, start, item, next_line)
            values.extend(before)
            values.append(self.value(item, inside))
            values.extend(after)
        if not items:
            values.extend(self.comment(c, inline=False) for c in comments)
        return values


def load(data: bytes, *, file: str | None = None) -> list[tree.Branch]:
    """The documents of a YAML file as SOPS trees (comments included)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise errors.FormatError("the file is not valid UTF-8 text", file=file) from None
    loader = _Loader(text)
    try:
        roots: list[Node | None] = []
        while loader.check_node():
            roots.append(loader.get_node())
    except pyyaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise errors.FormatError(f"error unmarshaling input YAML: {where}{problem}", file=file) from None
    finally:
        loader.dispose()
    lines = text.splitlines()
    comments = [
        _RawComment(line, column, body, bool(lines[line][:column].strip()) if line < len(lines) else False)
        for line, column, body in loader.raw_comments
    ]
    converter = _Converter(lines, file)
    starts = loader.document_starts
    branches = []
    for index, root in enumerate(roots):
        low = starts[index] if index > 0 else -1
        high = starts[index + 1] if index + 1 < len(starts) else math.inf
        own = [c for c in comments if low <= c.line < high]
        branches.append(converter.document(root, own))
    return branches


# -- writing -----------------------------------------------------------------------------------

_OLD_BOOLS = frozenset(
    ["y", "Y", "yes", "Yes", "YES", "on", "On", "ON", "n", "N", "no", "No", "NO", "off", "Off", "OFF"]
)
_BASE60 = re.compile(r"^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$")
_BREAKS = "\r\n\x85\u2028\u2029"


def _can_use_plain(text: str) -> bool:
    """go-yaml ``stringv``: plain only if the text reads back as the same string."""
    try:
        resolved = _resolve_plain(text)
    except ValueError:
        return False
    if not isinstance(resolved, str) or resolved != text or text == "<<":
        return False
    return not (_BASE60.match(text) or text in _OLD_BOOLS)


def _is_printable(char: str) -> bool:
    """go-yaml ``is_printable`` (a 4-byte UTF-8 character is not printable there)."""
    code = ord(char)
    return (
        code == 0x0A
        or 0x20 <= code <= 0x7E
        or 0xA0 <= code <= 0xD7FF
        or (0xE000 <= code <= 0xFFFD and code != 0xFEFF)
    )


@dataclass(frozen=True)
class _Analysis:
    multiline: bool
    block_plain_allowed: bool
    single_quoted_allowed: bool
    block_allowed: bool


def _analyze(value: str) -> _Analysis:
    """go-yaml ``yaml_emitter_analyze_scalar`` (block context only)."""
    if not value:
        return _Analysis(False, True, True, False)
    block_indicators = value.startswith(("---", "..."))
    line_breaks = special = tabs = False
    leading_space = leading_break = trailing_space = trailing_break = False
    break_space = space_break = False
    preceded_by_whitespace = True
    previous_space = previous_break = False
    last = len(value) - 1
    for index, char in enumerate(value):
        followed_by_whitespace = index == last or value[index + 1] in " \t" + _BREAKS
        if index == 0:
            if char in "#,[]{}&*!|>'\"%@`":
                block_indicators = True
            elif char in "?:" and followed_by_whitespace:
                block_indicators = True
            elif char == "-" and followed_by_whitespace:
                block_indicators = True
        elif char == ":" and followed_by_whitespace:
            block_indicators = True
        elif char == "#" and preceded_by_whitespace:
            block_indicators = True
        if char == "\t":
            tabs = True
        elif not _is_printable(char):
            special = True
        if char == " ":
            leading_space = leading_space or index == 0
            trailing_space = trailing_space or index == last
            break_space = break_space or previous_break
            previous_space, previous_break = True, False
        elif char in _BREAKS:
            line_breaks = True
            leading_break = leading_break or index == 0
            trailing_break = trailing_break or index == last
            space_break = space_break or previous_space
            previous_space, previous_break = False, True
        else:
            previous_space = previous_break = False
        preceded_by_whitespace = char in " \t" + _BREAKS
    block_plain = single = block = True
    if leading_space or leading_break or trailing_space or trailing_break:
        block_plain = False
    if trailing_space:
        block = False
    if break_space:
        block_plain = single = False
    if space_break or tabs or special:
        block_plain = single = False
    if space_break or special:
        block = False
    if line_breaks or block_indicators:
        block_plain = False
    return _Analysis(line_breaks, block_plain, single, block)


_ESCAPES = {
    "\0": "0",
    "\a": "a",
    "\b": "b",
    "\t": "t",
    "\n": "n",
    "\v": "v",
    "\f": "f",
    "\r": "r",
    "\x1b": "e",
    '"': '"',
    "\\": "\\",
    "\x85": "N",
    "\xa0": "_",
    "\u2028": "L",
    "\u2029": "P",
}


def _double_quoted(value: str) -> str:
    out = ['"']
    for char in value:
        if not _is_printable(char) or char == "\ufeff" or char in _BREAKS or char in '"\\':
            if char in _ESCAPES:
                out.append("\\" + _ESCAPES[char])
            else:
                code = ord(char)
                if 0xDC80 <= code <= 0xDCFF:  # a raw byte kept by surrogateescape
                    code -= 0xDC00
                if code <= 0xFF:
                    out.append(f"\\x{code:02X}")
                elif code <= 0xFFFF:
                    out.append(f"\\u{code:04X}")
                else:
                    out.append(f"\\U{code:08X}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


@dataclass(frozen=True)
class _Scalar:
    """A rendered scalar: a one-line text, or a literal block (header + body lines)."""

    text: str
    block: list[str] | None = None  # body lines (empty strings for blank lines)


def _literal(value: str) -> _Scalar:
    hints = str(INDENT) if value[:1] in " " + _BREAKS else ""
    if not value.endswith("\n"):
        chomp = "-"
    elif value == "\n" or value.endswith("\n\n"):
        chomp = "+"
    else:
        chomp = ""
    body = value[:-1] if value.endswith("\n") else value
    return _Scalar("|" + hints + chomp, body.split("\n"))


def _render_string(value: str, *, key: bool = False) -> _Scalar:
    if any(0xDC80 <= ord(char) <= 0xDCFF for char in value):
        raw = value.encode("utf-8", "surrogateescape")
        encoded = base64.b64encode(raw).decode()
        lines = [encoded[i : i + 70] for i in range(0, len(encoded), 70)] or [""]
        if len(lines) == 1:
            return _Scalar(f"!!binary {encoded}")
        return _Scalar("!!binary |", lines)
    analysis = _analyze(value)
    if "\n" in value and not key:
        style = "literal"
    elif _can_use_plain(value):
        style = "plain"
    else:
        style = "double"
    if key and analysis.multiline:
        style = "double"
    if style == "plain" and not analysis.block_plain_allowed:
        style = "single"
    if style == "single" and not analysis.single_quoted_allowed:
        style = "double"
    if style == "literal" and not analysis.block_allowed:
        style = "double"
    if style == "plain":
        return _Scalar(value)
    if style == "single":
        return _Scalar("'" + value.replace("'", "''") + "'")
    if style == "literal":
        return _literal(value)
    return _Scalar(_double_quoted(value))


def render_scalar(value: Any) -> _Scalar:
    """A leaf as go-yaml v3 writes it."""
    if value is None:
        return _Scalar("null")
    if isinstance(value, bool):
        return _Scalar("true" if value else "false")
    if isinstance(value, int):
        return _Scalar(str(value))
    if isinstance(value, float):
        if math.isnan(value):
            return _Scalar(".nan")
        if math.isinf(value):
            return _Scalar(".inf" if value > 0 else "-.inf")
        return _Scalar(format_float_g(value))
    if isinstance(value, tree.GoTime):
        return _Scalar(value.text)
    if isinstance(value, bytes):
        return _render_string(value.decode("utf-8", "surrogateescape"))
    if isinstance(value, str):
        return _render_string(value)
    raise TypeError(f"cannot write a {type(value).__name__} as YAML")


def _next_indent(indent: int) -> int:
    """go-yaml v3: nested block collections align to the next multiple of the indentation."""
    return INDENT * ((indent + INDENT) // INDENT)


def _comment_lines(comments: list[str], indent: int) -> list[str]:
    return [" " * indent + "#" + text for text in comments]


def _line_comment(comments: list[str]) -> str:
    return (" #" + " #".join(comments)) if comments else ""


class _Emitter:
    def mapping(self, branch: tree.Branch, indent: int) -> list[str]:
        """The lines of a non-empty block mapping whose keys sit at ``indent``."""
        lines: list[str] = []
        head: list[str] = []
        inline: list[str] = []
        count = 0
        for item in branch:
            if isinstance(item.key, tree.Comment):
                (inline if item.key.inline else head).append(item.key.value)
                continue
            lines.extend(_comment_lines(head, indent))
            head = []
            key = _render_string(item.key, key=True).text
            lines.extend(self.entry(" " * indent + key + ":", item.value, indent, inline, in_sequence=False))
            inline = []
            count += 1
        trailing = head + inline
        if count == 0:
            lines.extend(_comment_lines(trailing, indent))
            lines.append(" " * indent + "{}")
        else:
            lines.extend(_comment_lines(trailing, indent))
        return lines

    def entry(
        self, prefix: str, value: Any, indent: int, inline: list[str], *, in_sequence: bool
    ) -> list[str]:
        """``prefix`` (``key:`` or ``-``) followed by ``value`` (at container indent ``indent``)."""
        nested = indent + 2 if in_sequence else _next_indent(indent)
        if isinstance(value, tree.Branch):
            if not any(isinstance(item.key, str) for item in value):
                comments = [item.key.value for item in value if isinstance(item.key, tree.Comment)]
                return [*_comment_lines(comments, nested), prefix + " {}" + _line_comment(inline)]
            body = self.mapping(value, nested)
            return self._attach(prefix, body, nested, inline, in_sequence)
        if isinstance(value, list):
            if not any(not isinstance(element, tree.Comment) for element in value):
                comments = [element.value for element in value if isinstance(element, tree.Comment)]
                return [*_comment_lines(comments, nested), prefix + " []" + _line_comment(inline)]
            body = self.sequence(value, nested)
            return self._attach(prefix, body, nested, inline, in_sequence)
        if isinstance(value, tree.Comment):  # cannot happen in a well-formed tree
            value = value.value
        scalar = render_scalar(value)
        first = prefix + " " + scalar.text + _line_comment(inline)
        if scalar.block is None:
            return [first]
        content = indent + 2 if in_sequence else _next_indent(indent)
        return [first, *[(" " * content + line) if line else "" for line in scalar.block]]

    def _attach(
        self, prefix: str, body: list[str], nested: int, inline: list[str], in_sequence: bool
    ) -> list[str]:
        if in_sequence:
            # "- " compacting: the first line of the item goes on the dash line
            first = body[0]
            return [
                prefix
                + " "
                + first[nested:]
                + (_line_comment(inline) if not first.lstrip().startswith("#") else ""),
                *body[1:],
            ]
        return [prefix + _line_comment(inline), *body]

    def sequence(self, values: list[Any], indent: int) -> list[str]:
        """The lines of a non-empty block sequence whose dashes sit at ``indent``."""
        lines: list[str] = []
        head: list[str] = []
        inline: list[str] = []
        for value in values:
            if isinstance(value, tree.Comment):
                (inline if value.inline else head).append(value.value)
                continue
            lines.extend(_comment_lines(head, indent))
            head = []
            if isinstance(value, tree.Branch | list) and inline:
                lines.extend(_comment_lines(inline, indent))
                inline = []
            lines.extend(self.entry(" " * indent + "-", value, indent, inline, in_sequence=True))
            inline = []
        lines.extend(_comment_lines(head + inline, indent))
        return lines


def emit(branches: list[tree.Branch]) -> bytes:
    """The documents as go-yaml v3 writes them for sops (``---`` between documents)."""
    emitter = _Emitter()
    out: list[str] = []
    for index, branch in enumerate(branches):
        if index:
            out.append("---")
        out.extend(emitter.mapping(branch, 0))
    return ("\n".join(out) + "\n").encode("utf-8", "surrogateescape") if out else b""


class YamlStore:
    """The YAML store (``.yaml`` / ``.yml``)."""

    def load(self, data: bytes, *, file: str | None) -> list[tree.Branch]:
        return load(data, file=file)

    def load_encrypted(self, data: bytes, *, file: str | None) -> tuple[list[tree.Branch], tree.Branch]:
        return metadata.extract(load(data, file=file), file=file)

    def emit_plain(self, branches: list[tree.Branch]) -> bytes:
        return emit(branches)

    def emit_encrypted(self, branches: list[tree.Branch], meta: tree.Branch) -> bytes:
        from fleet.secrets.sops.stores import append_nested_metadata

        return emit(append_nested_metadata(branches or [tree.Branch()], meta))

    def has_metadata(self, branches: list[tree.Branch]) -> bool:
        return metadata.has_metadata(branches)
