"""The parse tree of a Go template (step 2 of lex -> parse -> compile -> execute).

Node kinds and their ``__str__`` forms follow Go's ``text/template/parse`` nodes, because error
messages quote a node as Go prints it (``executing "t" at <index .a "x">``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class Node:
    __slots__ = ()
    pos: int

    def __str__(self) -> str:  # pragma: no cover - every node overrides
        raise NotImplementedError


@dataclass(eq=False, slots=True)
class ListNode(Node):
    pos: int
    nodes: list[Node] = field(default_factory=list)

    def __str__(self) -> str:
        return "".join(str(node) for node in self.nodes)


@dataclass(eq=False, slots=True)
class TextNode(Node):
    pos: int
    text: str

    def __str__(self) -> str:
        return self.text


@dataclass(eq=False, slots=True)
class CommentNode(Node):
    pos: int
    text: str

    def __str__(self) -> str:
        return "{{" + self.text + "}}"


@dataclass(eq=False, slots=True)
class IdentifierNode(Node):
    """A function name."""

    pos: int
    ident: str

    def __str__(self) -> str:
        return self.ident


@dataclass(eq=False, slots=True)
class VariableNode(Node):
    """``$x`` or ``$x.Field.Chain``; ``idents[0]`` is the variable name with its ``$``."""

    pos: int
    idents: list[str]

    def __str__(self) -> str:
        return ".".join(self.idents)


@dataclass(eq=False, slots=True)
class DotNode(Node):
    pos: int

    def __str__(self) -> str:
        return "."


@dataclass(eq=False, slots=True)
class NilNode(Node):
    pos: int

    def __str__(self) -> str:
        return "nil"


@dataclass(eq=False, slots=True)
class FieldNode(Node):
    """``.A.B.C``; ``idents`` holds the names without dots."""

    pos: int
    idents: list[str]

    def __str__(self) -> str:
        return "".join("." + ident for ident in self.idents)


@dataclass(eq=False, slots=True)
class ChainNode(Node):
    """``(pipeline).A.B`` or ``fn.A``: fields applied to the value of another term."""

    pos: int
    node: Node
    fields: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        inner = f"({self.node})" if isinstance(self.node, PipeNode) else str(self.node)
        return inner + "".join("." + name for name in self.fields)


@dataclass(eq=False, slots=True)
class BoolNode(Node):
    pos: int
    value: bool

    def __str__(self) -> str:
        return "true" if self.value else "false"


@dataclass(eq=False, slots=True)
class NumberNode(Node):
    """A number literal with every Go type it can be read as (1 is int, uint and float)."""

    pos: int
    text: str
    is_int: bool = False
    is_uint: bool = False
    is_float: bool = False
    is_complex: bool = False
    int_value: int = 0
    uint_value: int = 0
    float_value: float = 0.0
    complex_value: complex = 0j

    def __str__(self) -> str:
        return self.text


@dataclass(eq=False, slots=True)
class StringNode(Node):
    pos: int
    quoted: str  # as written, quotes included
    text: str  # the value

    def __str__(self) -> str:
        return self.quoted


@dataclass(eq=False, slots=True)
class CommandNode(Node):
    """One command of a pipeline: an operand followed by its arguments."""

    pos: int
    args: list[Node] = field(default_factory=list)

    def __str__(self) -> str:
        return " ".join(f"({arg})" if isinstance(arg, PipeNode) else str(arg) for arg in self.args)


@dataclass(eq=False, slots=True)
class PipeNode(Node):
    """``$x := cmd1 | cmd2``: optional declarations (or assignments) and commands."""

    pos: int
    line: int
    is_assign: bool = False
    decl: list[VariableNode] = field(default_factory=list)
    cmds: list[CommandNode] = field(default_factory=list)

    def __str__(self) -> str:
        text = ""
        if self.decl:
            text = ", ".join(str(var) for var in self.decl) + (" = " if self.is_assign else " := ")
        return text + " | ".join(str(cmd) for cmd in self.cmds)


@dataclass(eq=False, slots=True)
class ActionNode(Node):
    """``{{pipeline}}``: evaluate and print (unless it declares variables)."""

    pos: int
    line: int
    pipe: PipeNode

    def __str__(self) -> str:
        return "{{" + str(self.pipe) + "}}"


@dataclass(eq=False, slots=True)
class BranchNode(Node):
    pos: int
    line: int
    pipe: PipeNode
    list: ListNode
    else_list: ListNode | None

    keyword = ""

    def __str__(self) -> str:
        text = "{{" + self.keyword + " " + str(self.pipe) + "}}" + str(self.list)
        if self.else_list is not None:
            text += "{{else}}" + str(self.else_list)
        return text + "{{end}}"


class IfNode(BranchNode):
    __slots__ = ()
    keyword = "if"


class RangeNode(BranchNode):
    __slots__ = ()
    keyword = "range"


class WithNode(BranchNode):
    __slots__ = ()
    keyword = "with"


@dataclass(eq=False, slots=True)
class TemplateNode(Node):
    """``{{template "name" pipeline}}``."""

    pos: int
    line: int
    name: str
    pipe: PipeNode | None

    def __str__(self) -> str:
        from fleet.gotemplate import gofmt

        if self.pipe is None:
            return "{{template " + gofmt.quote(self.name) + "}}"
        return "{{template " + gofmt.quote(self.name) + " " + str(self.pipe) + "}}"


@dataclass(eq=False, slots=True)
class BreakNode(Node):
    pos: int
    line: int

    def __str__(self) -> str:
        return "{{break}}"


@dataclass(eq=False, slots=True)
class ContinueNode(Node):
    pos: int
    line: int

    def __str__(self) -> str:
        return "{{continue}}"


@dataclass(eq=False, slots=True)
class EndNode(Node):
    """``{{end}}``; only seen by the parser."""

    pos: int

    def __str__(self) -> str:
        return "{{end}}"


@dataclass(eq=False, slots=True)
class ElseNode(Node):
    """``{{else}}``; only seen by the parser."""

    pos: int
    line: int

    def __str__(self) -> str:
        return "{{else}}"


@dataclass(eq=False, slots=True)
class Tree:
    """One named template: its root list and the text it was parsed from (for positions)."""

    name: str
    parse_name: str
    root: ListNode
    text: str
    extra: dict[str, Any] = field(default_factory=dict)


def is_empty_tree(node: Node | None) -> bool:
    """Go's IsEmptyTree: nothing but space and comments (a define-only file is empty)."""
    if node is None:
        return True
    if isinstance(node, ListNode):
        return all(is_empty_tree(child) for child in node.nodes)
    if isinstance(node, TextNode):
        return node.text.strip(" \t\r\n\v\f") == ""
    return isinstance(node, CommentNode)
