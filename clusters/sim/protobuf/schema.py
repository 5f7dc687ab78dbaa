"""The declarative table behind the protobuf codec: kind -> message -> field -> JSON name and type.

``schema-v1.32.txt`` (next to this module) holds the facts of Kubernetes' wire schema for every
built-in kind the simulator serves: the field numbers and types of the upstream
``generated.proto`` files (API v1.32) and the JSON names and ``omitempty``/pointer markers of the
Go types behind them. ``generate_schema.py`` wrote it from those files; nothing else reads them.
The format, one line each:

    kind <apiVersion> <Kind> <message>         what the Unknown envelope's typeMeta names
    message <package/version>.<Name> [special]  a message; "special": the codec maps its JSON by name
      <number> <jsonName> <type> [flags]       a field: type is a scalar (string, bytes, bool,
                                               int32, int64, uint32, uint64, double, float), a
                                               message name, or map:<key>:<value>
    flags:  *  repeated      ?  a Go pointer (present even when zero)
            !  no omitempty  ^  an embedded struct whose fields JSON inlines into the parent

Nothing here knows about JSON values or bytes; ``codec`` does.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path

TABLE = Path(__file__).with_name("schema-v1.32.txt")
SCALARS = frozenset({"string", "bytes", "bool", "int32", "int64", "uint32", "uint64", "double", "float"})


class SchemaError(ValueError):
    """The table itself is malformed (a bug in the table, never in a request)."""


@dataclass(frozen=True, slots=True)
class Field:
    number: int
    json: str
    type: str  # a scalar name or a message name (the value type, for maps)
    map_key: str | None = None  # set for map fields: the key's scalar type
    repeated: bool = False
    pointer: bool = False  # a Go pointer: sent even when zero, absent when nil
    always: bool = False  # no omitempty: Go's JSON shows the zero value
    inline: bool = False  # an embedded struct: its fields appear in the parent's JSON object

    @property
    def is_message(self) -> bool:
        return self.type not in SCALARS


@dataclass(frozen=True, slots=True)
class Message:
    name: str
    special: bool = False
    fields: tuple[Field, ...] = ()  # in field-number order (the order Go writes them)
    by_json: dict[str, Field] = field(default_factory=dict, compare=False, hash=False)
    by_number: dict[int, Field] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class Schema:
    messages: dict[str, Message]
    kinds: dict[tuple[str, str], str]  # (apiVersion, kind) -> message name

    def message(self, name: str) -> Message:
        found = self.messages.get(name)
        if found is None:
            raise SchemaError(f"no message {name!r} in the protobuf schema table")
        return found

    def for_kind(self, api_version: str, kind: str) -> Message | None:
        """The message of a kind at an apiVersion, or None when the table has no protobuf for it."""
        name = self.kinds.get((api_version, kind))
        return None if name is None else self.messages[name]


def _parse_field(line: str, where: str) -> Field:
    parts = line.split()
    if len(parts) not in (3, 4):
        raise SchemaError(f"{where}: expected '<number> <json> <type> [flags]', got {line!r}")
    number, json_name, type_text = parts[:3]
    flags = parts[3] if len(parts) == 4 else ""
    if set(flags) - set("*?!^"):
        raise SchemaError(f"{where}: unknown flags {flags!r}")
    map_key = None
    if type_text.startswith("map:"):
        _, map_key, type_text = type_text.split(":", 2)
    return Field(
        number=int(number),
        json=json_name,
        type=type_text,
        map_key=map_key,
        repeated="*" in flags,
        pointer="?" in flags,
        always="!" in flags,
        inline="^" in flags,
    )


def parse(text: str, *, source: str = "schema") -> Schema:
    messages: dict[str, Message] = {}
    kinds: dict[tuple[str, str], str] = {}
    current: tuple[str, bool, list[Field]] | None = None

    def close() -> None:
        if current is not None:
            name, special, fields = current
            ordered = tuple(sorted(fields, key=lambda f: f.number))
            messages[name] = Message(
                name=name,
                special=special,
                fields=ordered,
                by_json={f.json: f for f in ordered if not f.inline},
                by_number={f.number: f for f in ordered},
            )

    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].rstrip()
        where = f"{source}:{lineno}"
        if not line.strip():
            continue
        if line.startswith("kind "):
            _, api_version, kind, message_name = line.split()
            kinds[(api_version, kind)] = message_name
        elif line.startswith("message "):
            close()
            words = line.split()
            current = (words[1], "special" in words[2:], [])
        elif line.startswith(" ") and current is not None:
            current[2].append(_parse_field(line.strip(), where))
        else:
            raise SchemaError(f"{where}: cannot read {raw!r}")
    close()
    for (api_version, kind), name in kinds.items():
        if name not in messages:
            raise SchemaError(f"{source}: kind {api_version} {kind} names unknown message {name}")
    for message in messages.values():
        for f in message.fields:
            if f.is_message and f.type not in messages:
                raise SchemaError(f"{source}: {message.name}.{f.json} has unknown type {f.type}")
    return Schema(messages=messages, kinds=kinds)


@functools.cache
def load() -> Schema:
    """The table shipped with the simulator, parsed once per process."""
    return parse(TABLE.read_text(), source=TABLE.name)
