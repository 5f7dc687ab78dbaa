"""Jsonnet files of a directory source: ext vars and TLAs (string or code), library paths.

Argo CD evaluates every ``*.jsonnet`` file of a directory source (``.libsonnet`` files are only
imported); the output is one object or an array of objects. Values of ext vars and TLAs go through
Argo CD's build-environment substitution (``$ARGOCD_APP_NAME``...). ``libs`` are relative to the
repository root; the file's own directory is always searched first, then the libs, the last one
first (go-jsonnet's ``FileImporter``, which Argo CD uses).

Imports are confined to the source's repository (issue 8, item 2): the evaluator runs with our
own import callback, so ``import``, ``importstr`` and ``importbin`` (in the files, in ext-var and
TLA code) only ever read files whose real path (symlinks resolved) is inside the repository
checkout, as Kustomize, Helm value files and the git generator already are. Anything else fails
the Application with a RenderError naming the file and the import. Library paths must themselves
be inside the repository.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import _jsonnet

from fleet import render
from fleet.render import manifests


def tool_version() -> str:
    return str(getattr(_jsonnet, "version", "unknown"))


@dataclass
class _Importer:
    """jsonnet's import callback, confined to ``root``; remembers why it refused an import.

    jsonnet turns an exception raised here into its own "couldn't open import" error and drops the
    exception, so the refusal is kept on the object and raised as a RenderError afterwards.
    """

    root: Path
    libs: tuple[Path, ...]
    refused: str = ""
    not_utf8: list[str] = field(default_factory=list)

    def __call__(self, base: str, rel: str) -> tuple[str, bytes]:
        if os.path.isabs(rel):
            candidates = [Path(rel)]
        else:
            # The importing file's own directory first, then the libs, the last one first.
            candidates = [Path(base or ".") / rel, *(lib / rel for lib in reversed(self.libs))]
        for candidate in candidates:
            if not os.path.lexists(candidate):
                continue
            real = candidate.resolve()
            # .git of a working tree is not the repository's content (its config may hold a token).
            if not real.is_relative_to(self.root) or real.is_relative_to(self.root / ".git"):
                message = f"import {rel!r} leads outside the repository"
                self.refused = self.refused or message
                raise RuntimeError(message)
            if not real.is_file():
                continue
            data = real.read_bytes()
            try:
                data.decode("utf-8")
            except UnicodeDecodeError:
                # Fine for importbin; import/importstr would read it with U+FFFD in place of the
                # bytes, which evaluate() turns into an error naming this file.
                self.not_utf8.append(real.relative_to(self.root).as_posix())
            return str(candidate), data
        raise RuntimeError("no such file in the importing file's directory or the libs")


_TRACE_LINE = re.compile(r"^\s+(\S.*?:\d+:\d+)")


def _location(message: str, root: Path) -> str:
    """`` (at FILE:LINE:COL)`` of the first frame of jsonnet's stack trace, repository-relative."""
    for line in message.splitlines()[1:]:
        match = _TRACE_LINE.match(line)
        if match:
            return f" (at {match.group(1).removeprefix(f'{root}{os.sep}')})"
    return ""


def _library_dirs(ctx: render.RenderContext, options: render.JsonnetOptions, root: Path) -> tuple[Path, ...]:
    out = []
    for index, lib in enumerate(options.libs):
        path = (root / lib).resolve()
        if os.path.isabs(lib) or not path.is_relative_to(root):
            raise ctx.error(
                f"library path {lib!r} is outside the repository", field=f"directory.jsonnet.libs[{index}]"
            )
        out.append(path)
    return tuple(out)


def evaluate(ctx: render.RenderContext, file: Path) -> list[dict[str, Any]]:
    options = ctx.source.directory.jsonnet if ctx.source.directory else render.JsonnetOptions()
    env = ctx.env()
    ext_vars: dict[str, str] = {}
    ext_codes: dict[str, str] = {}
    tla_vars: dict[str, str] = {}
    tla_codes: dict[str, str] = {}
    for var in options.ext_vars:
        (ext_codes if var.code else ext_vars)[var.name] = render.envsubst(var.value, env)
    for var in options.tlas:
        (tla_codes if var.code else tla_vars)[var.name] = render.envsubst(var.value, env)
    root = ctx.root.resolve()
    importer = _Importer(root=root, libs=_library_dirs(ctx, options, root))
    rel = ctx.relative(file)
    if not file.resolve().is_relative_to(root):
        raise ctx.error("leads outside the repository", file=rel)
    # Read here rather than by evaluate_file, which would read invalid UTF-8 with U+FFFD.
    program = ctx.read_text(file)
    try:
        text = _jsonnet.evaluate_snippet(
            str(file),
            program,
            ext_vars=ext_vars,
            ext_codes=ext_codes,
            tla_vars=tla_vars,
            tla_codes=tla_codes,
            import_callback=importer,
        )
    except RuntimeError as exc:
        if importer.refused:
            raise ctx.error(f"jsonnet: {importer.refused}{_location(str(exc), root)}", file=rel) from None
        # The message is jsonnet's own: the file, line and what failed; trim the stack trace.
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "evaluation failed"
        raise ctx.error(f"jsonnet: {first}", file=rel) from exc
    if importer.not_utf8 and "\ufffd" in text:
        raise ctx.error(
            f"jsonnet: imported file {importer.not_utf8[0]} is not UTF-8 text (use importbin for bytes)",
            file=rel,
        )
    return manifests.parse(text, ctx=ctx, file=rel.rsplit(".", 1)[0] + ".json", strict=True)
