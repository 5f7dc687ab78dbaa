"""The binary store: the whole file is one string leaf ``data``, kept in a JSON envelope.

Any file whose extension is not YAML, JSON, dotenv or INI is binary (FORMATS.md A.9). The leaf's
AAD is ``data:``; undecodable bytes travel as surrogates, so decryption gives back the exact bytes.
"""

from __future__ import annotations

from fleet.secrets.sops import errors, metadata, tree
from fleet.secrets.sops.stores import json as json_store

DATA_KEY = "data"


class BinaryStore:
    """The binary store (any other extension)."""

    def load(self, data: bytes, *, file: str | None) -> list[tree.Branch]:
        return [tree.Branch([tree.Item(DATA_KEY, data.decode("utf-8", "surrogateescape"))])]

    def load_encrypted(self, data: bytes, *, file: str | None) -> tuple[list[tree.Branch], tree.Branch]:
        return metadata.extract(json_store.load(data, file=file), file=file)

    def emit_plain(self, branches: list[tree.Branch]) -> bytes:
        if len(branches) != 1:
            raise errors.FormatError("error emitting binary store: there must be exactly one tree branch")
        for item in branches[0]:
            if item.key == DATA_KEY:
                if isinstance(item.value, str):
                    return item.value.encode("utf-8", "surrogateescape")
                if isinstance(item.value, bytes):
                    return item.value
                raise errors.FormatError(
                    "error emitting binary store: 'data' key in tree does not have a string value"
                )
        raise errors.FormatError(
            "error emitting binary store: no binary data found in tree "
            "(this is likely not an encrypted binary file; pass the right --input-type)"
        )

    def emit_encrypted(self, branches: list[tree.Branch], meta: tree.Branch) -> bytes:
        return json_store.JsonStore().emit_encrypted(branches, meta)

    def has_metadata(self, branches: list[tree.Branch]) -> bool:
        return metadata.has_metadata(branches)

    def load_plain_or_envelope(self, data: bytes, *, file: str | None) -> list[tree.Branch]:
        """For "is this encrypted?" checks: the JSON envelope when the file is one."""
        try:
            return json_store.load(data, file=file)
        except errors.FormatError:
            return self.load(data, file=file)
