"""Flattening of the metadata for flat stores: ``pgp[0].enc`` <-> ``pgp__list_0__map_enc``.

dotenv writes the flattened keys at the top level with a ``sops_`` prefix; INI writes them in a
``[sops]`` section without it (FORMATS.md A.9, upstream stores/flatten.go).
"""

from __future__ import annotations

import re
from typing import Any

from fleet.secrets.sops import tree

MAP_SEPARATOR = "__map_"
LIST_SEPARATOR = "__list_"
_TOKEN = re.compile(r"(__map_|__list_)")


class FlattenError(ValueError):
    """Flattened keys that cannot be rebuilt (a gap in a list, a key both leaf and mapping)."""


def flatten(branch: tree.Branch, prefix: str = "") -> tree.Branch:
    """Nested metadata as one level of keys (comments dropped), in the branch's order."""
    out = tree.Branch()
    seen: set[str] = set()

    def descend(value: Any, key: str) -> None:
        if isinstance(value, tree.Branch):
            for item in value:
                if isinstance(item.key, str):
                    descend(item.value, key + MAP_SEPARATOR + item.key)
            return
        if isinstance(value, list):
            index = 0
            for element in value:
                if isinstance(element, tree.Comment):
                    continue
                descend(element, f"{key}{LIST_SEPARATOR}{index}")
                index += 1
            return
        if key in seen:
            raise FlattenError(f"key collision {key!r} while flattening")
        seen.add(key)
        out.append(tree.Item(key, value))

    for item in branch:
        if isinstance(item.key, str):
            descend(item.value, prefix + item.key)
    return out


class _Node:
    __slots__ = ("has_value", "indices", "subkeys", "value")

    def __init__(self) -> None:
        self.value: Any = None
        self.has_value = False
        self.subkeys: dict[str, _Node] = {}
        self.indices: dict[int, _Node] = {}


def _tokens(key: str) -> list[str | int]:
    parts = _TOKEN.split(key)
    tokens: list[str | int] = [parts[0]]
    for marker, text in zip(parts[1::2], parts[2::2], strict=True):
        if marker == LIST_SEPARATOR:
            try:
                tokens.append(int(text))
            except ValueError:
                raise FlattenError(f"{key!r}: list index {text!r} is not a number") from None
        else:
            tokens.append(text)
    return tokens


def unflatten(branch: tree.Branch) -> tree.Branch:
    """The inverse of ``flatten``: mapping keys sorted, list indices contiguous from 0."""
    root = _Node()
    for item in branch:
        if not isinstance(item.key, str):
            continue
        node = root
        for token in _tokens(item.key):
            table: dict[Any, _Node] = node.indices if isinstance(token, int) else node.subkeys
            node = table.setdefault(token, _Node())
        if node.has_value:
            raise FlattenError(f"duplicate value for {item.key!r}")
        node.value, node.has_value = item.value, True
    result = _convert(root, "")
    if not isinstance(result, tree.Branch):
        raise FlattenError("cannot find the root mapping")
    return result


def _convert(node: _Node, where: str) -> Any:
    kinds = sum((node.has_value, bool(node.subkeys), bool(node.indices)))
    if kinds > 1:
        raise FlattenError(f"type mismatch at {where or 'the root'!r}")
    if node.has_value:
        return node.value
    if node.indices:
        if sorted(node.indices) != list(range(len(node.indices))):
            raise FlattenError(f"incomplete list at {where!r}")
        return [_convert(node.indices[index], f"{where}[{index}]") for index in range(len(node.indices))]
    return tree.Branch(
        tree.Item(key, _convert(node.subkeys[key], f"{where}.{key}")) for key in sorted(node.subkeys)
    )
