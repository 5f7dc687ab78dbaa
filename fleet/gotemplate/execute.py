"""Compile parse trees into Python closures and run them (steps 3 and 4 of the engine).

An ApplicationSet of 10,000 Applications renders a few hundred thousand template fields, so
walking a generic tree per render would dominate the run. Each template is compiled once into
closures: a list of text and actions becomes one generated straight-line function, a field
chain like ``.path.basename`` becomes two dict lookups with a fallback to the general (slow,
exact) path, and variables live in numbered slots resolved at compile time (Go's lexical
scoping makes the slot of every ``$x`` known before execution).

Semantics follow Go's ``text/template/exec.go``: missing map keys and ``missingkey``, nil
versus "no value", argument type checks, short-circuit ``and``/``or``, ``range`` over lists,
maps (sorted keys) and integers with ``break``/``continue``, and error messages of the form
``template: NAME:LINE:COL: executing "NAME" at <NODE>: MESSAGE``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fleet import redact
from fleet.gotemplate import errors, gofmt, gofunc, nodes, values
from fleet.gotemplate.funcs import AND, CALL, INDEX, OR
from fleet.gotemplate.gofunc import ANY, STRING, VALUE, ArgError, GoFunc
from fleet.gotemplate.values import MISSING

MODE_DEFAULT = 0  # missingkey=default / invalid: a missing key is "no value"
MODE_ZERO = 1  # missingkey=zero: a missing key is the zero value of the map's element type
MODE_ERROR = 2  # missingkey=error: a missing key is an error

MISSINGKEY_MODES = {"default": MODE_DEFAULT, "invalid": MODE_DEFAULT, "zero": MODE_ZERO, "error": MODE_ERROR}

# Go stops at 100000 nested {{template}} calls; Python's stack is far smaller.
MAX_TEMPLATE_DEPTH = 100

NOFINAL: Any = object()  # Go's missingVal: the command has no value piped into it

Evaluator = Callable[["State", Any], Any]
Runner = Callable[["State", Any, list[str]], None]


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


_BREAK = _Break()
_CONTINUE = _Continue()


class State:
    """One execution: variable slots, the missingkey mode and the template being executed."""

    __slots__ = ("depth", "dot_iface", "last_at", "mode", "name", "template", "vars")

    def __init__(self, template: Any, name: str, mode: int, nslots: int, data: Any) -> None:
        self.vars: list[Any] = [data] if nslots == 1 else [data] + [MISSING] * (nslots - 1)
        self.mode = mode
        self.template = template
        self.name = name
        self.depth = 0
        # True while dot is an element of a []interface{} or map[string]interface{} (inside
        # range): Go then names the static type "interface {}" in field errors.
        self.dot_iface = False
        self.last_at: Where | None = None  # the argument an and/or call stopped at


class Where:
    """A node and the text it was parsed from: enough to write Go's error location."""

    __slots__ = ("node", "parse_name", "text")

    def __init__(self, node: nodes.Node, text: str, parse_name: str) -> None:
        self.node = node
        self.text = text
        self.parse_name = parse_name

    def location(self) -> str:
        before = self.text[: self.node.pos]
        line = before.count("\n") + 1
        last = before.rfind("\n")
        column_text = before if last < 0 else before[last + 1 :]
        column = len(column_text.encode("utf-8", "surrogateescape"))
        return f"{self.parse_name}:{line}:{column}"


class DynamicWhere(Where):
    """The node Go names after an and/or call: the argument it stopped at, known at run time."""

    __slots__ = ("fallback",)

    def __init__(self, fallback: Where) -> None:
        super().__init__(fallback.node, fallback.text, fallback.parse_name)
        self.fallback = fallback


def exec_error(st: State, where: Where, message: str) -> errors.ExecError:
    if isinstance(where, DynamicWhere):
        where = st.last_at or where.fallback
    text = f"template: {where.location()}: executing {gofmt.quote(st.name)} at <{where.node}>: {message}"
    return errors.ExecError(redact.mask(text))


def _raise_at(where: Where, message: str) -> Evaluator:
    def fail(st: State, dot: Any, final: Any = NOFINAL) -> Any:
        raise exec_error(st, where, message)

    return fail


def print_value(value: Any, st: State, where: Where) -> str:
    """How an action prints its value: Go's printValue (no value and nil: ``<no value>``)."""
    kind = value.__class__
    if kind is str:
        return value
    if value is MISSING or value is None:
        return "<no value>"
    if kind is int or kind is values.Int64:
        return str(int(value))
    if kind is float:
        return gofmt.format_float_v(value)
    if callable(value) and not isinstance(value, values.GoObject):
        raise exec_error(st, where, f"can't print {where.node} of type {values.type_name(value)}")
    return gofmt.sprint_value(value)


