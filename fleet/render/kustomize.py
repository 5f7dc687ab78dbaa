"""Kustomize sources: ``kustomize build`` when installed, else ``kubectl kustomize``.

The Application's ``kustomize`` block (namePrefix/nameSuffix, namespace, images, commonLabels,
commonAnnotations, replicas, patches, components) is applied the way ``kustomize edit`` would, but
without touching the checkout: a temporary overlay kustomization lists the source directory as its
resource (by relative path: kustomize refuses absolute ones) and carries the options. The overlay
lives in a temporary directory that is removed afterwards. Values go through Argo CD's build
environment substitution where Argo CD applies it (prefix, suffix, images, label values; annotation
values only with ``commonAnnotationsEnvsubst``).
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from fleet import render
from fleet.render import detect, manifests

TIMEOUT = 300


@functools.lru_cache(maxsize=1)
def command() -> tuple[str, ...]:
    """The build command: ``kustomize build`` if installed, else ``kubectl kustomize``."""
    exe = shutil.which("kustomize")
    if exe:
        return (exe, "build")
    kubectl = shutil.which("kubectl")
    if kubectl:
        return (kubectl, "kustomize")
    raise render.ToolMissingError(
        "neither `kustomize` nor `kubectl` is installed; install one to render Kustomize sources"
    )


@functools.lru_cache(maxsize=1)
def tool_version() -> str:
    try:
        cmd = command()
    except render.ToolMissingError:
        return "missing"
    args = [cmd[0], "version"] if cmd[1] == "build" else [cmd[0], "version", "--client"]
    done = subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)
    return f"{Path(cmd[0]).name}:{' '.join(done.stdout.split())}"


def overlay(ctx: render.RenderContext, options: render.KustomizeOptions, overlay_dir: Path) -> dict[str, Any]:
    """The kustomization that applies ``options`` on top of the source directory."""
    env = ctx.env()
    doc: dict[str, Any] = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": [os.path.relpath(ctx.app_dir.resolve(), overlay_dir.resolve())],
    }
    if options.name_prefix:
        doc["namePrefix"] = render.envsubst(options.name_prefix, env)
    if options.name_suffix:
        doc["nameSuffix"] = render.envsubst(options.name_suffix, env)
    if options.namespace:
        doc["namespace"] = options.namespace
    if options.images:
        doc["images"] = [_image(render.envsubst(image, env)) for image in options.images]
    if options.common_labels:
        labels = {k: render.envsubst(v, env) for k, v in options.common_labels.items()}
        if options.label_without_selector:
            doc["labels"] = [{"pairs": labels, "includeSelectors": False}]
        else:
            doc["commonLabels"] = labels
    if options.common_annotations:
        doc["commonAnnotations"] = {
            k: render.envsubst(v, env) if options.common_annotations_envsubst else v
            for k, v in options.common_annotations.items()
        }
    if options.replicas:
        doc["replicas"] = [{"name": r.name, "count": r.count} for r in options.replicas]
    if options.patches:
        doc["patches"] = [dict(p) for p in options.patches]
    if options.components:
        doc["components"] = [
            os.path.relpath((ctx.app_dir / c).resolve(), overlay_dir.resolve()) for c in options.components
        ]
    return doc


def _image(text: str) -> dict[str, str]:
    """``kustomize edit set image`` forms: ``name=new:tag``, ``name:tag``, ``name@digest``."""
    name, sep, new = text.partition("=")
    target = new if sep else text
    out: dict[str, str] = {"name": _image_name(name if sep else text)}
    if "@" in target:
        repo, _, digest = target.partition("@")
        out["digest"] = digest
    else:
        repo, tag = target, ""
        last = target.rsplit("/", 1)[-1]
        if ":" in last:
            repo, _, tag = target.rpartition(":")
        if tag:
            out["newTag"] = tag
    if sep and repo and repo != out["name"]:
        out["newName"] = repo
    return out


def _image_name(text: str) -> str:
    base = text.split("@", 1)[0]
    last = base.rsplit("/", 1)[-1]
    return base.rpartition(":")[0] if ":" in last else base


# Fields of a kustomization that name local files or directories (kustomize v5, deprecated ones
# included). Each yields path strings; entries that are inline YAML or remote URLs are skipped.
_LIST_FIELDS = (
    "resources",
    "bases",
    "components",
    "crds",
    "configurations",
    "generators",
    "transformers",
    "validators",
    "patchesStrategicMerge",
)
_REMOTE = re.compile(
    r"^([a-z][a-z0-9+.-]*::|[a-z][a-z0-9+.-]*://|git@|(github|gitlab)\.com/|bitbucket\.org/)"
)


def _paths(doc: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(field, path) for every local path a kustomization names."""
    for name in _LIST_FIELDS:
        for entry in doc.get(name) or ():
            if isinstance(entry, str):
                yield name, entry
    for name in ("patches", "patchesJson6902", "replacements"):
        for entry in doc.get(name) or ():
            if isinstance(entry, Mapping) and isinstance(entry.get("path"), str):
                yield f"{name}.path", entry["path"]
    for name in ("configMapGenerator", "secretGenerator"):
        for entry in doc.get(name) or ():
            if not isinstance(entry, Mapping):
                continue
            for file in entry.get("files") or ():
                yield f"{name}.files", str(file).rpartition("=")[2]  # [key=]path
            for env in [*(entry.get("envs") or ()), *([entry["env"]] if entry.get("env") else [])]:
                yield f"{name}.envs", str(env)
    openapi = doc.get("openapi")
    if isinstance(openapi, Mapping) and isinstance(openapi.get("path"), str):
        yield "openapi.path", openapi["path"]
    for chart in doc.get("helmCharts") or ():
        if isinstance(chart, Mapping):
            for file in [chart.get("valuesFile"), *(chart.get("additionalValuesFiles") or ())]:
                if isinstance(file, str) and file:
                    yield "helmCharts.valuesFile", file
    globals_ = doc.get("helmGlobals")
    if isinstance(globals_, Mapping):
        for key in ("chartHome", "configHome"):
            if isinstance(globals_.get(key), str):
                yield f"helmGlobals.{key}", globals_[key]


