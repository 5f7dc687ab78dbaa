"""The dotenv store: ``KEY=value`` lines, metadata flattened into ``sops_*`` keys.

Lines split at the first ``=`` with no trimming and no quote handling (``KEY =x`` has the key
``"KEY "``); ``#`` starts a comment line; ``\\n`` in a value is a newline (FORMATS.md A.9).
"""

from __future__ import annotations

from fleet.secrets.sops import errors, metadata, tree
from fleet.secrets.sops.stores import flatten

PREFIX = metadata.METADATA_KEY + "_"


def load(data: bytes, *, file: str | None = None) -> list[tree.Branch]:
    text = data.decode("utf-8", "surrogateescape")
    branch = tree.Branch()
    for number, line in enumerate(text.split("\n"), start=1):
        if not line:
            continue
        if line.startswith("#"):
            branch.append(tree.Item(tree.Comment(line[1:])))
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise errors.FormatError(f"line {number}: invalid dotenv input line (no '=')", file=file)
        branch.append(tree.Item(key, value.replace("\\n", "\n")))
    return [branch]


def value_text(value: object) -> str:
    """Upstream ``ValToString`` for a leaf that is not a string (plus ``\\n`` escaping for strings)."""
    from fleet.secrets.sops.cipher import format_float_g

    if isinstance(value, str):
        return value.replace("\n", "\\n")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        # upstream ValToString: %G, with ".0" added when it would read as an integer
        text = format_float_g(value).upper()
        return text if ("." in text or "E" in text or "N" in text) else text + ".0"
    if isinstance(value, tree.GoTime):
        return value.text
    if value is None:
        return "<nil>"
    return str(value)


def emit(branches: list[tree.Branch]) -> bytes:
    lines = []
    for item in branches[0] if branches else []:
        if isinstance(item.value, tree.Branch | list):
            raise errors.FormatError(f"cannot use complex value in dotenv file; offending key {item.key}")
        if isinstance(item.key, tree.Comment):
            lines.append(f"#{item.key.value}\n")
        else:
            lines.append(f"{item.key}={value_text(item.value)}\n")
    return "".join(lines).encode("utf-8", "surrogateescape")


class DotenvStore:
    """The dotenv store (``.env``)."""

    def load(self, data: bytes, *, file: str | None) -> list[tree.Branch]:
        return load(data, file=file)

    def load_encrypted(self, data: bytes, *, file: str | None) -> tuple[list[tree.Branch], tree.Branch]:
        branch = load(data, file=file)[0]
        kept, flat = tree.Branch(), tree.Branch()
        for item in branch:
            if isinstance(item.key, str) and item.key.startswith(PREFIX):
                flat.append(tree.Item(item.key[len(PREFIX) :], item.value))
            else:
                kept.append(item)
        if not flat:
            raise errors.NotEncryptedError(
                "sops metadata not found: the file is not encrypted with SOPS", file=file
            )
        try:
            meta = flatten.unflatten(flat)
        except flatten.FlattenError as exc:
            raise errors.MetadataError(f"invalid flattened sops metadata: {exc}", file=file) from None
        return [kept], meta

    def emit_plain(self, branches: list[tree.Branch]) -> bytes:
        return emit(branches)

    def emit_encrypted(self, branches: list[tree.Branch], meta: tree.Branch) -> bytes:
        branch = branches[0] if branches else tree.Branch()
        for item in branch:
            if isinstance(item.key, str) and item.key.startswith(PREFIX):
                raise errors.FormatError(
                    f"found key {item.key!r} in the data, which starts with the prefix {PREFIX!r} reserved for SOPS metadata"
                )
        return emit([tree.Branch([*branch, *flatten.flatten(meta, PREFIX)])])

    def has_metadata(self, branches: list[tree.Branch]) -> bool:
        return bool(branches) and any(
            isinstance(i.key, str) and i.key.startswith(PREFIX) for i in branches[0]
        )