def _missing_key(st: State, receiver: dict[str, Any], name: str, where: Where) -> Any:
    if st.mode == MODE_ZERO:
        return "" if isinstance(receiver, values.StrMap) else None
    if st.mode == MODE_ERROR:
        raise exec_error(st, where, f"map has no entry for key {gofmt.quote(name)}")
    return MISSING


def _static_type(receiver: Any, container: Any) -> str:
    """The static type Go names in "can't evaluate field": interface {} for map/slice elements."""
    if container is None:
        return values.type_name(receiver)
    if isinstance(container, values.StrMap):
        return "string"
    return "interface {}"


def eval_field(
    st: State, receiver: Any, name: str, where: Where, container: Any = None, args: list[Any] | None = None
) -> Any:
    """Go's evalField: ``receiver.name`` where receiver is a map or a Go object.

    ``container`` is the map the receiver was read from (None for dot, variables and pipeline
    results); ``args`` are the evaluated arguments when the field is called with arguments.
    """
    if receiver is MISSING:
        if st.mode == MODE_ERROR:
            raise exec_error(st, where, f"nil data; no entry for key {gofmt.quote(name)}")
        return MISSING
    if receiver is None:
        raise exec_error(st, where, f"nil pointer evaluating interface {{}}.{name}")
    if isinstance(receiver, values.GoObject):
        method = receiver.go_methods().get(name)
        if method is not None:
            return _call_method(st, method, name, args or [], where)
    elif isinstance(receiver, dict):
        if args:
            raise exec_error(st, where, f"{name} is not a method but has arguments")
        value = receiver.get(name, MISSING)
        if value is MISSING:
            return _missing_key(st, receiver, name, where)
        return value
    if container is None and st.dot_iface:
        type_name = "interface {}"
    else:
        type_name = _static_type(receiver, container)
    raise exec_error(st, where, f"can't evaluate field {name} in type {type_name}")


def _call_method(st: State, method: Any, name: str, args: list[Any], where: Where) -> Any:
    if not isinstance(method, GoFunc):
        method = GoFunc(name, method)
    problem = method.arity_error(len(args))
    if problem is not None:
        raise exec_error(st, where, problem)
    prepared = []
    for position, arg in enumerate(args):
        try:
            prepared.append(method.param_type(position, len(args)).validate(arg))
        except ArgError as exc:
            raise exec_error(st, where, str(exc)) from None
    return _safe_call(st, method.fn, prepared, name, where)


def eval_chain(
    st: State,
    receiver: Any,
    names: list[str],
    where: Where,
    args: list[Any] | None = None,
    from_dot: bool = False,
) -> Any:
    """Go's evalFieldChain: walk ``names`` from ``receiver``; ``args`` go to the last field."""
    container = None
    saved_iface = st.dot_iface
    if not from_dot:
        st.dot_iface = False
    try:
        last = len(names) - 1
        for position, name in enumerate(names):
            value = eval_field(st, receiver, name, where, container, args if position == last else None)
            container = receiver if isinstance(receiver, dict) else None
            receiver = value
        return receiver
    finally:
        st.dot_iface = saved_iface


def _safe_call(st: State, fn: Callable[..., Any], argv: list[Any], name: str, where: Where) -> Any:
    try:
        return fn(*argv)
    except Exception as exc:  # noqa: BLE001 - every failure of a function is Go's "error calling"
        raise _call_failed(st, exc, name, where) from None


def _call_failed(st: State, exc: Exception, name: str, where: Where) -> Exception:
    """The exception to raise for a function that raised ``exc`` (Go: "error calling NAME")."""
    if isinstance(exc, (errors.ExecError, _Break, _Continue, RecursionError)):
        return exc
    if isinstance(exc, errors.FuncError):
        return exec_error(st, where, f"error calling {name}: {exc}")
    # A bug or an unexpected input in a function: never echo the message (it may hold values).
    return exec_error(st, where, f"error calling {name}: {type(exc).__name__}")


# Maps whose fields a template reads as plain lookups (a hit is all eval_field would do for them):
# JSON objects and Go map[string]string values (cluster labels and annotations, ``values``).
_PLAIN_MAPS: frozenset[Any] = frozenset((dict, values.StrMap))


