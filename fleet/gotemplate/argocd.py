"""The functions Argo CD adds to Sprig for ApplicationSet templates, and the YAML rules behind
``toYaml``/``fromYaml``.

``normalize`` is Argo CD's SanitizeName (also used for ``nameNormalized`` and
``path.basenameNormalized`` parameters), ``slugify`` runs it and then gosimple/slug's
truncation, and the YAML functions go through JSON as sigs.k8s.io/yaml does: ``toYaml``
sorts keys the way go-yaml v2 does (``a9`` before ``a10``), double-quotes strings that YAML 1.1
would read as something else (``"y"``, ``"true"``, ``"1.0"``), folds long strings at 80
columns and drops the final newline; ``fromYaml`` returns numbers as float64.
"""

from __future__ import annotations

import functools
import json
import math
import re
from typing import Any

import yaml

from fleet.gotemplate import gofmt, golib, values
from fleet.gotemplate.errors import FuncError
from fleet.gotemplate.gofunc import ANY, STRING, GoFunc, func

_INVALID_DNS_CHARS = re.compile(r"[^-a-z0-9.]")
_MAX_DNS_NAME = 253


def normalize(name: str) -> str:
    """Argo CD's SanitizeName: a DNS-1123-ish name from any string.

    Lowercase; every character outside ``[-a-z0-9.]`` becomes ``-`` (no collapsing); cut to
    253 characters; leading and trailing ``-`` and ``.`` removed.
    ``normalize("production_01/west") == "production-01-west"``.
    """
    lowered = "".join(_lower_rune(ch) for ch in name) if not name.isascii() else name.lower()
    cleaned = _INVALID_DNS_CHARS.sub("-", lowered)
    if len(cleaned) > _MAX_DNS_NAME:
        cleaned = cleaned[:_MAX_DNS_NAME]
    return cleaned.strip("-.")


def _lower_rune(ch: str) -> str:
    lowered = ch.lower()
    return lowered if len(lowered) == 1 else ch


_SLUG_UNAUTHORIZED = re.compile(r"[^a-zA-Z0-9\-_]")
_SLUG_DASHES = re.compile(r"-+")


def slug_make(text: str, *, max_length: int, smart_truncate: bool) -> str:
    """gosimple/slug.Make on an already normalized (ASCII) name."""
    slug = golib.go_trim_space(text).replace("&", "and").replace("@", "at").lower()
    if not smart_truncate and len(slug) >= max_length:
        if max_length < 0:
            raise FuncError(f"runtime error: slice bounds out of range [:{max_length}]")
        slug = slug[:max_length]
    slug = _SLUG_UNAUTHORIZED.sub("-", slug)
    slug = _SLUG_DASHES.sub("-", slug)
    slug = slug.strip("-_")
    if max_length > 0 and smart_truncate and len(slug) > max_length:
        for index in range(max_length, -1, -1):
            if slug[index] == "-":
                return slug[:index]
        return slug[:max_length]
    return slug


def _assert(value: Any, kind: type, go_type: str) -> Any:
    if isinstance(value, kind) and not (kind is int and isinstance(value, (bool, values.Int64))):
        return value
    got = "nil" if value is None else values.type_name(value)
    raise FuncError(f"interface conversion: interface {{}} is {got}, not {go_type}")


def slugify(*args: Any) -> str:
    """``slugify [maxSize] [smartTruncate] name``: normalize, then slug with truncation.

    Defaults: 50 characters and smart truncation (cut at the last ``-`` that fits). With
    more than three arguments Argo CD logs an error and ignores the extra ones.
    """
    max_size = 50
    smart = True
    name = ""
    for index, arg in enumerate(args):
        if index == len(args) - 1:
            name = _assert(arg, str, "string")
        elif index == 0:
            max_size = _assert(arg, int, "int")
        elif index == 1:
            smart = _assert(arg, bool, "bool")
    return slug_make(normalize(name), max_length=max_size, smart_truncate=smart)


# -- YAML (sigs.k8s.io/yaml over go-yaml v2) ---------------------------------------------------

