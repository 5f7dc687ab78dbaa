"""Parser: tokens -> parse trees (step 2 of lex -> parse -> compile -> execute).

A recursive-descent parser with Go's grammar and Go's parse-time checks: functions must be
defined (``function "nosuch" not defined``), variables must be declared before use and go out
of scope at the ``{{end}}`` of the control structure that declared them, ``{{break}}`` and
``{{continue}}`` only appear inside ``{{range}}``. Errors read ``template: NAME:LINE: ...``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Container

from fleet.gotemplate import errors, lex, nodes
from fleet.gotemplate.lex import Item, Token

_OPERAND_START = frozenset(
    {
        Item.BOOL,
        Item.CHAR_CONSTANT,
        Item.COMPLEX,
        Item.DOT,
        Item.FIELD,
        Item.IDENTIFIER,
        Item.NUMBER,
        Item.NIL,
        Item.RAW_STRING,
        Item.STRING,
        Item.VARIABLE,
        Item.LEFT_PAREN,
    }
)
_LITERAL_NODES = (nodes.BoolNode, nodes.DotNode, nodes.NilNode, nodes.NumberNode, nodes.StringNode)


class _Stream:
    """The token list shared by the trees of one parse (define and block start new trees)."""

    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.index = 0
        self.far = 0  # the furthest token read: Go reports parse errors on its line

    def next(self) -> Token:
        token = self.tokens[min(self.index, len(self.tokens) - 1)]
        self.index += 1
        self.far = max(self.far, self.index - 1)
        return token

    def peek(self) -> Token:
        token = self.tokens[min(self.index, len(self.tokens) - 1)]
        self.far = max(self.far, self.index)
        return token

    def backup(self, count: int = 1) -> None:
        self.index -= count

    def next_non_space(self) -> Token:
        while True:
            token = self.next()
            if token.typ != Item.SPACE:
                return token

    def peek_non_space(self) -> Token:
        token = self.next_non_space()
        self.backup()
        return token

    @property
    def error_line(self) -> int:
        return self.tokens[min(self.far, len(self.tokens) - 1)].line


class _TreeParser:
    """Parses one template body; ``define`` and ``block`` bodies get their own instance."""

    def __init__(
        self,
        name: str,
        parse_name: str,
        text: str,
        stream: _Stream,
        funcs: Container[str],
        tree_set: dict[str, nodes.Tree],
    ) -> None:
        self.name = name
        self.parse_name = parse_name
        self.text = text
        self.s = stream
        self.funcs = funcs
        self.tree_set = tree_set
        self.vars = ["$"]
        self.range_depth = 0
        self.action_line = 0
        self.root: nodes.ListNode | None = None

    # -- errors ---------------------------------------------------------------------------

    def errorf(self, message: str) -> errors.TemplateSyntaxError:
        raise errors.TemplateSyntaxError(f"template: {self.parse_name}:{self.s.error_line}: {message}")

    def unexpected(self, token: Token, context: str) -> errors.TemplateSyntaxError:
        if token.typ == Item.ERROR:
            extra = ""
            if self.action_line != 0 and self.action_line != token.line:
                extra = f" in action started at {self.parse_name}:{self.action_line}"
                if token.val.endswith(" action"):
                    extra = extra[len(" in action") :]
            raise self.errorf(f"{token}{extra}")
        raise self.errorf(f"unexpected {token} in {context}")

    def expect(self, expected: Item, context: str) -> Token:
        token = self.s.next_non_space()
        if token.typ != expected:
            raise self.unexpected(token, context)
        return token

    # -- top level --------------------------------------------------------------------------

    def parse(self) -> None:
        s = self.s
        self.root = nodes.ListNode(s.peek().pos)
        while s.peek().typ != Item.EOF:
            if s.peek().typ == Item.LEFT_DELIM:
                start = s.index
                s.next()
                if s.next_non_space().typ == Item.DEFINE:
                    definition = _TreeParser(
                        "definition", self.parse_name, self.text, s, self.funcs, self.tree_set
                    )
                    definition.parse_definition()
                    continue
                s.index = start
            node = self.text_or_action()
            if isinstance(node, (nodes.EndNode, nodes.ElseNode)):
                raise self.errorf(f"unexpected {node}")
            self.root.nodes.append(node)
        self.add()

    def add(self) -> None:
        assert self.root is not None
        existing = self.tree_set.get(self.name)
        if existing is None or nodes.is_empty_tree(existing.root):
            self.tree_set[self.name] = nodes.Tree(self.name, self.parse_name, self.root, self.text)
            return
        if not nodes.is_empty_tree(self.root):
            raise self.errorf(f"template: multiple definition of template {lex_quote(self.name)}")

    def parse_definition(self) -> None:
        context = "define clause"
        token = self.s.next_non_space()
        if token.typ not in (Item.STRING, Item.RAW_STRING):
            raise self.unexpected(token, context)
        self.name = self.unquote(token.val)
        self.expect(Item.RIGHT_DELIM, context)
        self.root, end = self.item_list()
        if not isinstance(end, nodes.EndNode):
            raise self.errorf(f"unexpected {end} in {context}")
        self.add()

    def item_list(self) -> tuple[nodes.ListNode, nodes.Node]:
        node_list = nodes.ListNode(self.s.peek_non_space().pos)
        while self.s.peek_non_space().typ != Item.EOF:
            node = self.text_or_action()
            if isinstance(node, (nodes.EndNode, nodes.ElseNode)):
                return node_list, node
            node_list.nodes.append(node)
        raise self.errorf("unexpected EOF")

    def text_or_action(self) -> nodes.Node:
        token = self.s.next_non_space()
        if token.typ == Item.TEXT:
            return nodes.TextNode(token.pos, token.val)
        if token.typ == Item.LEFT_DELIM:
            self.action_line = token.line
            try:
                return self.action()
            finally:
                self.action_line = 0
        raise self.unexpected(token, "input")

    # -- actions ----------------------------------------------------------------------------

    def action(self) -> nodes.Node:
        s = self.s
        token = s.next_non_space()
        typ = token.typ
        if typ == Item.BLOCK:
            return self.block_control()
        if typ == Item.BREAK:
            return self.break_control(token, "{{break}}", nodes.BreakNode)
        if typ == Item.CONTINUE:
            return self.break_control(token, "{{continue}}", nodes.ContinueNode)
        if typ == Item.ELSE:
            return self.else_control()
        if typ == Item.END:
            return nodes.EndNode(self.expect(Item.RIGHT_DELIM, "end").pos)
        if typ == Item.IF:
            return nodes.IfNode(*self.parse_control("if"))
        if typ == Item.RANGE:
            return nodes.RangeNode(*self.parse_control("range"))
        if typ == Item.TEMPLATE:
            return self.template_control()
        if typ == Item.WITH:
            return nodes.WithNode(*self.parse_control("with"))
        s.backup()
        token = s.peek()
        # Variables declared here persist until the enclosing {{end}}.
        return nodes.ActionNode(token.pos, token.line, self.pipeline("command", Item.RIGHT_DELIM))

    def break_control(self, keyword: Token, name: str, node_type: type) -> nodes.Node:
        token = self.s.next_non_space()
        if token.typ != Item.RIGHT_DELIM:
            raise self.unexpected(token, name)
        if self.range_depth == 0:
            raise self.errorf(f"{name} outside {{{{range}}}}")
        return node_type(keyword.pos, keyword.line)

    def else_control(self) -> nodes.Node:
        peek = self.s.peek_non_space()
        # "{{else if ...}}" and "{{else with ...}}" leave the if/with token pending.
        if peek.typ in (Item.IF, Item.WITH):
            return nodes.ElseNode(peek.pos, peek.line)
        token = self.expect(Item.RIGHT_DELIM, "else")
        return nodes.ElseNode(token.pos, token.line)

    def parse_control(
        self, context: str
    ) -> tuple[int, int, nodes.PipeNode, nodes.ListNode, nodes.ListNode | None]:
        saved_vars = len(self.vars)
        pipe = self.pipeline(context, Item.RIGHT_DELIM)
        if context == "range":
            self.range_depth += 1
        body, next_node = self.item_list()
        if context == "range":
            self.range_depth -= 1
        else_list: nodes.ListNode | None = None
        if isinstance(next_node, nodes.ElseNode):
            # {{if a}}x{{else if b}}y{{end}} is {{if a}}x{{else}}{{if b}}y{{end}}{{end}}.
            if context == "if" and self.s.peek().typ == Item.IF:
                self.s.next()
                else_list = nodes.ListNode(next_node.pos)
                else_list.nodes.append(nodes.IfNode(*self.parse_control("if")))
            elif context == "with" and self.s.peek().typ == Item.WITH:
                self.s.next()
                else_list = nodes.ListNode(next_node.pos)
                else_list.nodes.append(nodes.WithNode(*self.parse_control("with")))
            else:
                else_list, next_node = self.item_list()
                if not isinstance(next_node, nodes.EndNode):
                    raise self.errorf(f"expected end; found {next_node}")
        del self.vars[saved_vars:]
        return pipe.pos, pipe.line, pipe, body, else_list

    def block_control(self) -> nodes.Node:
        context = "block clause"
        token = self.s.next_non_space()
        name = self.template_name(token, context)
        pipe = self.pipeline(context, Item.RIGHT_DELIM)
        block = _TreeParser(name, self.parse_name, self.text, self.s, self.funcs, self.tree_set)
        block.root, end = block.item_list()
        if not isinstance(end, nodes.EndNode):
            raise self.errorf(f"unexpected {end} in {context}")
        block.add()
        return nodes.TemplateNode(token.pos, token.line, name, pipe)

    def template_control(self) -> nodes.Node:
        context = "template clause"
        token = self.s.next_non_space()
        name = self.template_name(token, context)
        pipe = None
        if self.s.next_non_space().typ != Item.RIGHT_DELIM:
            self.s.backup()
            pipe = self.pipeline(context, Item.RIGHT_DELIM)
        return nodes.TemplateNode(token.pos, token.line, name, pipe)

    def template_name(self, token: Token, context: str) -> str:
        if token.typ in (Item.STRING, Item.RAW_STRING):
            return self.unquote(token.val)
        raise self.unexpected(token, context)

    # -- pipelines --------------------------------------------------------------------------

    def pipeline(self, context: str, end: Item) -> nodes.PipeNode:
        s = self.s
        token = s.peek_non_space()
        pipe = nodes.PipeNode(token.pos, token.line)
        while True:  # declarations; loops at most twice ("range $i, $e := ...")
            variable = s.peek_non_space()
            if variable.typ != Item.VARIABLE:
                break
            start = s.index
            s.next_non_space()
            after_variable = s.peek()
            following = s.peek_non_space()
            if following.typ in (Item.ASSIGN, Item.DECLARE):
                pipe.is_assign = following.typ == Item.ASSIGN
                s.next_non_space()
                pipe.decl.append(nodes.VariableNode(variable.pos, [variable.val]))
                self.vars.append(variable.val)
                break
            if following.typ == Item.CHAR and following.val == ",":
                s.next_non_space()
                pipe.decl.append(nodes.VariableNode(variable.pos, [variable.val]))
                self.vars.append(variable.val)
                if context == "range" and len(pipe.decl) < 2:
                    if s.peek_non_space().typ in (Item.VARIABLE, Item.RIGHT_DELIM, Item.RIGHT_PAREN):
                        continue
                    raise self.errorf("range can only initialize variables")
                raise self.errorf(f"too many declarations in {context}")
            del after_variable
            s.index = start
            break
        while True:
            token = s.next_non_space()
            if token.typ == end:
                self.check_pipeline(pipe, context)
                return pipe
            if token.typ in _OPERAND_START:
                s.backup()
                pipe.cmds.append(self.command())
            else:
                raise self.unexpected(token, context)

    def check_pipeline(self, pipe: nodes.PipeNode, context: str) -> None:
        if not pipe.cmds:
            raise self.errorf(f"missing value for {context}")
        for index, cmd in enumerate(pipe.cmds[1:]):
            if isinstance(cmd.args[0], _LITERAL_NODES):
                raise self.errorf(f"non executable command in pipeline stage {index + 2}")

    def command(self) -> nodes.CommandNode:
        s = self.s
        cmd = nodes.CommandNode(s.peek_non_space().pos)
        while True:
            s.peek_non_space()
            operand = self.operand()
            if operand is not None:
                cmd.args.append(operand)
            token = s.next()
            if token.typ == Item.SPACE:
                continue
            if token.typ in (Item.RIGHT_DELIM, Item.RIGHT_PAREN):
                s.backup()
            elif token.typ != Item.PIPE:
                raise self.unexpected(token, "operand")
            break
        if not cmd.args:
            raise self.errorf("empty command")
        return cmd

    def operand(self) -> nodes.Node | None:
        node = self.term()
        if node is None:
            return None
        s = self.s
        if s.peek().typ == Item.FIELD:
            chain = nodes.ChainNode(s.peek().pos, node)
            while s.peek().typ == Item.FIELD:
                chain.fields.append(s.next().val[1:])
            if isinstance(node, nodes.FieldNode):
                return nodes.FieldNode(chain.pos, node.idents + chain.fields)
            if isinstance(node, nodes.VariableNode):
                return nodes.VariableNode(chain.pos, node.idents + chain.fields)
            if isinstance(node, _LITERAL_NODES):
                raise self.errorf(f"unexpected . after term {lex_quote(str(node))}")
            return chain
        return node

    def term(self) -> nodes.Node | None:
        s = self.s
        token = s.next_non_space()
        typ = token.typ
        if typ == Item.IDENTIFIER:
            if token.val not in self.funcs:
                raise self.errorf(f"function {lex_quote(token.val)} not defined")
            return nodes.IdentifierNode(token.pos, token.val)
        if typ == Item.DOT:
            return nodes.DotNode(token.pos)
        if typ == Item.NIL:
            return nodes.NilNode(token.pos)
        if typ == Item.VARIABLE:
            if token.val not in self.vars:
                raise self.errorf(f"undefined variable {lex_quote(token.val)}")
            return nodes.VariableNode(token.pos, [token.val])
        if typ == Item.FIELD:
            return nodes.FieldNode(token.pos, [token.val[1:]])
        if typ == Item.BOOL:
            return nodes.BoolNode(token.pos, token.val == "true")
        if typ in (Item.CHAR_CONSTANT, Item.COMPLEX, Item.NUMBER):
            try:
                return new_number(token.pos, token.val, typ)
            except ValueError as exc:
                raise self.errorf(str(exc)) from None
        if typ == Item.LEFT_PAREN:
            return self.pipeline("parenthesized pipeline", Item.RIGHT_PAREN)
        if typ in (Item.STRING, Item.RAW_STRING):
            return nodes.StringNode(token.pos, token.val, self.unquote(token.val))
        s.backup()
        return None

    def unquote(self, quoted: str) -> str:
        try:
            return unquote(quoted)
        except ValueError as exc:
            raise self.errorf(str(exc)) from None


def lex_quote(text: str) -> str:
    from fleet.gotemplate import gofmt

    return gofmt.quote(text)


# ---------------------------------------------------------------------------------------------
# literals (strconv)

_SIMPLE = {"a": 7, "b": 8, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11, "\\": 92}


def _unquote_char(text: str, index: int, quote: str, out: bytearray) -> int:
    """Decode one (possibly escaped) character at ``index``; return the next index."""
    ch = text[index]
    if ch != "\\":
        if ch == quote and quote == "'":
            raise ValueError("invalid syntax")
        out += ch.encode("utf-8", "surrogateescape")
        return index + 1
    if index + 1 >= len(text):
        raise ValueError("invalid syntax")
    esc = text[index + 1]
    if esc in _SIMPLE:
        out.append(_SIMPLE[esc])
        return index + 2
    if esc == quote and esc in "'\"":
        out.append(ord(esc))
        return index + 2
    if esc in "xuU":
        size = {"x": 2, "u": 4, "U": 8}[esc]
        digits = text[index + 2 : index + 2 + size]
        if len(digits) != size or not all(c in "0123456789abcdefABCDEF" for c in digits):
            raise ValueError("invalid syntax")
        value = int(digits, 16)
        if esc == "x":
            out.append(value)
        else:
            if value > 0x10FFFF or 0xD800 <= value <= 0xDFFF:
                raise ValueError("invalid syntax")
            out += chr(value).encode("utf-8")
        return index + 2 + size
    if esc in "01234567":
        digits = text[index + 1 : index + 4]
        if len(digits) != 3 or not all(c in "01234567" for c in digits):
            raise ValueError("invalid syntax")
        value = int(digits, 8)
        if value > 255:
            raise ValueError("invalid syntax")
        out.append(value)
        return index + 4
    raise ValueError("invalid syntax")


def unquote(quoted: str) -> str:
    """strconv.Unquote for "double-quoted" and `raw` Go string literals."""
    if len(quoted) < 2 or quoted[0] != quoted[-1] or quoted[0] not in '"`':
        raise ValueError("invalid syntax")
    body = quoted[1:-1]
    if quoted[0] == "`":
        if "`" in body:
            raise ValueError("invalid syntax")
        return body.replace("\r", "")
    if "\\" not in body:
        if '"' in body or "\n" in body:
            raise ValueError("invalid syntax")
        return body
    out = bytearray()
    index = 0
    while index < len(body):
        if body[index] in '"\n':
            raise ValueError("invalid syntax")
        index = _unquote_char(body, index, '"', out)
    return out.decode("utf-8", "surrogateescape")


def _unquote_rune(quoted: str) -> int:
    body = quoted[1:-1] if len(quoted) >= 2 and quoted[-1] == "'" else quoted[1:]
    if not body:
        raise ValueError("invalid syntax")
    out = bytearray()
    end = _unquote_char(body, 0, "'", out)
    if body[0] == "\\" and body[1] in "x01234567":
        rune = out[0]
    else:
        rune = ord(out.decode("utf-8", "surrogateescape"))
    if end != len(body) or not quoted.endswith("'") or len(quoted) < 3:
        raise ValueError(f"malformed character constant: {quoted}")
    return rune


_INT_BODY = {
    16: re.compile(r"_?[0-9a-fA-F]+(_[0-9a-fA-F]+)*\Z"),
    8: re.compile(r"_?[0-7]+(_[0-7]+)*\Z"),
    2: re.compile(r"_?[01]+(_[01]+)*\Z"),
    10: re.compile(r"[0-9]+(_[0-9]+)*\Z"),
}


def parse_go_int(text: str, *, signed: bool) -> int | None:
    """strconv.ParseInt / ParseUint with base 0 (0x, 0o, 0b and leading-0 octal, underscores)."""
    body = text
    negative = False
    if signed and body[:1] in ("+", "-"):
        negative = body[0] == "-"
        body = body[1:]
    if not body:
        return None
    base = 10
    if len(body) > 1 and body[0] == "0":
        prefix = body[1].lower()
        if prefix in "xob":
            base, body = {"x": 16, "o": 8, "b": 2}[prefix], body[2:]
        else:  # a leading 0 means octal: 017, 0_17
            base, body = 8, body[1:]
    if not _INT_BODY[base].match(body):
        return None
    value = int(body.replace("_", ""), base)
    if negative:
        value = -value
    if signed:
        return value if -(1 << 63) <= value < (1 << 63) else None
    return value if 0 <= value < (1 << 64) else None


_FLOAT_DEC = re.compile(r"[+-]?(\d+(_\d+)*)?(\.(\d+(_\d+)*)?)?([eE][+-]?\d+(_\d+)*)?\Z")
_FLOAT_HEX = re.compile(
    r"[+-]?0[xX](_?[0-9a-fA-F]+(_[0-9a-fA-F]+)*)?(\.([0-9a-fA-F]+(_[0-9a-fA-F]+)*)?)?[pP][+-]?\d+\Z"
)


def parse_go_float(text: str) -> float | None:
    """strconv.ParseFloat(text, 64); None on a syntax or range error."""
    if _FLOAT_HEX.match(text):
        try:
            value = float.fromhex(text.replace("_", ""))
        except (ValueError, OverflowError):
            return None
    elif _FLOAT_DEC.match(text) and any(c.isdigit() for c in text):
        value = float(text.replace("_", ""))
    else:
        return None
    if math.isinf(value):
        return None
    return value


def new_number(pos: int, text: str, typ: Item) -> nodes.NumberNode:
    """A number literal, with every type it can be read as (Go's parse.NumberNode rules)."""
    number = nodes.NumberNode(pos, text)
    if typ == Item.CHAR_CONSTANT:
        try:
            rune = _unquote_rune(text)
        except ValueError as exc:
            raise ValueError(str(exc)) from None
        number.is_int = number.is_uint = number.is_float = True
        number.int_value = number.uint_value = rune
        number.float_value = float(rune)
        return number
    if typ == Item.COMPLEX:
        try:
            number.complex_value = complex(text.replace("_", "").replace("i", "j"))
        except ValueError:
            raise ValueError("expected integer") from None
        number.is_complex = True
        _simplify_complex(number)
        return number
    if text.endswith("i"):
        imag = parse_go_float(text[:-1])
        if imag is None:
            as_int = parse_go_int(text[:-1], signed=True)
            imag = float(as_int) if as_int is not None else None
        if imag is not None:
            number.is_complex = True
            number.complex_value = complex(0, imag)
            _simplify_complex(number)
            return number
    unsigned = parse_go_int(text, signed=False)
    if unsigned is not None:
        number.is_uint = True
        number.uint_value = unsigned
    signed = parse_go_int(text, signed=True)
    if signed is not None:
        number.is_int = True
        number.int_value = signed
        if signed == 0:
            number.is_uint = True
            number.uint_value = 0
    if number.is_int:
        number.is_float = True
        number.float_value = float(number.int_value)
    elif number.is_uint:
        number.is_float = True
        number.float_value = float(number.uint_value)
    else:
        value = parse_go_float(text)
        if value is not None:
            if not any(c in text for c in ".eEpP"):
                raise ValueError(f"integer overflow: {lex_quote(text)}")
            number.is_float = True
            number.float_value = value
            if value == int(value) and -(1 << 63) <= value < (1 << 63):
                number.is_int = True
                number.int_value = int(value)
            if value == int(value) and 0 <= value < (1 << 64):
                number.is_uint = True
                number.uint_value = int(value)
    if not (number.is_int or number.is_uint or number.is_float):
        raise ValueError(f"illegal number syntax: {lex_quote(text)}")
    return number


def _simplify_complex(number: nodes.NumberNode) -> None:
    value = number.complex_value
    number.is_float = value.imag == 0
    if number.is_float:
        number.float_value = value.real
        if value.real == int(value.real) and -(1 << 63) <= value.real < (1 << 63):
            number.is_int = True
            number.int_value = int(value.real)
        if value.real == int(value.real) and 0 <= value.real < (1 << 64):
            number.is_uint = True
            number.uint_value = int(value.real)


def parse(text: str, *, name: str, funcs: Container[str]) -> dict[str, nodes.Tree]:
    """Parse ``text`` into its templates: ``name`` plus every ``define``/``block`` in it."""
    break_ok = "break" not in funcs
    continue_ok = "continue" not in funcs
    tokens = lex.lex(text, break_ok=break_ok, continue_ok=continue_ok)
    tree_set: dict[str, nodes.Tree] = {}
    parser = _TreeParser(name, name, text, _Stream(tokens), funcs, tree_set)
    parser.parse()
    return tree_set
