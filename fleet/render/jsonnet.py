"""Jsonnet files of a directory source: ext vars and TLAs (string or code), library paths.

Argo CD evaluates every ``*.jsonnet`` file of a directory source (``.libsonnet`` files are only
imported); the output is one object or an array of objects. Values of ext vars and TLAs go through
Argo CD's build-environment substitution (``$ARGOCD_APP_NAME``...). ``libs`` are relative to the
repository root; the file's own directory is always searched first, as jsonnet does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import _jsonnet

from fleet import render
from fleet.render import manifests


def tool_version() -> str:
    return str(getattr(_jsonnet, "version", "unknown"))


def evaluate(ctx: render.RenderContext, file: Path) -> list[dict[str, Any]]:
    options = ctx.source.directory.jsonnet if ctx.source.directory else render.JsonnetOptions()
    env = ctx.env()
    ext_vars, ext_codes, tla_vars, tla_codes = {}, {}, {}, {}
    for var in options.ext_vars:
        (ext_codes if var.code else ext_vars)[var.name] = render.envsubst(var.value, env)
    for var in options.tlas:
        (tla_codes if var.code else tla_vars)[var.name] = render.envsubst(var.value, env)
    jpath = [str(ctx.root / lib) for lib in options.libs]
    rel = ctx.relative(file)
    try:
        text = _jsonnet.evaluate_file(
            str(file), ext_vars=ext_vars, ext_codes=ext_codes, tla_vars=tla_vars, tla_codes=tla_codes, jpathdir=jpath
        )
    except RuntimeError as exc:
        # The message is jsonnet's own: the file, line and what failed; trim the stack trace.
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "evaluation failed"
        raise ctx.error(f"jsonnet: {first}", file=rel) from exc
    return manifests.parse(text, ctx=ctx, file=rel.rsplit(".", 1)[0] + ".json", strict=True)