_GO_BOOL = {
    "y",
    "Y",
    "yes",
    "Yes",
    "YES",
    "true",
    "True",
    "TRUE",
    "on",
    "On",
    "ON",
    "n",
    "N",
    "no",
    "No",
    "NO",
    "false",
    "False",
    "FALSE",
    "off",
    "Off",
    "OFF",
}
_GO_TRUE = {"y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"}
_GO_NULL = {"", "~", "null", "Null", "NULL"}
_GO_SPECIAL_FLOAT = {
    ".nan",
    ".NaN",
    ".NAN",
    ".inf",
    ".Inf",
    ".INF",
    "+.inf",
    "+.Inf",
    "+.INF",
    "-.inf",
    "-.Inf",
    "-.INF",
}
_YAML_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?\Z")
_BASE60 = re.compile(r"[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?\Z")
_TIMESTAMP = re.compile(
    r"\d{4}-\d{1,2}-\d{1,2}"
    r"(?:(?:[Tt]|[ \t]+)\d{1,2}:\d{1,2}:\d{1,2}(?:\.\d*)?(?:[ \t]*(?:Z|[-+]\d{1,2}(?::?\d{2})?))?)?\Z"
)


def go_yaml_resolve(text: str) -> str:
    """The tag go-yaml v2 gives an unquoted scalar: str, bool, null, int, float, timestamp, merge."""
    if text in _GO_BOOL:
        return "bool"
    if text in _GO_NULL:
        return "null"
    if text in _GO_SPECIAL_FLOAT:
        return "float"
    if text == "<<":
        return "merge"  # (written plain by go-yaml all the same, see _represent_str)
    first = text[0]
    if first == ".":
        try:
            float(text)
            return "float" if _YAML_FLOAT.match(text) or text.lstrip(".").isdigit() else "str"
        except ValueError:
            return "str"
    if first.isdigit() or first in "+-":
        if _TIMESTAMP.match(text):
            return "timestamp"
        plain = text.replace("_", "")
        from fleet.gotemplate import parser

        if (
            parser.parse_go_int(plain, signed=True) is not None
            or parser.parse_go_int(plain, signed=False) is not None
        ):
            return "int"
        if _YAML_FLOAT.match(plain):
            return "float"
        if plain.startswith(("0b", "-0b")):
            digits = plain.lstrip("-")[2:]
            if digits and set(digits) <= {"0", "1"}:
                return "int"
    return "str"


class _GoYamlDumper(yaml.SafeDumper):
    """PyYAML's emitter is a port of libyaml, as go-yaml's is; the representers below make the
    scalar styles and key order go-yaml v2's."""

    def ignore_aliases(self, data: Any) -> bool:
        return True

    def check_simple_key(self) -> bool:
        # libyaml's rule, as go-yaml has it: any single-line scalar up to 128 bytes (the empty
        # string too) is written as "key: value"; PyYAML refuses "" and counts the tag.
        event = self.event
        length = 0
        if isinstance(event, yaml.ScalarEvent):
            if self.analysis is None:
                self.analysis = self.analyze_scalar(event.value)
            if self.analysis.multiline:
                return False
            length = len(event.value.encode("utf-8", "surrogateescape"))
        elif isinstance(event, yaml.SequenceStartEvent):
            if not self.check_empty_sequence():
                return False
        elif isinstance(event, yaml.MappingStartEvent):
            if not self.check_empty_mapping():
                return False
        elif not isinstance(event, yaml.AliasEvent):
            return False
        return length <= 128


def _goyaml_key_less(a: str, b: str) -> bool:
    """go-yaml v2's keyList.Less for string keys: letters before digits, digit runs by value."""
    for index in range(min(len(a), len(b))):
        ca, cb = a[index], b[index]
        if ca == cb:
            continue
        a_letter, b_letter = ca.isalpha(), cb.isalpha()
        if a_letter and b_letter:
            return ca < cb
        if a_letter or b_letter:
            return b_letter
        an = bn = 0
        if ca == "0" or cb == "0":
            back = index - 1
            while back >= 0 and a[back].isdigit():
                if a[back] != "0":
                    an = bn = 1
                    break
                back -= 1
        ai = index
        while ai < len(a) and a[ai].isdigit():
            an = an * 10 + int(a[ai]) if a[ai].isdecimal() else an
            ai += 1
        bi = index
        while bi < len(b) and b[bi].isdigit():
            bn = bn * 10 + int(b[bi]) if b[bi].isdecimal() else bn
            bi += 1
        if an != bn:
            return an < bn
        if ai != bi:
            return ai < bi
        return ca < cb
    return len(a) < len(b)


