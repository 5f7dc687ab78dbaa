"""Lexer: turns template text into tokens (step 1 of parse -> compile -> execute).

It follows the token rules of Go's ``text/template/parse`` lexer, because the positions and
wording of its errors show up in messages users compare with Argo CD's: ``{{- `` and `` -}}``
trim the neighbouring whitespace, comments are ``{{/* ... */}}``, actions may span lines, and
an unexpected character ends the scan with an error token that the parser reports.
"""

from __future__ import annotations

import bisect
from enum import IntEnum
from typing import NamedTuple


class Item(IntEnum):
    """Token types. Members after KEYWORD print as ``<word>`` in parse errors, as in Go."""

    ERROR = 0  # the scan failed; the value is the message
    BOOL = 1  # true or false
    CHAR = 2  # a printable ASCII character inside an action (e.g. the comma in range)
    CHAR_CONSTANT = 3  # a character literal such as 'a'
    COMPLEX = 4  # a complex literal such as 1+2i
    ASSIGN = 5  # '=' in {{$x = ...}}
    DECLARE = 6  # ':=' in {{$x := ...}}
    EOF = 7  # end of input
    FIELD = 8  # .Name
    IDENTIFIER = 9  # a function name
    LEFT_DELIM = 10  # {{
    LEFT_PAREN = 11  # (
    NUMBER = 12  # a number literal
    PIPE = 13  # |
    RAW_STRING = 14  # `raw string`, quotes included
    RIGHT_DELIM = 15  # }}
    RIGHT_PAREN = 16  # )
    SPACE = 17  # a run of spaces between operands
    STRING = 18  # "quoted string", quotes included
    TEXT = 19  # text outside actions
    VARIABLE = 20  # $ or $name
    KEYWORD = 21  # marks where keywords start; never emitted
    BLOCK = 22  # block
    BREAK = 23  # break
    CONTINUE = 24  # continue
    DOT = 25  # the cursor, .
    DEFINE = 26  # define
    ELSE = 27  # else
    END = 28  # end
    IF = 29  # if
    NIL = 30  # nil
    RANGE = 31  # range
    TEMPLATE = 32  # template
    WITH = 33  # with


KEYWORDS = {
    ".": Item.DOT,
    "block": Item.BLOCK,
    "break": Item.BREAK,
    "continue": Item.CONTINUE,
    "define": Item.DEFINE,
    "else": Item.ELSE,
    "end": Item.END,
    "if": Item.IF,
    "range": Item.RANGE,
    "nil": Item.NIL,
    "template": Item.TEMPLATE,
    "with": Item.WITH,
}

LEFT_DELIM = "{{"
RIGHT_DELIM = "}}"
LEFT_COMMENT = "/*"
RIGHT_COMMENT = "*/"
SPACE_CHARS = " \t\r\n"


class Token(NamedTuple):
    typ: Item
    pos: int  # offset in the text, in characters
    val: str
    line: int

    def __str__(self) -> str:
        if self.typ == Item.EOF:
            return "EOF"
        if self.typ == Item.ERROR:
            return self.val
        if self.typ > Item.KEYWORD:
            return f"<{self.val}>"
        if len(self.val) > 10:
            from fleet.gotemplate import gofmt

            return gofmt.quote(self.val[:10]) + "..."
        from fleet.gotemplate import gofmt

        return gofmt.quote(self.val)


def _is_space(ch: str) -> bool:
    return ch in SPACE_CHARS and ch != ""


def is_alphanumeric(ch: str) -> bool:
    return ch == "_" or ch.isalpha() or (ch.isdigit() and ch.isdecimal())


def _has_left_trim(text: str, pos: int) -> bool:
    return pos + 1 < len(text) and text[pos] == "-" and _is_space(text[pos + 1])


def _has_right_trim(text: str, pos: int) -> bool:
    return pos + 1 < len(text) and _is_space(text[pos]) and text[pos + 1] == "-"


def format_rune(ch: str) -> str:
    """Go's %#U: U+0041 'A' (the character only when printable)."""
    code = ord(ch)
    text = f"U+{code:04X}"
    if ch == " " or ch.isprintable():
        text += f" '{ch}'"
    return text


