"""Reading a cluster source file (a ``ClusterList``, Argo CD cluster Secrets, a kubeconfig, a file
whose kind is not known yet) into its YAML documents.

Sits below ``native``, ``argocd``, ``kubeconfig`` and ``registry``, which model the documents; it imports nothing
from fleet but ``errors`` and ``kyaml``. These files hold credentials, so no error quotes them.
"""

from __future__ import annotations

import collections
import os
import threading
from pathlib import Path
from typing import Any

import yaml

from fleet import errors, kyaml


def read_text(path: str | Path) -> str:
    """The file's text; an InputError naming the file when it cannot be read or is not UTF-8."""
    try:
        return Path(path).read_text(encoding="utf-8")  # not the locale's encoding
    except OSError as exc:
        raise errors.InputError(f"cannot be read: {exc.strerror}", file=str(path)) from exc
    except UnicodeDecodeError:  # not chained: the decoder's message quotes the bytes it met
        raise errors.InputError("is not UTF-8 text", file=str(path)) from None


def documents(path: str | Path) -> list[Any]:
    """Every document of the file as PyYAML's safe loader reads it (``None`` for an empty one).

    A run reads its clusters file several times (the registry detects its kind, then reads its
    Secrets; repository credentials are read from it too): it is parsed once, with libyaml when
    PyYAML has it, and kept while the file is unchanged (its size, times and inode). Each call
    gets its own copy of the documents.
    """
    try:
        stat = os.stat(path)
    except OSError:
        return _parse(read_text(path), path)  # read_text says why it cannot be read
    key = (os.path.realpath(path), stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)
    with _lock:
        cached = _parsed.get(key)
        if cached is not None:
            _parsed.move_to_end(key)
    if cached is None:
        cached = _parse(read_text(path), path)
        with _lock:
            _parsed[key] = cached
            while len(_parsed) > _KEEP:
                _parsed.popitem(last=False)
    return _copy(cached)


# libyaml's parser (about 10x faster on 500 cluster Secrets), else PyYAML's own; both build the
# same safe types (timestamps included).
_FAST_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_KEEP = 8  # files kept parsed (a run reads a few: clusters, ClusterLists, repository credentials)
_parsed: collections.OrderedDict[tuple[Any, ...], list[Any]] = collections.OrderedDict()
_lock = threading.Lock()


def _parse(text: str, path: str | Path) -> list[Any]:
    try:
        return list(yaml.load_all(text, Loader=_FAST_LOADER))  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        problem = exc
    if _FAST_LOADER is not yaml.SafeLoader:
        # libyaml words its errors differently: parse again with PyYAML's own loader, so that the
        # message (line, column, problem) is the one fleet has always given.
        try:
            list(yaml.safe_load_all(text))
        except yaml.YAMLError as exc:
            problem = exc
    # not chained: the parser's message quotes the (secret) input
    raise errors.InputError(f"is not valid YAML: {kyaml.error_text(problem)}", file=str(path)) from None


def _copy(value: Any) -> Any:
    """A copy of parsed YAML (dicts and lists; the scalars are immutable), faster than deepcopy."""
    if isinstance(value, dict):
        return {k: _copy(v) if isinstance(v, (dict, list)) else v for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) if isinstance(v, (dict, list)) else v for v in value]
    return value
