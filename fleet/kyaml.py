"""YAML as Kubernetes and Argo CD read it, for everything the ApplicationSet engine parses.

Argo CD parses YAML with ``sigs.k8s.io/yaml``: YAML is converted to JSON and decoded, so keys
become strings, timestamps stay strings and numbers decoded into ``interface{}`` are float64.
PyYAML's safe loader differs on two of these (it builds ``datetime`` objects and keeps int and
bool keys), so this module wraps it. It sits below the models, generators and templating and
imports nothing else from ``fleet`` except errors.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

import yaml

from fleet import errors


class KubeLoader(yaml.SafeLoader):
    """PyYAML's safe loader without the timestamp type: ``2024-01-01`` stays a string, as in Go."""


KubeLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class KubeDumper(yaml.SafeDumper):
    """Block style, insertion order, multi-line strings as literal blocks (readable manifests)."""

    def ignore_aliases(self, data: Any) -> bool:  # never emit &anchors for shared sub-objects
        return True


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    if "\n" in data and not re.search(r"[ \t]\n|\n[ \t]+\n", data):
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", data)


KubeDumper.add_representer(str, _represent_str)
KubeDumper.add_multi_representer(str, _represent_str)  # StrEnum members and other str subclasses
KubeDumper.add_multi_representer(dict, lambda d, data: d.represent_dict(data.items()))
KubeDumper.add_multi_representer(list, lambda d, data: d.represent_list(data))


def load(text: str | bytes) -> Any:
    """One YAML document as JSON-compatible data (string keys, no timestamps)."""
    return json_compatible(yaml.load(text, Loader=KubeLoader))  # noqa: S506 - KubeLoader is a SafeLoader


def load_all(text: str | bytes) -> list[Any]:
    """Every document of a YAML stream as JSON-compatible data (empty documents are ``None``)."""
    return [json_compatible(doc) for doc in yaml.load_all(text, Loader=KubeLoader)]  # noqa: S506


def dump(obj: Any) -> str:
    return yaml.dump(obj, Dumper=KubeDumper, sort_keys=False, default_flow_style=False, allow_unicode=True)


def dump_all(objs: Iterable[Any]) -> str:
    return yaml.dump_all(
        list(objs), Dumper=KubeDumper, sort_keys=False, default_flow_style=False, allow_unicode=True
    )


def json_compatible(value: Any) -> Any:
    """Keys to strings the way YAML-to-JSON conversion writes them (``true``, ``1``, ``1.5``)."""
    if isinstance(value, dict):
        return {_key(k): json_compatible(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_compatible(v) for v in value]
    return value


def _key(key: Any) -> str:
    if isinstance(key, str):
        return key
    if isinstance(key, bool):
        return "true" if key else "false"
    if key is None:
        return "null"
    return str(key)


def go_json_numbers(value: Any) -> Any:
    """Numbers as float64, the way Go decodes JSON into ``interface{}`` (bools stay bools)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return float(value)
    if isinstance(value, dict):
        return {k: go_json_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [go_json_numbers(v) for v in value]
    return value


def yaml_or_json(text: str, *, where: str, obj: str | None = None, field: str | None = None) -> Any:
    """Parse text that may be JSON or YAML (Argo CD's ConvertYAMLToJSON); errors name the place."""
    stripped = text.strip()
    try:
        if stripped.startswith("{"):
            return json.loads(stripped)
        return load(text)
    except json.JSONDecodeError as exc:  # its message holds a position, never the text
        raise errors.InputError(
            f"is not valid YAML or JSON: {exc}", file=where, obj=obj, field=field
        ) from exc
    except yaml.YAMLError as exc:
        # not chained: the parser's exception quotes the input (which may be decrypted SOPS text)
        raise errors.InputError(
            f"is not valid YAML or JSON: {error_text(exc)}", file=where, obj=obj, field=field
        ) from None


def error_text(exc: yaml.YAMLError) -> str:
    """Where and why YAML failed to parse, without the excerpt of the input that PyYAML quotes.

    PyYAML's message repeats the offending line, and in a cluster Secret, a kubeconfig or a
    Secret manifest that line is a credential. Like Go's yaml errors, say only the line, column
    and what was wrong (callers raise ``from None`` for the same reason).
    """
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    reason = ", ".join(
        part for part in (getattr(exc, "context", None), getattr(exc, "problem", None)) if part
    )
    where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    return ": ".join(part for part in (where, reason or "invalid YAML") if part)