class _Lexer:
    def __init__(self, text: str, *, break_ok: bool, continue_ok: bool) -> None:
        self.text = text
        self.pos = 0
        self.start = 0
        self.paren_depth = 0
        self.tokens: list[Token] = []
        self.break_ok = break_ok
        self.continue_ok = continue_ok
        self._newlines = [index for index, ch in enumerate(text) if ch == "\n"]

    def line_at(self, pos: int) -> int:
        return 1 + bisect.bisect_left(self._newlines, pos)

    # -- primitives -------------------------------------------------------------------------

    def next(self) -> str:
        if self.pos >= len(self.text):
            self.pos += 1  # so that backup() after EOF is harmless
            return ""
        ch = self.text[self.pos]
        self.pos += 1
        return ch

    def backup(self) -> None:
        self.pos -= 1

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def emit(self, typ: Item) -> None:
        end = min(self.pos, len(self.text))
        self.tokens.append(Token(typ, self.start, self.text[self.start : end], self.line_at(self.start)))
        self.start = end
        self.pos = end

    def ignore(self) -> None:
        self.start = self.pos

    def error(self, message: str) -> None:
        self.tokens.append(Token(Item.ERROR, self.start, message, self.line_at(self.start)))

    def accept(self, valid: str) -> bool:
        ch = self.next()
        if ch and ch in valid:
            return True
        self.backup()
        return False

    def accept_run(self, valid: str) -> None:
        while True:
            ch = self.next()
            if not ch or ch not in valid:
                self.backup()
                return

    def at_right_delim(self) -> tuple[bool, bool]:
        text = self.text
        if _has_right_trim(text, self.pos) and text.startswith(RIGHT_DELIM, self.pos + 2):
            return True, True
        if text.startswith(RIGHT_DELIM, self.pos):
            return True, False
        return False, False

    def at_terminator(self) -> bool:
        ch = self.peek()
        if ch == "" or _is_space(ch):
            return True
        return ch in ".,|:)(" or ch == RIGHT_DELIM[0]

    # -- states -----------------------------------------------------------------------------

    def run(self) -> list[Token]:
        text = self.text
        while True:
            found = text.find(LEFT_DELIM, self.pos)
            if found < 0:
                self.pos = len(text)
                if self.pos > self.start:
                    self.emit(Item.TEXT)
                self.emit(Item.EOF)
                return self.tokens
            if found > self.pos or found > self.start:
                self.pos = found
                trim = 0
                if _has_left_trim(text, found + len(LEFT_DELIM)):
                    segment = text[self.start : found]
                    trim = len(segment) - len(segment.rstrip(SPACE_CHARS))
                self.pos = found - trim
                if self.pos > self.start:
                    self.emit(Item.TEXT)
                self.pos = found
                self.ignore()
            if not self.left_delim():
                return self.tokens

    def left_delim(self) -> bool:
        """At {{: scan a comment or a whole action. False when the scan ended in an error."""
        text = self.text
        self.pos += len(LEFT_DELIM)
        trim = _has_left_trim(text, self.pos)
        after = 2 if trim else 0
        if text.startswith(LEFT_COMMENT, self.pos + after):
            self.pos += after
            self.ignore()
            return self.comment()
        self.emit(Item.LEFT_DELIM)
        self.pos += after
        self.ignore()
        self.paren_depth = 0
        return self.inside_action()

    def comment(self) -> bool:
        text = self.text
        self.pos += len(LEFT_COMMENT)
        end = text.find(RIGHT_COMMENT, self.pos)
        if end < 0:
            self.error("unclosed comment")
            return False
        self.pos = end + len(RIGHT_COMMENT)
        delim, trim = self.at_right_delim()
        if not delim:
            self.error("comment ends before closing delimiter")
            return False
        if trim:
            self.pos += 2
        self.pos += len(RIGHT_DELIM)
        if trim:
            rest = text[self.pos :]
            self.pos += len(rest) - len(rest.lstrip(SPACE_CHARS))
        self.ignore()
        return True

    def right_delim(self, trim: bool) -> None:
        if trim:
            self.pos += 2
            self.ignore()
        self.pos += len(RIGHT_DELIM)
        self.emit(Item.RIGHT_DELIM)
        if trim:
            rest = self.text[self.pos :]
            self.pos += len(rest) - len(rest.lstrip(SPACE_CHARS))
            self.ignore()

    def inside_action(self) -> bool:
        """Scan the tokens of one action up to and including its right delimiter."""
        while True:
            delim, trim = self.at_right_delim()
            if delim:
                if self.paren_depth == 0:
                    self.right_delim(trim)
                    return True
                self.error("unclosed left paren")
                return False
            ch = self.next()
            if ch == "":
                self.error("unclosed action")
                return False
            if _is_space(ch):
                self.backup()
                if self.space():
                    return True
                continue
            ok = True
            if ch == "=":
                self.emit(Item.ASSIGN)
            elif ch == ":":
                if self.next() != "=":
                    self.error("expected :=")
                    return False
                self.emit(Item.DECLARE)
            elif ch == "|":
                self.emit(Item.PIPE)
            elif ch == '"':
                ok = self.quoted('"', Item.STRING, "quoted string")
            elif ch == "`":
                ok = self.raw_quote()
            elif ch == "$":
                ok = self.variable()
            elif ch == "'":
                ok = self.quoted("'", Item.CHAR_CONSTANT, "character constant")
            elif ch == "." and self.pos < len(self.text) and not ("0" <= self.text[self.pos] <= "9"):
                ok = self.field_or_variable(Item.FIELD)
            elif ch in "+-." or "0" <= ch <= "9":
                self.backup()
                ok = self.number()
            elif is_alphanumeric(ch):
                self.backup()
                ok = self.identifier()
            elif ch == "(":
                self.paren_depth += 1
                self.emit(Item.LEFT_PAREN)
            elif ch == ")":
                self.paren_depth -= 1
                if self.paren_depth < 0:
                    self.error("unexpected right paren")
                    return False
                self.emit(Item.RIGHT_PAREN)
            elif ord(ch) < 0x80 and ch.isprintable():
                self.emit(Item.CHAR)
            else:
                self.error(f"unrecognized character in action: {format_rune(ch)}")
                return False
            if not ok:
                return False

    def space(self) -> bool:
        """Scan a run of spaces; True when it ran into a trimmed right delimiter (handled)."""
        count = 0
        while _is_space(self.peek()):
            self.next()
            count += 1
        if _has_right_trim(self.text, self.pos - 1) and self.text.startswith(RIGHT_DELIM, self.pos + 1):
            self.backup()
            if count == 1:
                self.right_delim(True)
                return True
        self.emit(Item.SPACE)
        return False

    def identifier(self) -> bool:
        while True:
            ch = self.next()
            if ch and is_alphanumeric(ch):
                continue
            self.backup()
            word = self.text[self.start : self.pos]
            if not self.at_terminator():
                self.error(f"bad character {format_rune(self.peek())}")
                return False
            keyword = KEYWORDS.get(word)
            if keyword is not None:
                if (keyword == Item.BREAK and not self.break_ok) or (
                    keyword == Item.CONTINUE and not self.continue_ok
                ):
                    self.emit(Item.IDENTIFIER)
                else:
                    self.emit(keyword)
            elif word in ("true", "false"):
                self.emit(Item.BOOL)
            else:
                self.emit(Item.IDENTIFIER)
            return True

    def variable(self) -> bool:
        if self.at_terminator():
            self.emit(Item.VARIABLE)
            return True
        return self.field_or_variable(Item.VARIABLE)

    def field_or_variable(self, typ: Item) -> bool:
        if self.at_terminator():
            self.emit(Item.VARIABLE if typ == Item.VARIABLE else Item.DOT)
            return True
        while True:
            ch = self.next()
            if not ch or not is_alphanumeric(ch):
                self.backup()
                break
        if not self.at_terminator():
            self.error(f"bad character {format_rune(self.peek())}")
            return False
        self.emit(typ)
        return True

    def quoted(self, close: str, item: Item, what: str) -> bool:
        """A '...' character or "..." string constant: backslash escapes, no newline inside."""
        while True:
            ch = self.next()
            if ch == "\\":
                ch = self.next()
                if ch and ch != "\n":
                    continue  # an escaped character; a backslash before the end is unterminated
            if ch == "" or ch == "\n":
                self.error(f"unterminated {what}")
                return False
            if ch == close:
                break
        self.emit(item)
        return True

    def number(self) -> bool:
        if not self.scan_number():
            self.error(f"bad number syntax: {_quote(self.text[self.start : self.pos])}")
            return False
        if self.peek() in ("+", "-"):
            # Complex: 1+2i. No spaces, must end in 'i'.
            if not self.scan_number() or self.text[self.pos - 1] != "i":
                self.error(f"bad number syntax: {_quote(self.text[self.start : self.pos])}")
                return False
            self.emit(Item.COMPLEX)
        else:
            self.emit(Item.NUMBER)
        return True

    def scan_number(self) -> bool:
        self.accept("+-")
        digits = "0123456789_"
        if self.accept("0"):
            if self.accept("xX"):
                digits = "0123456789abcdefABCDEF_"
            elif self.accept("oO"):
                digits = "01234567_"
            elif self.accept("bB"):
                digits = "01_"
        self.accept_run(digits)
        if self.accept("."):
            self.accept_run(digits)
        if len(digits) == 11 and self.accept("eE"):
            self.accept("+-")
            self.accept_run("0123456789_")
        if len(digits) == 23 and self.accept("pP"):
            self.accept("+-")
            self.accept_run("0123456789_")
        self.accept("i")
        ch = self.peek()
        if ch and is_alphanumeric(ch):
            self.next()
            return False
        return True

    def raw_quote(self) -> bool:
        while True:
            ch = self.next()
            if ch == "":
                self.error("unterminated raw quoted string")
                return False
            if ch == "`":
                break
        self.emit(Item.RAW_STRING)
        return True


def _quote(text: str) -> str:
    from fleet.gotemplate import gofmt

    return gofmt.quote(text)


def lex(text: str, *, break_ok: bool = True, continue_ok: bool = True) -> list[Token]:
    """All tokens of ``text``, ending with EOF or with the ERROR token that stopped the scan."""
    return _Lexer(text, break_ok=break_ok, continue_ok=continue_ok).run()
