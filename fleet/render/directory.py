"""A plain directory source: YAML, JSON and Jsonnet files, as Argo CD reads them.

- Only the source directory unless ``directory.recurse``; hidden directories (``.git``) are skipped.
- ``include`` / ``exclude``: glob patterns (with ``{a,b}`` alternatives) matched against the path
  relative to the source directory, where ``*`` also crosses ``/`` (Argo CD matches with no
  separator); exclude wins over include.
- ``.yaml``/``.yml``/``.json`` files: every document. A file with no Kubernetes object and no
  document written like one (a stray ``values.yaml``) is ignored, as in Argo CD; otherwise a
  document without apiVersion or kind is an error naming the file and document, and so is a
  parse error in a file that looks like a manifest. ``kind: List`` is expanded. Files must be
  UTF-8. ``.jsonnet`` files are
  evaluated (``fleet.render.jsonnet``). Other files are ignored.
- Files are read in sorted path order, so output order is stable across machines.
"""

from __future__ import annotations

import fnmatch
import os
import re
from pathlib import Path
from typing import Any

from fleet import render
from fleet.render import jsonnet, manifests

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")


def _expand_braces(pattern: str) -> list[str]:
    match = re.search(r"\{([^{}]*)\}", pattern)
    if match is None:
        return [pattern]
    out = []
    for option in match.group(1).split(","):
        out.extend(_expand_braces(pattern[: match.start()] + option + pattern[match.end() :]))
    return out


def glob_match(pattern: str, path: str) -> bool:
    """Argo CD's include/exclude match (gobwas glob without separators): ``*`` matches ``/`` too."""
    # Written by hand: fnmatch lacks {a,b}; expanding braces first keeps fnmatch's [] and ? rules.
    return any(fnmatch.fnmatchcase(path, p) for p in _expand_braces(pattern))


def files(ctx: render.RenderContext) -> list[Path]:
    options = ctx.source.directory or render.DirectoryOptions()
    base = ctx.app_dir
    if not base.is_dir():
        raise ctx.error(f"source path {ctx.relative(base)!r} is not a directory")
    found: list[Path] = []
    for current, dirs, names in os.walk(base):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".")) if options.recurse else []
        for name in names:
            if not name.endswith((*MANIFEST_SUFFIXES, ".jsonnet")):
                continue
            path = Path(current) / name
            rel = path.relative_to(base).as_posix()
            if options.exclude and glob_match(options.exclude, rel):
                continue
            if options.include and not glob_match(options.include, rel):
                continue
            found.append(path)
    return sorted(found)


def _looks_like_resource(text: str) -> bool:
    return "apiVersion:" in text and "kind:" in text and "metadata:" in text


def build(ctx: render.RenderContext) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for path in files(ctx):
        rel = ctx.relative(path)
        if path.suffix == ".jsonnet":
            out.extend(jsonnet.evaluate(ctx, path))
            continue
        text = ctx.read_text(path)
        try:
            docs = manifests.load_documents(text, ctx=ctx, file=rel)
        except render.RenderError:
            # Argo CD: a YAML error in something that is not a manifest (a CI config, a Helm
            # values file) is ignored; in a manifest it is reported.
            if path.suffix == ".json" or _looks_like_resource(text):
                raise
            continue
        out.extend(manifests.objects(docs, ctx=ctx, file=rel, strict=False))
    return out