class Compiler:
    """Compiles the trees of one parse (the main template and its defines)."""

    def __init__(self, tree: nodes.Tree, funcs: dict[str, GoFunc]) -> None:
        self.tree = tree
        self.funcs = funcs
        self.scope: list[tuple[str, int]] = [("$", 0)]
        self.nslots = 1

    def where(self, node: nodes.Node) -> Where:
        return Where(node, self.tree.text, self.tree.parse_name)

    def last_visited(self, node: nodes.Node) -> Where:
        """The node Go's error context names after evaluating ``node`` as an argument.

        Go records the node it is evaluating (``s.at``) as it goes and reports errors that
        happen after an evaluation (a field of a pipeline result, a bad argument type, range
        over a non-collection) at the last node it visited, often deep inside ``node``.
        """
        while True:
            if isinstance(node, nodes.PipeNode):
                node = node.cmds[-1]
                continue
            if isinstance(node, nodes.CommandNode):
                word = node.args[0]
                if isinstance(word, nodes.IdentifierNode) and len(node.args) > 1:
                    if self.funcs.get(word.ident) in (AND, OR):
                        return DynamicWhere(self.last_visited(node.args[-1]))
                    node = node.args[-1]
                    continue
                node = word
                continue
            if isinstance(node, nodes.ChainNode):
                node = node.node
                continue
            return self.where(node)

    # -- variables --------------------------------------------------------------------------

    def declare(self, name: str) -> int:
        slot = self.nslots
        self.nslots += 1
        self.scope.append((name, slot))
        return slot

    def lookup(self, name: str) -> int | None:
        for var, slot in reversed(self.scope):
            if var == name:
                return slot
        return None

    # -- lists and control structures -------------------------------------------------------

    def compile_list(self, node: nodes.ListNode) -> Runner:
        parts: list[tuple[str, Any]] = []
        for child in node.nodes:
            if isinstance(child, nodes.TextNode):
                if parts and parts[-1][0] == "text":
                    parts[-1] = ("text", parts[-1][1] + child.text)
                else:
                    parts.append(("text", child.text))
            elif isinstance(child, nodes.ActionNode):
                evaluator = self.compile_pipe(child.pipe, nil_ok=True)
                if child.pipe.decl:
                    parts.append(("eval", evaluator))
                else:
                    parts.append(("print", (evaluator, self.where(child))))
            elif isinstance(child, nodes.CommentNode):
                continue
            else:
                parts.append(("run", self.compile_control(child)))
        return _generate_runner(parts)

    def compile_control(self, node: nodes.Node) -> Runner:
        if isinstance(node, nodes.IfNode):
            return self.compile_if(node, with_dot=False)
        if isinstance(node, nodes.WithNode):
            return self.compile_if(node, with_dot=True)
        if isinstance(node, nodes.RangeNode):
            return self.compile_range(node)
        if isinstance(node, nodes.TemplateNode):
            return self.compile_template_call(node)
        if isinstance(node, nodes.BreakNode):

            def run_break(st: State, dot: Any, out: list[str]) -> None:
                raise _BREAK

            return run_break
        if isinstance(node, nodes.ContinueNode):

            def run_continue(st: State, dot: Any, out: list[str]) -> None:
                raise _CONTINUE

            return run_continue
        where = self.where(node)

        def unknown(st: State, dot: Any, out: list[str]) -> None:
            raise exec_error(st, where, f"unknown node: {node}")

        return unknown

    def compile_if(self, node: nodes.BranchNode, *, with_dot: bool) -> Runner:
        mark = len(self.scope)
        condition = self.compile_pipe(node.pipe, nil_ok=True)
        body = self.compile_list(node.list)
        otherwise = self.compile_list(node.else_list) if node.else_list is not None else None
        del self.scope[mark:]
        truth = values.truth

        if with_dot:

            def run_with(st: State, dot: Any, out: list[str]) -> None:
                value = condition(st, dot)
                if truth(value):
                    saved = st.dot_iface
                    st.dot_iface = False
                    try:
                        body(st, value, out)
                    finally:
                        st.dot_iface = saved
                elif otherwise is not None:
                    otherwise(st, dot, out)

            return run_with

        def run_if(st: State, dot: Any, out: list[str]) -> None:
            if truth(condition(st, dot)):
                body(st, dot, out)
            elif otherwise is not None:
                otherwise(st, dot, out)

        return run_if

    def compile_range(self, node: nodes.RangeNode) -> Runner:
        mark = len(self.scope)
        pipe = node.pipe
        collection = self.compile_pipe(pipe, declare=False)
        where = self.last_visited(pipe)
        slots: list[int | None] = []
        if pipe.is_assign:
            slots = [self.lookup(var.idents[0]) for var in pipe.decl]
        else:
            slots = [self.declare(var.idents[0]) for var in pipe.decl]
        undefined = [var.idents[0] for var, slot in zip(pipe.decl, slots, strict=True) if slot is None]
        declared = [slot for slot in slots if slot is not None]  # all of them unless undefined raises
        body = self.compile_list(node.list)
        otherwise = self.compile_list(node.else_list) if node.else_list is not None else None
        del self.scope[mark:]
        ndecl = len(pipe.decl)
        index_slot = slots[0] if ndecl > 1 else None
        elem_slot = slots[-1] if ndecl else None

        def iterate(st: State, dot: Any, out: list[str], items: Any, iface: bool) -> bool:
            ran = False
            slots_vars = st.vars
            saved_iface = st.dot_iface
            st.dot_iface = iface
            try:
                for key, elem in items:
                    ran = True
                    if elem_slot is not None:
                        slots_vars[elem_slot] = elem
                    if index_slot is not None:
                        slots_vars[index_slot] = key
                    try:
                        body(st, elem, out)
                    except _Continue:
                        pass
            except _Break:
                pass
            finally:
                st.dot_iface = saved_iface
            return ran

        def run_range(st: State, dot: Any, out: list[str]) -> None:
            if undefined:
                raise exec_error(st, where, f"undefined variable: {undefined[0]}")
            value = collection(st, dot)
            for slot in declared:
                st.vars[slot] = value  # Go declares the variables with the collection first
            ran = False
            if isinstance(value, (list, tuple)):
                iface = not isinstance(value, (values.StrList, values.IntList))
                ran = iterate(st, dot, out, enumerate(value), iface)
            elif isinstance(value, dict):
                iface = not isinstance(value, values.StrMap)
                ran = iterate(st, dot, out, gofmt._sorted_items(value), iface)
            elif values.is_int(value):
                if ndecl > 1:
                    raise exec_error(
                        st, where, f"can't use {int(value)} to iterate over more than one variable"
                    )
                ran = iterate(st, dot, out, ((MISSING, n) for n in range(int(value))), False)
            elif value is not MISSING:
                raise exec_error(st, where, f"range can't iterate over {gofmt.sprint_value(value)}")
            if not ran and otherwise is not None:
                otherwise(st, dot, out)

        return run_range

    def compile_template_call(self, node: nodes.TemplateNode) -> Runner:
        where = self.where(node)
        name = node.name
        argument = self.compile_pipe(node.pipe) if node.pipe is not None else None

        def run_template(st: State, dot: Any, out: list[str]) -> None:
            target = st.template.compiled.get(name)
            if target is None:
                raise exec_error(st, where, f"template {gofmt.quote(name)} not defined")
            if st.depth >= MAX_TEMPLATE_DEPTH:
                raise exec_error(st, where, f"exceeded maximum template depth ({MAX_TEMPLATE_DEPTH})")
            new_dot = argument(st, dot) if argument is not None else MISSING
            saved = (st.vars, st.name, st.dot_iface)
            st.vars = [new_dot] + [MISSING] * (target.nslots - 1)
            st.name = name
            st.dot_iface = False
            st.depth += 1
            try:
                target.body(st, new_dot, out)
            finally:
                st.vars, st.name, st.dot_iface = saved
                st.depth -= 1

        return run_template

    # -- pipelines and commands ----------------------------------------------------------------

    def compile_pipe(self, pipe: nodes.PipeNode, *, declare: bool = True, nil_ok: bool = False) -> Evaluator:
        """Evaluate the commands in order, piping each value into the next; then bind variables.

        ``nil_ok``: the caller treats nil like no value (printing, truth tests), so a single
        command needs no wrapper turning nil into no value.
        """
        first = self.compile_command(pipe.cmds[0], has_final=False)
        rest = [self.compile_command(cmd, has_final=True) for cmd in pipe.cmds[1:]]
        if not declare or not pipe.decl:
            if not rest and nil_ok:
                return first
            if not rest:

                def run_one(st: State, dot: Any) -> Any:
                    value = first(st, dot)
                    return MISSING if value is None else value

                return run_one

            def run_many(st: State, dot: Any) -> Any:
                value = first(st, dot)
                if value is None:
                    value = MISSING
                for command in rest:
                    value = command(st, dot, value)
                    if value is None:
                        value = MISSING
                return value

            return run_many
        # Declarations are visible only after the pipeline ({{$x := $x}} reads an outer $x).
        if pipe.is_assign:
            slots = [self.lookup(var.idents[0]) for var in pipe.decl]
        else:
            slots = [self.declare(var.idents[0]) for var in pipe.decl]
        where = self.last_visited(pipe)
        undefined = [var.idents[0] for var, slot in zip(pipe.decl, slots, strict=True) if slot is None]
        declared = [slot for slot in slots if slot is not None]  # all of them unless undefined raises

        def run_declare(st: State, dot: Any) -> Any:
            value = first(st, dot)
            if value is None:
                value = MISSING
            for command in rest:
                value = command(st, dot, value)
                if value is None:
                    value = MISSING
            if undefined:
                raise exec_error(st, where, f"undefined variable: {undefined[0]}")
            for slot in declared:
                st.vars[slot] = value
            return value

        return run_declare

    def compile_command(self, cmd: nodes.CommandNode, *, has_final: bool) -> Any:
        """A command; returns f(st, dot) for the first command, f(st, dot, final) otherwise."""
        word = cmd.args[0]
        if isinstance(word, nodes.FieldNode):
            return self.compile_field(word, cmd.args[1:], has_final)
        if isinstance(word, nodes.ChainNode):
            return self.compile_chain(word, cmd.args[1:], has_final)
        if isinstance(word, nodes.VariableNode):
            return self.compile_variable(word, cmd.args[1:], has_final)
        if isinstance(word, nodes.IdentifierNode):
            return self.compile_call(word, cmd, cmd.args[1:], has_final)
        where = self.where(word)
        if len(cmd.args) > 1 or has_final:
            return _raise_at(where, f"can't give argument to non-function {word}")
        if isinstance(word, nodes.PipeNode):
            inner = self.compile_pipe(word)
            return inner
        if isinstance(word, nodes.DotNode):
            return lambda st, dot: dot
        if isinstance(word, nodes.NilNode):
            return _raise_at(where, "nil is not a command")
        try:
            constant = gofunc.ideal_constant(word)
        except ArgError as exc:
            return _raise_at(where, str(exc))
        return lambda st, dot: constant

    def _args_and_final(self, arg_nodes: list[nodes.Node], has_final: bool, fn: Callable[..., Any]) -> Any:
        """Wrap ``fn(st, dot, argv)`` into the command calling convention."""
        arg_evs = [self.compile_arg(node, ANY) for node in arg_nodes]
        if has_final:

            def with_final(st: State, dot: Any, final: Any) -> Any:
                argv = [ev(st, dot) for ev in arg_evs]
                argv.append(final)
                return fn(st, dot, argv)

            return with_final

        def without_final(st: State, dot: Any) -> Any:
            return fn(st, dot, [ev(st, dot) for ev in arg_evs])

        return without_final

    def compile_field(self, node: nodes.FieldNode, arg_nodes: list[nodes.Node], has_final: bool) -> Any:
        names = node.idents
        where = self.where(node)
        if arg_nodes or has_final:

            def field_call(st: State, dot: Any, argv: list[Any]) -> Any:
                return eval_chain(st, dot, names, where, argv, from_dot=True)

            return self._args_and_final(arg_nodes, has_final, field_call)
        return self.field_value(node)

    def field_value(self, node: nodes.FieldNode) -> Evaluator:
        """``.a.b.c`` as a value: dict lookups, falling back to the exact path on anything else."""
        names = node.idents
        where = self.where(node)

        def slow(st: State, dot: Any) -> Any:
            return eval_chain(st, dot, names, where, None, from_dot=True)

        if len(names) == 1:
            key = names[0]

            def field1(st: State, dot: Any) -> Any:
                if dot.__class__ in _PLAIN_MAPS:
                    value = dot.get(key, MISSING)
                    if value is not MISSING:
                        return value
                return slow(st, dot)

            return field1
        if len(names) == 2:
            key0, key1 = names

            def field2(st: State, dot: Any) -> Any:
                if dot.__class__ in _PLAIN_MAPS:
                    inner = dot.get(key0)
                    if inner.__class__ in _PLAIN_MAPS:
                        value = inner.get(key1, MISSING)
                        if value is not MISSING:
                            return value
                return slow(st, dot)

            return field2

        def field_n(st: State, dot: Any) -> Any:
            receiver = dot
            for key in names:
                if receiver.__class__ not in _PLAIN_MAPS:
                    return slow(st, dot)
                receiver = receiver.get(key, MISSING)
                if receiver is MISSING:
                    return slow(st, dot)
            return receiver

        return field_n

    def compile_chain(self, node: nodes.ChainNode, arg_nodes: list[nodes.Node], has_final: bool) -> Any:
        where = self.where(node)
        if isinstance(node.node, nodes.NilNode):
            return _raise_at(where, f"indirection through explicit nil in {node}")
        base = self.compile_arg(node.node, None)
        names = node.fields
        at_base = self.last_visited(node.node)

        def chain_call(st: State, dot: Any, argv: list[Any]) -> Any:
            return eval_chain(st, base(st, dot), names, at_base, argv or None)

        if arg_nodes or has_final:
            return self._args_and_final(arg_nodes, has_final, chain_call)
        return lambda st, dot: eval_chain(st, base(st, dot), names, at_base)

    def compile_variable(self, node: nodes.VariableNode, arg_nodes: list[nodes.Node], has_final: bool) -> Any:
        where = self.where(node)
        name = node.idents[0]
        slot = self.lookup(name)
        if slot is None:
            return _raise_at(where, f"undefined variable: {name}")
        if len(node.idents) == 1:
            if arg_nodes or has_final:
                return _raise_at(where, f"can't give argument to non-function {node}")
            return lambda st, dot: st.vars[slot]
        names = node.idents[1:]

        def variable_call(st: State, dot: Any, argv: list[Any]) -> Any:
            return eval_chain(st, st.vars[slot], names, where, argv or None)

        if arg_nodes or has_final:
            return self._args_and_final(arg_nodes, has_final, variable_call)
        return lambda st, dot: eval_chain(st, st.vars[slot], names, where)

    def compile_call(
        self, ident: nodes.IdentifierNode, call_node: nodes.Node, arg_nodes: list[nodes.Node], has_final: bool
    ) -> Any:
        name = ident.ident
        func = self.funcs[name]
        at_ident = self.where(ident)
        at_call = self.where(call_node)
        count = len(arg_nodes) + (1 if has_final else 0)
        problem = func.arity_error(count)
        if problem is not None:
            return _raise_at(at_ident, problem)
        if func is AND or func is OR:
            return self.compile_and_or(func is OR, arg_nodes, has_final)
        if func is CALL:
            return self.compile_builtin_call(arg_nodes, has_final, at_call)
        arg_evs = [self.compile_arg(node, func.param_type(i, count)) for i, node in enumerate(arg_nodes)]
        fn = func.fn
        if not has_final:
            if not arg_evs:

                def call0(st: State, dot: Any) -> Any:
                    try:
                        return fn()
                    except Exception as exc:  # noqa: BLE001 - reported as Go's "error calling"
                        raise _call_failed(st, exc, name, at_call) from None

                return call0
            if len(arg_evs) == 1:
                arg0 = arg_evs[0]

                def call1(st: State, dot: Any) -> Any:
                    value = arg0(st, dot)
                    try:
                        return fn(value)
                    except Exception as exc:  # noqa: BLE001 - reported as Go's "error calling"
                        raise _call_failed(st, exc, name, at_call) from None

                return call1

            def call_n(st: State, dot: Any) -> Any:
                argv = [ev(st, dot) for ev in arg_evs]
                try:
                    return fn(*argv)
                except Exception as exc:  # noqa: BLE001 - reported as Go's "error calling"
                    raise _call_failed(st, exc, name, at_call) from None

            return call_n
        final_type = func.param_type(count - 1, count)
        at_final = self.last_visited(arg_nodes[-1]) if arg_nodes else at_ident
        final_is_str = final_type is STRING or final_type is ANY

        def call_final(st: State, dot: Any, final: Any) -> Any:
            argv = [ev(st, dot) for ev in arg_evs]
            if final.__class__ is str and final_is_str:
                argv.append(final)
            else:
                try:
                    argv.append(final_type.validate(final))
                except ArgError as exc:
                    raise exec_error(st, at_final, str(exc)) from None
            try:
                return fn(*argv)
            except Exception as exc:  # noqa: BLE001 - reported as Go's "error calling"
                raise _call_failed(st, exc, name, at_call) from None

        return call_final

    def compile_and_or(self, is_or: bool, arg_nodes: list[nodes.Node], has_final: bool) -> Any:
        arg_evs = [self.compile_arg(node, VALUE) for node in arg_nodes]
        arg_wheres = [self.last_visited(node) for node in arg_nodes]
        truth = values.truth

        def decide(st: State, dot: Any) -> tuple[bool, Any]:
            value = MISSING
            for ev, where in zip(arg_evs, arg_wheres, strict=True):
                value = ev(st, dot)
                if not isinstance(where, DynamicWhere):
                    st.last_at = where  # Go reports later errors at the last argument evaluated
                if truth(value) == is_or:
                    return True, value
            return False, value

        if has_final:

            def and_or_final(st: State, dot: Any, final: Any) -> Any:
                decided, value = decide(st, dot)
                return value if decided else final

            return and_or_final

        def and_or(st: State, dot: Any) -> Any:
            return decide(st, dot)[1]

        return and_or

    def compile_builtin_call(self, arg_nodes: list[nodes.Node], has_final: bool, where: Where) -> Any:
        callee = str(arg_nodes[0]) if arg_nodes else "<nil>"
        arg_evs = [self.compile_arg(node, VALUE) for node in arg_nodes]

        def do_call(st: State, dot: Any, argv: list[Any]) -> Any:
            target = argv[0]
            target = MISSING if target is None else target
            if target is MISSING:
                raise exec_error(st, where, "error calling call: call of nil")
            args = argv[1:]
            if isinstance(target, GoFunc):
                problem = target.arity_error(len(args))
                if problem is not None:
                    raise exec_error(
                        st,
                        where,
                        "error calling call: " + problem.replace(f"for {target.name}", f"for {callee}"),
                    )
                prepared = []
                for position, arg in enumerate(args):
                    try:
                        prepared.append(target.param_type(position, len(args)).validate(arg))
                    except ArgError as exc:
                        raise exec_error(st, where, f"error calling call: arg {position}: {exc}") from None
                return _safe_call(st, target.fn, prepared, "call", where)
            if not callable(target) or isinstance(target, values.GoObject):
                raise exec_error(
                    st, where, f"error calling call: non-function {callee} of type {values.type_name(target)}"
                )
            return _safe_call(st, target, [None if arg is MISSING else arg for arg in args], "call", where)

        if has_final:
            return lambda st, dot, final: do_call(st, dot, [ev(st, dot) for ev in arg_evs] + [final])
        return lambda st, dot: do_call(st, dot, [ev(st, dot) for ev in arg_evs])

    # -- arguments ----------------------------------------------------------------------------

    def compile_arg(self, node: nodes.Node, typ: gofunc.GoType | None) -> Evaluator:
        """Go's evalArg: evaluate an argument and check it against the parameter type.

        ``typ`` None means "no check" (the operand of a chain such as ``(pipeline).Field``).
        """
        where = self.where(node)
        if isinstance(node, nodes.DotNode):
            evaluator: Evaluator = lambda st, dot: dot
        elif isinstance(node, nodes.NilNode):
            if typ is None or typ is VALUE:
                return lambda st, dot: MISSING
            if typ.can_be_nil:
                return lambda st, dot: None
            return _raise_at(where, f"cannot assign nil to {typ.name}")
        elif isinstance(node, nodes.FieldNode):
            evaluator = self.field_value(node)
        elif isinstance(node, nodes.VariableNode):
            evaluator = self.compile_variable(node, [], False)
        elif isinstance(node, nodes.PipeNode):
            evaluator = self.compile_pipe(node)
        elif isinstance(node, nodes.IdentifierNode):
            evaluator = self.compile_call(node, node, [], False)
        elif isinstance(node, nodes.ChainNode):
            evaluator = self.compile_chain(node, [], False)
        else:
            try:
                constant = gofunc.ideal_constant(node) if typ is None else typ.literal(node)
            except ArgError as exc:
                return _raise_at(where, str(exc))
            return lambda st, dot: constant
        if typ is None or typ is VALUE:
            return evaluator
        if typ is ANY:

            def as_any(st: State, dot: Any) -> Any:
                value = evaluator(st, dot)
                return None if value is MISSING else value

            return as_any
        validate = typ.validate
        fast_str = typ is STRING
        where = self.last_visited(node)

        def checked(st: State, dot: Any) -> Any:
            value = evaluator(st, dot)
            if fast_str and value.__class__ is str:
                return value
            try:
                return validate(value)
            except ArgError as exc:
                raise exec_error(st, where, str(exc)) from None

        return checked


