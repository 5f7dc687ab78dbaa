"""Errors raised by the Go template engine.

Messages follow Go's ``text/template`` wording (``template: NAME:1:5: executing "NAME" at
<.foo.bar>: map has no entry for key "bar"``) because users compare them with Argo CD's. Like
Go, they name keys, types and template positions, never the data values being rendered, so a
secret that passes through a template does not end up in an error.
"""

from __future__ import annotations

from fleet import errors as fleet_errors


class TemplateError(fleet_errors.FleetError):
    """Base of every error from parsing or executing a Go template."""


class TemplateSyntaxError(TemplateError):
    """The template text does not parse (Go's parse errors: ``template: NAME:LINE: ...``)."""


class ExecError(TemplateError):
    """Executing a parsed template failed (a missing key, a bad call, a failing function)."""


class FuncError(Exception):
    """Raised by a template function; the engine wraps it as ``error calling NAME: MESSAGE``.

    Functions raise this for what Go returns as an ``error`` or raises as a panic. The message
    must not contain the values the function was given.
    """
