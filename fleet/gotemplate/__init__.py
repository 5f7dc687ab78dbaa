"""Go ``text/template`` with Sprig, for ApplicationSet ``goTemplate: true`` and Sealed Secrets.

Where it sits: the ApplicationSet engine renders every string field of an Application template
(and every map key) with :func:`render`, once per generated parameter set; the Sealed Secrets
support renders ``spec.template.data``. The engine is lex -> parse (Go's grammar and parse
errors) -> compile (to Python closures, once per distinct template text, cached) -> execute.

    >>> from fleet import gotemplate
    >>> gotemplate.render("{{ .name }}-{{ .path.basename | upper }}", {"name": "guestbook",
    ...                   "path": {"basename": "dev"}})
    'guestbook-DEV'

Data model: ``dict`` is ``map[string]interface{}``, ``list`` a slice, ``int``/``float`` Go's
``int``/``float64`` (Argo CD's parameters come from JSON, so all numbers are float64 there: see
:func:`json_numbers`), ``None`` nil. ``missingkey`` is Go's option: ``default`` (=``invalid``)
prints ``<no value>`` for a missing key, ``zero`` the zero value, ``error`` fails.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

from fleet.gotemplate import argocd, execute, funcs, gofmt, gofunc, parser, sprig
from fleet.gotemplate.errors import ExecError, FuncError, TemplateError, TemplateSyntaxError
from fleet.gotemplate.gofunc import GoFunc
from fleet.gotemplate.values import MISSING, Int64, IntList, StrList, StrMap, json_numbers

__all__ = [
    "ARGOCD_FUNCS",
    "EXTRA_FUNCS",
    "MISSING",
    "SPRIG_FUNCS",
    "ExecError",
    "FuncError",
    "GoFunc",
    "Int64",
    "IntList",
    "StrList",
    "StrMap",
    "Template",
    "TemplateError",
    "TemplateSyntaxError",
    "go_format",
    "json_numbers",
    "normalize",
    "parse",
    "render",
    "slugify",
]

#: Sprig's generic functions without env, expandenv and getHostByName (never exposed here).
SPRIG_FUNCS: Mapping[str, GoFunc] = dict(sprig.SPRIG_FUNCS)

#: What Argo CD's ApplicationSet controller offers: Sprig plus normalize, slugify, toYaml,
#: fromYaml and fromYamlArray. The default function map of :func:`parse` and :func:`render`.
ARGOCD_FUNCS: Mapping[str, GoFunc] = {**sprig.SPRIG_FUNCS, **argocd.ARGOCD_EXTRA_FUNCS}


def _required(message: str, value: Any) -> Any:
    if value is None or value == "":
        raise FuncError(message)
    return value


#: Helm's ``required``, not part of Argo CD's set: pass ``funcs={**ARGOCD_FUNCS, **EXTRA_FUNCS}``.
EXTRA_FUNCS: Mapping[str, GoFunc] = {
    "required": gofunc.func("required", gofunc.STRING, gofunc.ANY)(_required),
}

_MODES = {
    **execute.MISSINGKEY_MODES,
    **{f"missingkey={name}": mode for name, mode in execute.MISSINGKEY_MODES.items()},
}


def _mode(missingkey: str) -> int:
    mode = _MODES.get(missingkey)
    if mode is None:
        raise TemplateError(f"unrecognized option: missingkey={missingkey}")
    return mode


class Template:
    """A parsed and compiled template (with the templates it defines). Safe to share between
    threads; each :meth:`execute` has its own state."""

    __slots__ = ("_main", "compiled", "name", "text")

    def __init__(self, name: str, text: str, compiled: dict[str, execute.CompiledTree]) -> None:
        self.name = name
        self.text = text
        self.compiled = compiled
        self._main = compiled[name]

    def __repr__(self) -> str:
        return f"Template({self.name!r})"

    @property
    def fields(self) -> Callable[[Any], str | None] | None:
        """For a template of text and map fields only: prints it from ``data`` when every field
        is a string found in a map, else returns None (then :meth:`execute` says what Go does)."""
        return self._main.fields

    def defined_templates(self) -> list[str]:
        return sorted(self.compiled)

    def execute(self, data: Any, *, missingkey: str = "default") -> str:
        """Render with ``data`` as dot. Raises :class:`ExecError` with Go's message on failure."""
        main = self._main
        if main.constant is not None:
            return main.constant
        if main.fields is not None:
            text = main.fields(data)  # text and map fields only: no execution state needed
            if text is not None:
                return text
        mode = _MODES.get(missingkey)
        if mode is None:
            mode = _mode(missingkey)
        st = execute.State(self, self.name, mode, main.nslots, MISSING if data is None else data)
        out: list[str] = []
        try:
            main.body(st, st.vars[0], out)
        except RecursionError:
            raise ExecError(f"template: {self.name}: exceeded maximum nesting depth") from None
        return "".join(out)