def _generate_runner(parts: list[tuple[str, Any]]) -> Runner:
    """One straight-line function for a list of text and actions (no per-node dispatch)."""
    if not parts:
        return lambda st, dot, out: None
    if len(parts) == 1 and parts[0][0] == "text":
        text = parts[0][1]
        return lambda st, dot, out: out.append(text)
    if len(parts) == 1 and parts[0][0] == "run":
        return parts[0][1]
    namespace: dict[str, Any] = {"P": print_value}
    lines = ["def run(st, dot, out):", "    a = out.append"]
    for position, (kind, payload) in enumerate(parts):
        if kind == "text":
            namespace[f"T{position}"] = payload
            lines.append(f"    a(T{position})")
        elif kind == "eval":
            namespace[f"E{position}"] = payload
            lines.append(f"    E{position}(st, dot)")
        elif kind == "print":
            evaluator, where = payload
            namespace[f"E{position}"] = evaluator
            namespace[f"W{position}"] = where
            lines.append(f"    v = E{position}(st, dot)")
            lines.append(f"    a(v if v.__class__ is str else P(v, st, W{position}))")
        else:
            namespace[f"R{position}"] = payload
            lines.append(f"    R{position}(st, dot, out)")
    exec(compile("\n".join(lines), "<gotemplate>", "exec"), namespace)  # noqa: S102 - our own code
    run: Runner = namespace["run"]
    return run


