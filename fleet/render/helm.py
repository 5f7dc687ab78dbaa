"""Helm charts: values files, inline values, parameters, release name and namespace, CRDs.

By default charts render in-process with helm-python-sdk (``helm_python``, Helm v4's engine, no
binary); ``FLEET_HELM=binary`` (or ``mode="binary"``) runs ``helm template`` instead. Both get the
same inputs, composed the way Argo CD composes ``helm template`` flags:

1. ``valueFiles`` in order (``$ref/...`` from a ``ref`` source; relative to the chart directory;
   ``ignoreMissingValueFiles`` skips missing ones), each deep-merged over the previous;
2. ``valuesObject``, or else the inline ``values`` string;
3. ``parameters`` as ``--set`` (``--set-string`` with ``forceString``), commas escaped unless the
   value is a ``{a,b}`` list, and ``fileParameters`` as ``--set-file``.

Release name defaults to the Application name, namespace to the destination namespace. CRDs from
``crds/`` are included unless ``skipCrds``; ``NOTES.txt`` and empty documents are dropped; with
``skipTests`` the ``helm.sh/hook: test`` objects too. Hook annotations are kept as rendered:
``fleet.waves`` maps ``helm.sh/hook`` to Argo CD phases (pre-* -> PreSync, post-* -> PostSync).
"""

from __future__ import annotations

import functools
import json
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import helm_python
import yaml

from fleet import kyaml, render
from fleet.render import manifests


def tool_version() -> str:
    if render.helm_mode() == "binary":
        return f"helm-binary-{_binary_version()}"
    return _sdk_version()


@functools.lru_cache(maxsize=1)
def _sdk_version() -> str:
    return f"helm-python-{helm_python.__version__}-sdk-{helm_python.helm_sdk_version()}"


@functools.lru_cache(maxsize=1)
def _binary_version() -> str:
    exe = shutil.which("helm")
    if exe is None:
        return "missing"
    done = subprocess.run(
        [exe, "version", "--short"], capture_output=True, text=True, timeout=30, check=False
    )
    return done.stdout.strip() or "unknown"


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Helm's coalescing of user values: maps merge recursively, anything else replaces.

    A ``null`` in a later source is kept: Helm then deletes that key from the chart defaults.
    """
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def clean_set_value(value: str) -> str:
    """Escape commas as Argo CD does before ``--set`` (a ``{a,b}`` list keeps them)."""
    if value.startswith("{") and value.endswith("}"):
        return value
    return re.sub(r"(?<!\\),", r"\\,", value)


def chart_dir(ctx: render.RenderContext) -> Path:
    if ctx.source.chart:
        for candidate in (ctx.root / ctx.source.chart, ctx.root):
            if (candidate / "Chart.yaml").is_file():
                return candidate
        archives = sorted(ctx.root.glob(f"{ctx.source.chart}-*.tgz")) or sorted(ctx.root.glob("*.tgz"))
        if archives:
            return archives[0]
        raise ctx.error(f"chart {ctx.source.chart!r} was not found in {ctx.root}")
    if not (ctx.app_dir / "Chart.yaml").is_file():
        raise ctx.error("no Chart.yaml in the source path", file=ctx.relative(ctx.app_dir / "Chart.yaml"))
    return ctx.app_dir


def _value_file_path(ctx: render.RenderContext, name: str, base: Path) -> tuple[Path, Path]:
    """(file, the root it must stay inside) for one valueFiles entry."""
    if name.startswith("$"):
        ref, _, rest = name[1:].partition("/")
        if ref not in ctx.refs:
            raise ctx.error(
                f"value file {name!r} uses ${ref}, but no source has ref: {ref}", field="helm.valueFiles"
            )
        return ctx.refs[ref] / rest, ctx.refs[ref]
    if re.match(r"^[a-z]+://", name):
        raise ctx.error(
            f"remote value file {name!r} is not supported (fleet reads only git checkouts)",
            field="helm.valueFiles",
        )
    root = ctx.root if not ctx.source.chart else base
    return (base / name), root


def _load_values(ctx: render.RenderContext, text: str, *, file: str) -> dict[str, Any]:
    try:
        data = yaml.load(text, Loader=manifests._Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        # Not chained and no excerpt: values files often hold credentials or references.
        raise ctx.error(f"invalid YAML in values: {kyaml.error_text(exc)}", file=file) from None
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise ctx.error("values must be a YAML map", file=file)
    return dict(data)


def compose_values(ctx: render.RenderContext, base: Path) -> dict[str, Any]:
    """The user values for one render, in Argo CD's order (see the module docstring)."""
    options = ctx.source.helm or render.HelmOptions()
    env = ctx.env()
    values: dict[str, Any] = {}
    for raw in options.value_files:
        # A `$ref/...` path is resolved before substitution (Argo CD does the same), so `$values`
        # names a source, not an empty environment variable.
        ref = raw[1:].partition("/")[0] if raw.startswith("$") else ""
        name = raw if ref and ref not in env else render.envsubst(raw, env)
        if ref and ref not in env:
            name = f"${ref}/{render.envsubst(raw[len(ref) + 2 :], env)}"
        path, root = _value_file_path(ctx, name, base)
        resolved = path.resolve()
        if not resolved.is_relative_to(root.resolve()):
            raise ctx.error(f"value file {name!r} is outside the repository", field="helm.valueFiles")
        if not resolved.is_file():
            if options.ignore_missing_value_files:
                continue
            raise ctx.error(
                f"value file {name!r} does not exist", file=ctx.relative(path), field="helm.valueFiles"
            )
        text = ctx.read_text(resolved, field="helm.valueFiles")
        values = deep_merge(values, _load_values(ctx, text, file=ctx.relative(path)))
    if options.values_object is not None:
        values = deep_merge(values, json.loads(json.dumps(options.values_object)))
    elif options.values.strip():
        values = deep_merge(values, _load_values(ctx, options.values, file="helm.values"))
    for param in options.parameters:
        expression = f"{param.name}={clean_set_value(render.envsubst(param.value, env))}"
        try:
            parsed = (
                helm_python.parse_set_string_values if param.force_string else helm_python.parse_set_string
            )(expression)
        except helm_python.HelmError as exc:
            raise ctx.error(f"invalid parameter {param.name!r}: {exc}", field="helm.parameters") from exc
        values = deep_merge(values, parsed)
    for name, file in options.file_parameters:
        path, root = _value_file_path(ctx, render.envsubst(file, env), base)
        if not path.resolve().is_relative_to(root.resolve()) or not path.is_file():
            raise ctx.error(
                f"file parameter {name!r}: {file!r} does not exist in the repository",
                field="helm.fileParameters",
            )
        try:
            text = ctx.read_text(path, field="helm.fileParameters")
            parsed = helm_python.parse_set_literal(f"{name}={text}")
        except helm_python.HelmError as exc:
            raise ctx.error(f"invalid file parameter {name!r}: {exc}", field="helm.fileParameters") from exc
        values = deep_merge(values, parsed)
    return values


