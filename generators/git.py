"""The git generators: directories and files of a repository at a revision.

Directories: every directory of the revision (not the root, not dot-directories) matched by an
include ``path`` pattern (Go ``path.Match``) and by no ``exclude: true`` pattern yields the
``path`` parameters. Files: the files the include patterns select (``git ls-files`` pathspecs,
or doublestar globs with the new globbing) minus those an exclude pattern selects, in path
order; each JSON/YAML object (or each object of a top-level list) is a parameter set, flattened
with dots in fasttemplate mode. ``pathParamPrefix`` nests the path parameters under a prefix.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Mapping
from typing import Any

from fleet import errors, gitsource, kyaml, log, redact
from fleet.generators import interface
from fleet.generators import params as params_mod

_log = log.get_logger(__name__)


class GitGenerator:
    """``git: {repoURL, revision, directories: [...] | files: [...], pathParamPrefix, values}``."""

    kind = "git"

    def generate(self, spec: Mapping[str, Any], ctx: interface.GenContext) -> list[interface.Params]:
        self._check_project(ctx)
        directories = interface.as_list(spec.get("directories"), what="directories", ctx=ctx)
        files = interface.as_list(spec.get("files"), what="files", ctx=ctx)
        if not directories and not files:
            raise interface.EmptyAppSetGeneratorError(
                "the git generator needs 'directories' or 'files' (ApplicationSet is empty)",
                generator=ctx.path,
            )
        repo_url = str(spec.get("repoURL") or "")
        revision = str(spec.get("revision") or "")
        if not repo_url:
            raise interface.GeneratorError("repoURL is empty", generator=ctx.path, param="repoURL")
        try:
            source = ctx.open_repo(repo_url, revision)
            if directories:  # Argo CD takes directories when both are set
                return self._directories(source, directories, spec, ctx)
            return self._files(source, files, spec, ctx)
        except interface.GeneratorError:
            raise
        except errors.FleetError as exc:
            raise interface.GeneratorError(str(exc), generator=ctx.path) from exc

    @staticmethod
    def _check_project(ctx: interface.GenContext) -> None:
        """Argo CD reads the template's AppProject first (source integrity) unless it is templated."""
        project = ctx.template_project
        if ctx.projects is None or "{{" in project:
            return
        if project not in ctx.projects:
            raise interface.GeneratorError(
                f"error getting project {project!r}: appprojects.argoproj.io {project!r} not found",
                generator=ctx.path,
                param="spec.template.spec.project",
            )

    def _directories(
        self, source: interface.RepoSource, items: Any, spec: Mapping[str, Any], ctx: interface.GenContext
    ) -> list[interface.Params]:
        matchers: list[tuple[Any, bool]] = []
        for i, item in enumerate(items):
            if not isinstance(item, Mapping):
                raise interface.GeneratorError(
                    "must be a mapping with 'path'", generator=ctx.path, param=f"directories[{i}]"
                )
            pattern = str(item.get("path") or "")
            matcher = gitsource.dir_matcher(pattern)
            if matcher is None:  # Argo CD logs a bad pattern and skips it
                _log.warning(
                    "directory pattern is malformed and matches nothing",
                    extra={"fields": {"appset": ctx.appset, "generator": ctx.path, "pattern": pattern}},
                )
                continue
            matchers.append((matcher, bool(item.get("exclude"))))
        prefix = str(spec.get("pathParamPrefix") or "")
        values = interface.as_mapping(spec.get("values"), what="values", ctx=ctx)
        out: list[interface.Params] = []
        for path in source.list_dirs():
            included = excluded = False
            for matcher, exclude in matchers:
                if matcher(path):
                    excluded = excluded or exclude
                    included = included or not exclude
            if included and not excluded:
                params = path_params(path, prefix=prefix, go_template=ctx.go_template)
                out.append(interface.render_values(values, params, ctx))
        return out

    def _files(
        self, source: interface.RepoSource, items: Any, spec: Mapping[str, Any], ctx: interface.GenContext
    ) -> list[interface.Params]:
        includes: list[str] = []
        excludes: list[str] = []
        for i, item in enumerate(items):
            if not isinstance(item, Mapping):
                raise interface.GeneratorError(
                    "must be a mapping with 'path'", generator=ctx.path, param=f"files[{i}]"
                )
            (excludes if item.get("exclude") else includes).append(str(item.get("path") or ""))
        glob = ctx.new_git_file_globbing
        selected: set[str] = set()
        for pattern in includes:
            selected.update(source.ls_files(pattern, new_globbing=glob))
        for pattern in excludes:
            selected.difference_update(source.ls_files(pattern, new_globbing=glob))
        prefix = str(spec.get("pathParamPrefix") or "")
        values = interface.as_mapping(spec.get("values"), what="values", ctx=ctx)
        out: list[interface.Params] = []
        for path in sorted(selected):
            objects = _parse_file(source, path, ctx)
            for obj in objects:
                params: interface.Params
                if ctx.go_template:
                    params = dict(obj)
                    params.update(file_path_params(path, prefix=prefix, go_template=True))
                else:
                    params = params_mod.flatten(obj)
                    params.update(file_path_params(path, prefix=prefix, go_template=False))
                out.append(interface.render_values(values, params, ctx))
        return out