class CompiledTree:
    __slots__ = ("body", "constant", "fields", "name", "nslots")

    def __init__(
        self,
        name: str,
        body: Runner,
        nslots: int,
        constant: str | None,
        fields: Callable[[Any], str | None] | None = None,
    ) -> None:
        self.name = name
        self.body = body
        self.nslots = nslots
        self.constant = constant  # the output, when the template is plain text
        self.fields = fields  # the output from dot's map fields alone, or None (see fields_only)


def fields_only(tree: nodes.Tree, funcs: dict[str, GoFunc]) -> Callable[[Any], str | None] | None:
    """For a template of text and ``{{ .a.b }}`` or ``{{ index .a "b" }}`` actions only (the usual
    ApplicationSet field): a function printing it straight from dot's maps, without an execution
    state.

    It answers only when every field is found in a map and is a string, which Go prints as it
    is; anything else (a missing key, a number, a method) returns None, and the template runs
    as usual, with Go's formatting, missingkey mode and errors.
    """
    parts: list[str | tuple[str, ...]] = []
    for node in tree.root.nodes:
        if isinstance(node, nodes.TextNode):
            parts.append(node.text)
        elif isinstance(node, nodes.CommentNode):
            continue
        elif (
            isinstance(node, nodes.ActionNode)
            and not node.pipe.decl
            and len(node.pipe.cmds) == 1
            and len(node.pipe.cmds[0].args) == 1
            and isinstance(node.pipe.cmds[0].args[0], nodes.FieldNode)
        ):
            parts.append(tuple(node.pipe.cmds[0].args[0].idents))
        elif (keys := _index_keys(node, funcs)) is not None:
            parts.append(keys)
        else:
            return None
    if not any(isinstance(part, tuple) for part in parts):
        return None
    # Straight-line code for this template (as the compiler writes its runners): the loops over
    # parts and keys cost more than the lookups themselves, once per templated field of every
    # Application.
    lines = ["def fields(dot):"]
    pieces = []
    for position, part in enumerate(parts):
        if isinstance(part, str):
            pieces.append(repr(part))
            continue
        var = f"v{position}"
        lines.append(f"    {var} = dot")
        for key in part:
            lines.append(f"    if {var}.__class__ not in maps: return None")
            lines.append(f"    {var} = {var}.get({key!r})")
        lines.append(f"    if {var}.__class__ is not str: return None")
        pieces.append(var)
    lines.append(f"    return {' + '.join(pieces)}")
    namespace: dict[str, Any] = {"maps": _PLAIN_MAPS}
    exec(compile("\n".join(lines), "<gotemplate fields>", "exec"), namespace)  # noqa: S102 - our own code
    fields: Callable[[Any], str | None] = namespace["fields"]
    return fields