def _key_order(a: tuple[str, Any], b: tuple[str, Any]) -> int:
    if _goyaml_key_less(a[0], b[0]):
        return -1
    if _goyaml_key_less(b[0], a[0]):
        return 1
    return 0


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    if any(ord(ch) > 0xFFFF for ch in data):
        # go-yaml treats 4-byte UTF-8 as unprintable: double quotes with \U escapes.
        style = '"'
    elif "\n" in data:
        style = "|"
    elif go_yaml_resolve(data) not in ("str", "merge") or _BASE60.match(data):
        style = '"'
    else:
        style = None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


def _represent_float(dumper: yaml.SafeDumper, data: float) -> yaml.Node:
    if math.isnan(data):
        text = ".nan"
    elif math.isinf(data):
        text = ".inf" if data > 0 else "-.inf"
    else:
        text = gofmt.format_float(data, "g", -1)
    return dumper.represent_scalar("tag:yaml.org,2002:float", text)


def _represent_dict(dumper: yaml.SafeDumper, data: dict[str, Any]) -> yaml.Node:
    items = sorted(data.items(), key=functools.cmp_to_key(_key_order))
    return dumper.represent_mapping("tag:yaml.org,2002:map", items, flow_style=not items)


def _represent_list(dumper: yaml.SafeDumper, data: list[Any]) -> yaml.Node:
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=not data)


_GoYamlDumper.add_representer(str, _represent_str)
_GoYamlDumper.add_representer(float, _represent_float)
_GoYamlDumper.add_representer(dict, _represent_dict)
_GoYamlDumper.add_representer(list, _represent_list)
# The resolver decides whether a plain scalar would read back as a string; go-yaml's rules
# (y/n are booleans, timestamps are not strings) replace PyYAML's for that check.
_GoYamlDumper.yaml_implicit_resolvers = {}


def _go_resolve_for_emitter(self: Any, kind: Any, value: str, implicit: tuple[bool, bool]) -> str:
    if kind is yaml.ScalarNode and implicit[0]:
        tag = go_yaml_resolve(value) if value else "null"
        return {
            "str": "tag:yaml.org,2002:str",
            "bool": "tag:yaml.org,2002:bool",
            "null": "tag:yaml.org,2002:null",
            "int": "tag:yaml.org,2002:int",
            "float": "tag:yaml.org,2002:float",
            "timestamp": "tag:yaml.org,2002:timestamp",
            "merge": "tag:yaml.org,2002:str",  # go-yaml writes << plain
        }[tag]
    return yaml.SafeDumper.resolve(self, kind, value, implicit)


_GoYamlDumper.resolve = _go_resolve_for_emitter  # type: ignore[method-assign]


def to_yaml(value: Any) -> str:
    """Argo CD's toYaml: JSON-encode (so 3.0 becomes 3), then YAML, without the last newline."""
    try:
        encoded = golib.to_json(value)
    except FuncError as exc:
        raise FuncError(f"error marshaling into JSON: {exc}") from None
    data = json.loads(encoded)
    text = yaml.dump(
        data,
        Dumper=_GoYamlDumper,
        default_flow_style=False,
        allow_unicode=True,
        width=80,
        indent=2,
        sort_keys=False,
    )
    if text.endswith("\n...\n"):  # a top-level plain scalar: go-yaml writes no end marker
        text = text[: -len("...\n")]
    return text.removesuffix("\n")


class _GoYamlLoader(yaml.SafeLoader):
    """Reads YAML as go-yaml v2 does before sigs.k8s.io/yaml turns it into JSON."""


_GoYamlLoader.yaml_implicit_resolvers = {}


