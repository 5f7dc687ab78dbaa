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
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import yaml

from fleet import render
from fleet.render import manifests

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
    raise render.ToolMissingError("neither `kustomize` nor `kubectl` is installed; install one to render Kustomize sources")


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
        doc["components"] = [os.path.relpath((ctx.app_dir / c).resolve(), overlay_dir.resolve()) for c in options.components]
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


def build(ctx: render.RenderContext) -> list[dict[str, Any]]:
    options = ctx.source.kustomize or render.KustomizeOptions()
    if not ctx.app_dir.is_dir():
        raise ctx.error(f"source path {ctx.relative(ctx.app_dir)!r} does not exist")
    cmd = command()
    if options.is_empty():
        return _build(ctx, [*cmd, str(ctx.app_dir)], file=ctx.relative(ctx.app_dir))
    with tempfile.TemporaryDirectory(prefix="fleet-kustomize-") as tmp:
        overlay_dir = Path(tmp)
        (overlay_dir / "kustomization.yaml").write_text(yaml.safe_dump(overlay(ctx, options, overlay_dir), sort_keys=False))
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