def _keep(obj: Mapping[str, Any], options: render.HelmOptions) -> bool:
    if not options.skip_tests:
        return True
    hooks = str(((obj.get("metadata") or {}).get("annotations") or {}).get("helm.sh/hook", ""))
    return not {h.strip() for h in hooks.split(",")} & {"test", "test-success", "test-failure"}


def check_templates_are_text(ctx: render.RenderContext, directory: Path) -> None:
    """Every file Helm parses as a template (``templates/``, ``crds/``, a subchart's too) is UTF-8.

    Helm's engine reads a Latin-1 template and the SDK hands its output back with U+FFFD in place
    of the bytes, so such a chart is refused here, naming the file (issue 8, item 12). Other chart
    files may be binary (``.Files.Get``) and are not checked.
    """
    if not directory.is_dir():
        return  # a packaged chart (.tgz): Helm reads it whole
    for path in sorted(directory.rglob("*")):
        parts = path.relative_to(directory).parts
        if ("templates" in parts[:-1] or "crds" in parts[:-1]) and path.is_file():
            ctx.read_text(path)


def build(ctx: render.RenderContext, *, mode: str | None = None) -> list[dict[str, Any]]:
    options = ctx.source.helm or render.HelmOptions()
    directory = chart_dir(ctx)
    check_templates_are_text(ctx, directory)
    values = compose_values(ctx, directory if directory.is_dir() else ctx.root)
    release = options.release_name or ctx.app_name
    namespace = options.namespace or ctx.namespace
    chosen = (mode or render.helm_mode()).lower()
    if chosen == "binary":
        out = _render_binary(ctx, directory, values, release, namespace, options)
    else:
        out = _render_sdk(ctx, directory, values, release, namespace, options)
    return [obj for obj in out if _keep(obj, options)]


def _render_sdk(
    ctx: render.RenderContext,
    directory: Path,
    values: dict[str, Any],
    release: str,
    namespace: str,
    options: render.HelmOptions,
) -> list[dict[str, Any]]:
    try:
        with helm_python.Chart.load(directory) as chart:
            if not options.skip_schema_validation:
                chart.validate_schema(values)
            rendered = chart.render(values, name=release, namespace=namespace, is_install=True)
            crds = [] if options.skip_crds else chart.crds
    except helm_python.HelmError as exc:
        raise ctx.error(f"helm: {exc}", file=ctx.relative(directory)) from exc
    out: list[dict[str, Any]] = []
    for crd in crds:
        out.extend(manifests.parse(crd["data"], ctx=ctx, file=f"{ctx.relative(directory)}/{crd['name']}"))
    for name in sorted(rendered):
        if name.endswith("NOTES.txt"):
            continue
        out.extend(manifests.parse(rendered[name], ctx=ctx, file=name))
    return out


def _render_binary(
    ctx: render.RenderContext,
    directory: Path,
    values: dict[str, Any],
    release: str,
    namespace: str,
    options: render.HelmOptions,
) -> list[dict[str, Any]]:
    exe = shutil.which("helm")
    if exe is None:
        raise render.ToolMissingError("FLEET_HELM=binary, but no `helm` binary is on PATH")
    with tempfile.TemporaryDirectory(prefix="fleet-helm-") as tmp:
        values_file = Path(tmp) / "values.json"
        values_file.write_text(json.dumps(values))
        args = [
            exe,
            "template",
            release,
            str(directory),
            "--namespace",
            namespace,
            "--values",
            str(values_file),
        ]
        if not options.skip_crds:
            args.append("--include-crds")
        if options.skip_tests:
            args.append("--skip-tests")
        if options.skip_schema_validation:
            args.append("--skip-schema-validation")
        kube_version = options.kube_version or ctx.kube_version
        if kube_version:
            args += ["--kube-version", kube_version]
        for api in (*options.api_versions, *ctx.api_versions):
            args += ["--api-versions", api]
        done = subprocess.run(args, capture_output=True, text=True, timeout=300, check=False)
    if done.returncode != 0:
        raise ctx.error(f"helm template: {done.stderr.strip()[-2000:]}", file=ctx.relative(directory))
    return manifests.parse(done.stdout, ctx=ctx, file=f"{ctx.relative(directory)} (helm template)")