def _index_keys(node: nodes.Node, funcs: dict[str, GoFunc]) -> tuple[str, ...] | None:
    """``{{ index .a.b "c" "d" }}`` with Go's own index: the keys .a.b.c.d, else None."""
    if not (isinstance(node, nodes.ActionNode) and not node.pipe.decl and len(node.pipe.cmds) == 1):
        return None
    args = node.pipe.cmds[0].args
    if (
        len(args) < 3
        or not isinstance(args[0], nodes.IdentifierNode)
        or args[0].ident != "index"
        or funcs.get("index") is not INDEX
        or not isinstance(args[1], nodes.FieldNode)
        or not all(isinstance(arg, nodes.StringNode) for arg in args[2:])
    ):
        return None
    return (*args[1].idents, *(arg.text for arg in args[2:] if isinstance(arg, nodes.StringNode)))


def compile_tree(tree: nodes.Tree, funcs: dict[str, GoFunc]) -> CompiledTree:
    compiler = Compiler(tree, funcs)
    body = compiler.compile_list(tree.root)
    constant = None
    if all(isinstance(node, (nodes.TextNode, nodes.CommentNode)) for node in tree.root.nodes):
        constant = "".join(node.text for node in tree.root.nodes if isinstance(node, nodes.TextNode))
    return CompiledTree(tree.name, body, compiler.nslots, constant, fields_only(tree, funcs))
