"""Reading a cluster source file (a ``ClusterList``, Argo CD cluster Secrets, a kubeconfig, a file
whose kind is not known yet) into its YAML documents.

Sits below ``native``, ``argocd``, ``kubeconfig`` and ``registry``, which model the documents; it imports nothing
from fleet but ``errors`` and ``kyaml``. These files hold credentials, so no error quotes them.
"""

from __future__ import annotations

import collections
import os
import re
import threading
from pathlib import Path
from typing import Any

import orjson
import yaml
from yaml import nodes as yaml_nodes

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
    PyYAML has it (or orjson, for JSON that PyYAML would read the same), and kept while the file
    is unchanged (its size, times and inode). Each call gets its own copy of the documents.
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
        return _load_all(text)
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


def _load_all(text: str) -> list[Any]:
    """Every document of ``text``, as ``yaml.load_all`` with the safe loader builds them.

    The 500 cluster Secrets of a large fleet cost more in PyYAML's Python constructor than in
    libyaml's parser (issue 15: about 200 M instructions of 435 M). So JSON that PyYAML would
    read the same is read by orjson, and YAML's common nodes (maps, sequences, strings) are
    built here from the parser's nodes in one tight walk; every other node goes to PyYAML's own
    constructors, and a document this walk does not cover (merge keys, !!set, !!omap, unknown
    tags, unhashable keys, self-references) to ``construct_document`` whole, so that values and
    errors stay PyYAML's.
    """
    documents = _json_documents(text)
    if documents is not None:
        return documents
    loader = _FAST_LOADER(text)
    try:
        documents = []
        while loader.check_node():
            node = loader.get_node()
            try:
                documents.append(_Walk(loader).build(node))
            except (_NotCovered, RecursionError):
                documents.append(loader.construct_document(node))
        return documents
    finally:
        loader.dispose()


# A JSON text PyYAML reads differently: a UTF-16 surrogate escape (PyYAML keeps the two halves,
# JSON joins them into one character).
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _json_documents(text: str) -> list[Any] | None:
    """The one document of a JSON text (``kubectl get -o json``) when PyYAML would read it the
    same, else None. YAML 1.1 reads JSON's strings, integers, booleans and nulls as JSON does;
    not every float (``1e5`` is a string to it), nor non-ASCII line breaks inside strings, nor
    surrogate escapes: those texts are left to PyYAML."""
    start = text.lstrip()[:1]
    if start not in ("{", "[") or not text.isascii() or _SURROGATE_ESCAPE.search(text):
        return None
    try:
        document = orjson.loads(text)
    except orjson.JSONDecodeError:  # not JSON (YAML's flow style), or integers beyond 64 bits
        return None
    return None if _has_float(document) else [document]


def _has_float(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_has_float(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_float(v) for v in value)
    return isinstance(value, float)


class _NotCovered(Exception):
    """A node the walk leaves to PyYAML's ``construct_document``."""


_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
# Scalar tags whose SafeConstructor functions return the value at once (no generator, no state).
_SCALAR_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}" for name in ("null", "bool", "int", "float", "binary", "timestamp")
)


class _Walk:
    """One document built from its nodes (see ``_load_all``); an aliased node is built once."""

    def __init__(self, loader: Any) -> None:
        self.loader = loader
        self.built: dict[int, Any] = {}  # id(node) -> its value; _NotCovered while being built

    def build(self, node: yaml_nodes.Node) -> Any:
        kind = node.__class__
        if kind is yaml_nodes.ScalarNode:
            if node.tag == _STR:
                return node.value
            if node.tag in _SCALAR_TAGS:
                return self.loader.yaml_constructors[node.tag](self.loader, node)
            raise _NotCovered
        done = self.built.get(id(node), self)
        if done is _NotCovered:  # an alias to a node still being built: a recursive document
            raise _NotCovered
        if done is not self:
            return done
        self.built[id(node)] = _NotCovered
        if kind is yaml_nodes.MappingNode and node.tag == _MAP:
            out: Any = {}
            for key, value in node.value:
                if key.__class__ is not yaml_nodes.ScalarNode:  # PyYAML refuses or merges it
                    raise _NotCovered
                out[self.build(key)] = self.build(value)
        elif kind is yaml_nodes.SequenceNode and node.tag == _SEQ:
            out = [self.build(value) for value in node.value]
        else:
            raise _NotCovered
        self.built[id(node)] = out
        return out


def _copy(value: Any) -> Any:
    """A copy of parsed YAML (dicts and lists; the scalars are immutable), faster than deepcopy."""
    if isinstance(value, dict):
        return {k: _copy(v) if isinstance(v, (dict, list)) else v for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) if isinstance(v, (dict, list)) else v for v in value]
    return value
