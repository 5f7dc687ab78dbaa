"""Parsing rendered text into manifests: multi-document YAML or JSON, ``kind: List`` expansion.

Shared by every tool module; errors name the file and the document index (0-based).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import yaml

from fleet import kyaml, render

try:  # the C loader is ~10x faster; same rules once timestamps are removed
    _Base: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - libyaml missing
    _Base = yaml.SafeLoader


class _Loader(_Base):  # type: ignore[misc, valid-type]
    """Safe loader without the timestamp type (``2024-01-01`` stays a string, as in Kubernetes)."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def looks_like_manifest(obj: Any) -> bool:
    return isinstance(obj, Mapping) and bool(obj.get("apiVersion")) and bool(obj.get("kind"))


def expand(obj: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A ``kind: List`` (or ``*List``) becomes its items; anything else stays one object."""
    kind = str(obj.get("kind") or "")
    if kind.endswith("List") and isinstance(obj.get("items"), list):
        out = []
        for item in obj["items"]:
            if isinstance(item, Mapping):
                out.extend(expand(item))
        return out
    return [dict(obj)]


def parse(text: str, *, ctx: render.RenderContext, file: str, strict: bool = True) -> list[dict[str, Any]]:
    """Objects in a YAML stream or JSON document.

    ``strict``: documents that are not Kubernetes objects (no apiVersion/kind) are an error; when
    False they are skipped (Argo CD ignores unrelated YAML files in a directory source).
    """
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")) and file.endswith(".json"):
        try:
            docs: list[Any] = [json.loads(text)]
        except json.JSONDecodeError as exc:
            raise ctx.error(f"invalid JSON: {exc.msg} at line {exc.lineno}", file=file) from exc
    else:
        docs = []
        loader = _Loader(text)
        index = 0
        try:
            while loader.check_data():
                docs.append(loader.get_data())
                index += 1
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = f" at line {mark.line + 1}" if mark is not None else ""
            problem = getattr(exc, "problem", None) or "invalid YAML"
            raise ctx.error(f"{problem}{line}", file=file, document=index) from exc
        finally:
            loader.dispose()
    out: list[dict[str, Any]] = []
    for index, doc in enumerate(docs):
        if doc is None:
            continue
        doc = kyaml.json_compatible(doc)
        items = doc if isinstance(doc, list) else [doc]
        for item in items:
            if looks_like_manifest(item):
                out.extend(expand(item))
            elif strict:
                raise ctx.error("is not a Kubernetes object (apiVersion and kind are required)", file=file, document=index)
    return out