def _go_resolve_for_loader(self: Any, kind: Any, value: str, implicit: tuple[bool, bool]) -> str:
    if kind is yaml.ScalarNode and implicit[0]:
        tag = go_yaml_resolve(value) if value else "null"
        if tag in ("timestamp", "merge"):
            tag = "str"
        return "tag:yaml.org,2002:" + tag
    return yaml.SafeLoader.resolve(self, kind, value, implicit)


_GoYamlLoader.resolve = _go_resolve_for_loader  # type: ignore[method-assign]


def _construct_go_bool(loader: yaml.SafeLoader, node: yaml.Node) -> bool:
    return loader.construct_scalar(node) in _GO_TRUE  # type: ignore[arg-type]


def _construct_go_int(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    from fleet.gotemplate import parser

    text = str(loader.construct_scalar(node)).replace("_", "")  # type: ignore[arg-type]
    if text.startswith(("0b", "-0b", "+0b")):
        sign = -1 if text.startswith("-") else 1
        return sign * int(text.lstrip("+-"), 0)
    parsed = parser.parse_go_int(text, signed=True)
    if parsed is None:
        parsed = parser.parse_go_int(text, signed=False)
    return parsed if parsed is not None else text


def _construct_go_float(loader: yaml.SafeLoader, node: yaml.Node) -> float:
    text = str(loader.construct_scalar(node))  # type: ignore[arg-type]
    if text in _GO_SPECIAL_FLOAT:
        return math.nan if "nan" in text.lower() else (-math.inf if text.startswith("-") else math.inf)
    return float(text.replace("_", ""))


_GoYamlLoader.add_constructor("tag:yaml.org,2002:bool", _construct_go_bool)
_GoYamlLoader.add_constructor("tag:yaml.org,2002:int", _construct_go_int)
_GoYamlLoader.add_constructor("tag:yaml.org,2002:float", _construct_go_float)


def _construct_go_timestamp(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    return loader.construct_yaml_str(node)  # a timestamp stays the string it was, as in Go


_GoYamlLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_go_timestamp)


def _json_value(value: Any) -> Any:
    """What a YAML value becomes after sigs.k8s.io/yaml's YAML -> JSON -> Go round trip."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        number = float(value)
        if math.isnan(number) or math.isinf(number):
            raise FuncError(
                "error converting YAML to JSON: json: unsupported value: "
                + gofmt.format_float(number, "g", -1)
            )
        return number
    if isinstance(value, dict):
        return {_json_key(key): _json_value(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_value(item) for item in value]
    return str(value)


def _json_key(key: Any) -> str:
    if isinstance(key, str):
        return key
    if key is None:
        return "null"
    if isinstance(key, bool):
        return "true" if key else "false"
    if isinstance(key, float):
        return gofmt.format_float(key, "g", -1)
    return str(key)


def _load_first(text: str) -> Any:
    try:
        for document in yaml.load_all(text, Loader=_GoYamlLoader):
            return _json_value(document)
        return None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or "invalid YAML"
        where = f"line {mark.line + 1}: " if mark is not None else ""
        raise FuncError(f"error converting YAML to JSON: yaml: {where}{problem}") from None


def from_yaml(text: str) -> dict[str, Any]:
    """Argo CD's fromYaml: a YAML mapping as map[string]interface{} (numbers are float64)."""
    document = _load_first(text)
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise FuncError(
            "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal "
            f"{_json_kind(document)} into Go value of type map[string]interface {{}}"
        )
    return document


def from_yaml_array(text: str) -> list[Any]:
    """Argo CD's fromYamlArray: a YAML sequence as []interface{}."""
    document = _load_first(text)
    if document is None:
        return []
    if not isinstance(document, list):
        raise FuncError(
            "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal "
            f"{_json_kind(document)} into Go value of type []interface {{}}"
        )
    return document


def _json_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "bool"
    return "number"


ARGOCD_EXTRA_FUNCS: dict[str, GoFunc] = {
    "normalize": func("normalize", STRING)(normalize),
    "slugify": func("slugify", variadic=ANY)(slugify),
    "toYaml": func("toYaml", ANY)(to_yaml),
    "fromYaml": func("fromYaml", STRING)(from_yaml),
    "fromYamlArray": func("fromYamlArray", STRING)(from_yaml_array),
}
