"""Helpers for render tests: the fixture tree and a render call with caching off."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from fleet import render
from fleet.render import cache

DATA = Path(__file__).parent / "data" / "render"


def render_path(source: dict[str, Any], **kwargs: Any) -> list[dict[str, Any]]:
    """Render a fixture source (``path`` relative to tests/data/render) without the process cache."""
    options: dict[str, Any] = {
        "source_dir": DATA,
        "app_name": "guestbook",
        "namespace": "shop",
        "revision": "0123456789abcdef",
        "cache": cache.NO_CACHE,
    }
    options.update(kwargs)
    return render.render_source(source, **options)


def names(objs: list[dict[str, Any]]) -> list[str]:
    return [f"{o['kind']}/{o['metadata']['name']}" for o in objs]


def tree_digest(root: Path) -> str:
    """A digest of every file under ``root`` (names and contents), to prove a render changed nothing."""
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()
