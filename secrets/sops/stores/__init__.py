"""File formats of SOPS documents: one store module per format, behind one small protocol.

A store turns file bytes into the SOPS tree (``fleet.secrets.sops.tree``) and back. The metadata
block travels as a raw branch; ``load_encrypted`` returns it already unflattened and
``emit_encrypted`` writes it the way that format keeps it (nested for YAML/JSON/binary, flattened
with a ``sops_`` prefix for dotenv, flattened in a ``[sops]`` section for INI).
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import PurePath
from typing import Protocol

from fleet.secrets.sops import errors, metadata, tree


class Format(StrEnum):
    """The formats sops reads and writes; the file extension picks one (FORMATS.md A.1)."""

    YAML = "yaml"  # .yaml / .yml: comments, multi-document, go-yaml v3 typing
    JSON = "json"  # .json: key order kept, tab-indented output
    DOTENV = "dotenv"  # .env: KEY=value lines, metadata flattened with a sops_ prefix
    INI = "ini"  # .ini: sections, metadata flattened in a [sops] section
    BINARY = "binary"  # anything else: the whole file is one value, stored in a JSON envelope


_EXTENSIONS = {
    ".yaml": Format.YAML,
    ".yml": Format.YAML,
    ".json": Format.JSON,
    ".env": Format.DOTENV,
    ".ini": Format.INI,
}


def format_for_path(path: str | PurePath) -> Format:
    """The format sops picks for ``path``: by extension, anything unknown is binary."""
    return _EXTENSIONS.get(PurePath(str(path)).suffix.lower(), Format.BINARY)


def resolve_format(path: str | PurePath | None, fmt: Format | str | None) -> Format:
    """An explicit format (``--input-type``) wins over the extension."""
    if fmt:
        try:
            return Format(str(fmt).lower())
        except ValueError:
            raise errors.FormatError(
                f"unknown format {fmt!r} (use one of {', '.join(f.value for f in Format)})",
                file=str(path) if path else None,
            ) from None
    return format_for_path(path or "")


class Store(Protocol):
    """One file format."""

    def load(self, data: bytes, *, file: str | None) -> list[tree.Branch]:
        """The documents of a plain (or still encrypted) file, metadata included as written."""
        ...

    def load_encrypted(self, data: bytes, *, file: str | None) -> tuple[list[tree.Branch], tree.Branch]:
        """The documents without metadata, and the metadata branch (unflattened)."""
        ...

    def emit_plain(self, branches: list[tree.Branch]) -> bytes: ...

    def emit_encrypted(self, branches: list[tree.Branch], meta: tree.Branch) -> bytes: ...

    def has_metadata(self, branches: list[tree.Branch]) -> bool: ...


def store_for(fmt: Format) -> Store:
    from fleet.secrets.sops.stores import binary, dotenv, ini, json, yaml

    stores: dict[Format, Store] = {
        Format.YAML: yaml.YamlStore(),
        Format.JSON: json.JsonStore(),
        Format.DOTENV: dotenv.DotenvStore(),
        Format.INI: ini.IniStore(),
        Format.BINARY: binary.BinaryStore(),
    }
    return stores[fmt]


def append_nested_metadata(
    branches: list[tree.Branch], meta: tree.Branch, *, file: str | None = None
) -> list[tree.Branch]:
    """Every document with the ``sops`` mapping appended (upstream writes it into each one)."""
    result = []
    for branch in branches:
        if any(item.key == metadata.METADATA_KEY for item in branch):
            raise errors.FormatError(
                "the document has a top-level key 'sops', which is reserved for SOPS metadata", file=file
            )
        result.append(tree.Branch([*branch, tree.Item(metadata.METADATA_KEY, meta)]))
    return result