def check_paths(ctx: render.RenderContext, starts: list[Path]) -> None:
    """Every local path of the kustomizations reachable from ``starts`` stays inside the repository.

    Kustomize's default load restrictor keeps files under their kustomization's directory but lets
    a resource or component be any directory: ``resources: [../../../elsewhere]`` would build a
    kustomization from outside the repository (any directory of this machine in working-tree mode,
    another checkout in git mode). Symlinks are refused before any tool runs (fleet.gitsource), so
    resolving the path is enough here. Remote resources (URLs) are kustomize's business.
    """
    root = ctx.root.resolve()
    pending = [start.resolve() for start in starts]
    seen: set[Path] = set()
    while pending:
        directory = pending.pop()
        if directory in seen:
            continue
        seen.add(directory)
        found = next((directory / n for n in detect.KUSTOMIZATION_NAMES if (directory / n).is_file()), None)
        if found is None:
            continue  # not a kustomization: kustomize reports it if it matters
        try:
            doc = yaml.safe_load(ctx.read_text(found))
        except yaml.YAMLError:
            continue  # kustomize reports the syntax error, with the line
        if not isinstance(doc, Mapping):
            continue
        for field, value in _paths(doc):
            if "\n" in value or _REMOTE.match(value):
                continue  # an inline patch or a remote resource
            target = (directory / value).resolve()
            if not target.is_relative_to(root) or target.is_relative_to(root / ".git"):
                raise ctx.error(f"{field} {value!r} leads outside the repository", file=ctx.relative(found))
            if target.is_dir():
                pending.append(target)


def build(ctx: render.RenderContext) -> list[dict[str, Any]]:
    options = ctx.source.kustomize or render.KustomizeOptions()
    if not ctx.app_dir.is_dir():
        raise ctx.error(f"source path {ctx.relative(ctx.app_dir)!r} does not exist")
    check_paths(ctx, [ctx.app_dir, *(ctx.app_dir / c for c in options.components)])
    cmd = command()
    if options.is_empty():
        return _build(ctx, [*cmd, str(ctx.app_dir)], file=ctx.relative(ctx.app_dir))
    with tempfile.TemporaryDirectory(prefix="fleet-kustomize-") as tmp:
        overlay_dir = Path(tmp)
        (overlay_dir / "kustomization.yaml").write_text(
            yaml.safe_dump(overlay(ctx, options, overlay_dir), sort_keys=False)
        )
        return _build(ctx, [*cmd, str(overlay_dir)], file=ctx.relative(ctx.app_dir))


def _build(ctx: render.RenderContext, args: list[str], *, file: str) -> list[dict[str, Any]]:
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=TIMEOUT, check=False)
    except subprocess.TimeoutExpired as exc:
        raise ctx.error(f"kustomize build did not finish within {TIMEOUT}s", file=file) from exc
    if done.returncode != 0:
        # kustomize prints the failing file and reason; keep the tail (the cause), never the input.
        message = " ".join(done.stderr.split())[-1500:] or f"exit status {done.returncode}"
        raise ctx.error(f"kustomize build failed: {message}", file=file)
    return manifests.parse(done.stdout, ctx=ctx, file=f"{file} (kustomize build)")