def _parse_file(source: interface.RepoSource, path: str, ctx: interface.GenContext) -> list[dict[str, Any]]:
    """The parameter objects of one file: an object, a list of objects, or nothing (empty file)."""
    where = f"file {path!r}"
    try:
        # Strict: a Latin-1 file read with U+FFFD would turn into wrong parameters silently.
        text = source.read(path).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise interface.GeneratorError(
            f"unable to process file from repository {redact.safe_url(source.url)!r}:"
            f" {path} is not UTF-8 text (byte {exc.start} of the file)",
            generator=ctx.path,
            param=where,
        ) from None
    try:
        data = _load(text, path)
    except ValueError as exc:
        raise interface.GeneratorError(
            f"unable to process file from repository {redact.safe_url(source.url)!r}:"
            f" unable to parse file: {exc}",
            generator=ctx.path,
            param=where,
        ) from exc
    if data is None:
        return [{}]
    if isinstance(data, dict):
        return [kyaml.go_json_numbers(data)]
    if isinstance(data, list) and all(item is None or isinstance(item, dict) for item in data):
        return [kyaml.go_json_numbers(item or {}) for item in data]
    raise interface.GeneratorError(
        f"unable to process file from repository {redact.safe_url(source.url)!r}: unable to parse file:"
        " the content must be an object or a list of objects",
        generator=ctx.path,
        param=where,
    )


def _load(text: str, path: str) -> Any:
    if path.endswith(".json") or text.lstrip().startswith(("{", "[")):
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            pass  # YAML is a superset of most JSON; let the YAML parser have a go
    try:
        docs = kyaml.load_all(text)
    except Exception as exc:  # yaml.YAMLError
        raise ValueError(" ".join(str(exc).split())) from exc
    return docs[0] if docs else None  # Go's yaml.Unmarshal reads the first document


def path_params(path: str, *, prefix: str, go_template: bool) -> interface.Params:
    """The parameters of a directory ``path`` (git directories generator)."""
    base = posixpath.basename(path)
    if go_template:
        group: dict[str, Any] = {
            "path": path,
            "basename": base,
            "basenameNormalized": params_mod.sanitize_name(base),
            "segments": params_mod.str_list(path.split("/")),
        }
        return {prefix: {"path": group}} if prefix else {"path": group}
    name = f"{prefix}.path" if prefix else "path"
    params: interface.Params = {
        name: path,
        f"{name}.basename": base,
        f"{name}.basenameNormalized": params_mod.sanitize_name(base),
    }
    for i, segment in enumerate(path.split("/")):
        if segment:
            params[f"{name}[{i}]"] = segment
    return params


def file_path_params(path: str, *, prefix: str, go_template: bool) -> interface.Params:
    """The path parameters of a file (git files generator): ``path`` is the file's directory."""
    directory = posixpath.dirname(path) or "."
    base = posixpath.basename(directory)
    filename = posixpath.basename(path)
    if go_template:
        group: dict[str, Any] = {
            "path": directory,
            "basename": base,
            "filename": filename,
            "basenameNormalized": params_mod.sanitize_name(base),
            "filenameNormalized": params_mod.sanitize_name(filename),
            "segments": params_mod.str_list(directory.split("/")),
        }
        return {prefix: {"path": group}} if prefix else {"path": group}
    name = f"{prefix}.path" if prefix else "path"
    params: interface.Params = {
        name: directory,
        f"{name}.basename": base,
        f"{name}.filename": filename,
        f"{name}.basenameNormalized": params_mod.sanitize_name(base),
        f"{name}.filenameNormalized": params_mod.sanitize_name(filename),
    }
    for i, segment in enumerate(directory.split("/")):
        if segment:
            params[f"{name}[{i}]"] = segment
    return params