def _function_map(functions: Mapping[str, Any] | None) -> dict[str, GoFunc]:
    table = dict(funcs.BUILTINS)
    table.update(gofunc.func_map(ARGOCD_FUNCS if functions is None else functions))
    return table


def parse(
    text: str, *, name: str = "template", funcs: Mapping[str, Callable[..., Any] | GoFunc] | None = None
) -> Template:
    """Parse and compile ``text``.

    Parameters:
        text: the template source.
        name: the template's name, as it appears in error messages (Argo CD uses "").
        funcs: the complete function map (Go's builtins are always there, and can be
            overridden); default :data:`ARGOCD_FUNCS`. Plain callables are accepted and get
            ``...interface {}`` parameters.

    Raises :class:`TemplateSyntaxError` (``template: NAME:LINE: ...``) for invalid text.
    """
    table = _function_map(funcs)
    try:
        trees = parser.parse(text, name=name, funcs=table)
        compiled = {tree_name: execute.compile_tree(tree, table) for tree_name, tree in trees.items()}
    except RecursionError:
        # Go allows 10000 nested parentheses; Python's stack allows a few hundred levels.
        raise TemplateSyntaxError(f"template: {name}:1: max expression depth exceeded") from None
    if name not in compiled:  # cannot happen: parse always records the main template
        raise TemplateSyntaxError(f"template: {name}: no template")
    return Template(name, text, compiled)


_CACHE_SIZE = 4096
_cache: OrderedDict[tuple[str, str, int], tuple[Any, Template]] = OrderedDict()
_cache_lock = threading.Lock()


def cached_parse(text: str, *, name: str = "template", funcs: Mapping[str, Any] | None = None) -> Template:
    """:func:`parse` through an LRU cache keyed by text, name and function map identity."""
    key = (text, name, id(funcs))
    entry = _cache.get(key)
    if entry is not None and entry[0] is funcs:
        try:
            _cache.move_to_end(key)
        except KeyError:  # evicted by another thread meanwhile
            pass
        return entry[1]
    template = parse(text, name=name, funcs=funcs)
    with _cache_lock:
        _cache[key] = (funcs, template)
        if len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return template


def render(
    text: str,
    data: Any,
    *,
    missingkey: str = "default",
    funcs: Mapping[str, Any] | None = None,
    name: str = "template",
) -> str:
    """Parse (cached) and execute ``text`` with ``data``: the one call the engines need."""
    if "{{" not in text:
        return text
    return cached_parse(text, name=name, funcs=funcs).execute(data, missingkey=missingkey)


def go_format(format_string: str, *args: Any) -> str:
    """Go's ``fmt.Sprintf`` (what ``printf`` does): ``go_format("%05.1f|%v", 3.14159, [1, 2])``."""
    return gofmt.sprintf(format_string, args)


def normalize(name: str) -> str:
    """Argo CD's SanitizeName (the ``normalize`` function and ``*Normalized`` parameters)."""
    return argocd.normalize(name)


def slugify(name: str, *, max_length: int = 50, smart_truncate: bool = True) -> str:
    """Argo CD's ``slugify``: normalize, then gosimple/slug truncation."""
    return argocd.slugify(max_length, smart_truncate, name)
