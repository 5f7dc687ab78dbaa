"""Secret references: find, parse and template ``ref+<scheme>://<path>[?<query>][#/<fragment>][+]``.

This is the bottom of the secret layer. References travel through the whole pipeline as plain
text (rendered manifests, Helm values, Kustomize generator inputs, cluster credentials); only the
resolver (``fleet.secrets.resolver``), inside the per-cluster worker just before apply, turns them
into values through a provider (``fleet.secrets.providers``).

The syntax is that of vals (helmfile): a reference is the whole value or a part of a string
(``postgres://app:ref+vault://kv/data/db#/password+@db:5432``); the optional trailing ``+`` ends
an embedded reference; otherwise it runs up to a space, a newline or the end of the string, and
never ends in ``"`` or ``,``. ``secretref+`` is vals' alias of ``ref+`` and is accepted.

A reference may use its cluster's own values in the path, in Argo CD's fasttemplate style:
``ref+vault://kv/data/{{name}}/db#/password``. Tags: ``{{name}}``, ``{{server}}``,
``{{project}}``, ``{{metadata.labels.<key>}}``, ``{{metadata.annotations.<key>}}``; any other tag
is an error naming the reference.
"""

from __future__ import annotations

import base64
import binascii
import re
import urllib.parse
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from fleet import errors, models

# vals' DefaultRefRegexp (pkg/expansion/expand_match.go), in Python syntax: the scheme part, then
# anything but "+", space and newline, not ending in '"' or ",", then the optional "+" terminator.
REF_PATTERN = re.compile(r'(?P<kind>(?:secret)?ref)\+(?P<uri>[^+:\s]*://[^+\n ]+[^+\n ",])\+?')
SCHEME_PATTERN = re.compile(r"^[a-z][a-z0-9]*$")
TEMPLATE_TAG = re.compile(r"\{\{(.*?)\}\}")

# Query parameters that may carry credentials (vals accepts e.g. ``secret_id=`` in the query);
# they are shown as *** whenever a reference is named in a message.
SENSITIVE_PARAMS = frozenset({"secret_id", "token", "password", "jwt"})


class SecretError(errors.FleetError):
    """Base of every error of the secret layer; ``ref`` and ``cluster`` name where, never a value."""

    def __init__(
        self,
        message: str,
        *,
        ref: str | None = None,
        cluster: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        if retry_after is None:
            super().__init__(message)
        else:
            super().__init__(message, retry_after=retry_after)
        self.ref = ref
        self.cluster = cluster


class BadReference(SecretError, errors.InputError):
    """A reference is malformed, names an unknown scheme, or uses an unknown template tag."""

    exit_code = errors.ExitCode.BAD_INPUT


@dataclass(frozen=True)
class Ref:
    """One parsed reference. Frozen and picklable: it crosses Ray boundaries as plain data.

    ``path`` is what follows ``://`` up to ``?`` or ``#`` (percent-decoded), exactly as vals joins
    a URL's host and path; ``fragment`` is the key path of ``#/a/b`` (empty: no fragment).
    """

    text: str  # the reference as written, including "ref+" and a trailing "+"
    scheme: str
    path: str
    query: tuple[tuple[str, str], ...] = ()
    fragment: tuple[str, ...] = ()
    kind: str = "ref"  # "ref" or vals' alias "secretref"

    def param(self, name: str, default: str | None = None) -> str | None:
        """The last value of query parameter ``name``, or ``default``."""
        found = default
        for key, value in self.query:
            if key == name:
                found = value
        return found

    @property
    def has_fragment(self) -> bool:
        return bool(self.fragment)

    @property
    def document_key(self) -> tuple[str, str, tuple[tuple[str, str], ...]]:
        """What identifies the backend document: scheme, path and query, not the fragment.

        Two references that differ only in their fragment read the same document once.
        """
        return (self.scheme, self.path, self.query)

    @property
    def has_template(self) -> bool:
        return "{{" in self.text

    def display(self) -> str:
        """The reference as it may be shown to a person: credentials in the query masked."""
        text = f"{self.kind}+{self.scheme}://{self.path}"
        if self.query:
            shown = [(k, "***" if k in SENSITIVE_PARAMS else v) for k, v in self.query]
            text += "?" + "&".join(f"{k}={v}" for k, v in shown)
        if self.fragment:
            text += "#/" + "/".join(_escape_pointer(part) for part in self.fragment)
        return text

    def __str__(self) -> str:
        return self.display()


def _escape_pointer(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


def _unescape_pointer(part: str) -> str:
    return urllib.parse.unquote(part).replace("~1", "/").replace("~0", "~")


def contains_reference(text: str) -> bool:
    """True when ``text`` holds at least one reference (whole or embedded)."""
    return isinstance(text, str) and "ref+" in text and REF_PATTERN.search(text) is not None


def iter_matches(text: str) -> Iterator[re.Match[str]]:
    """Every reference in ``text``, left to right, as regex matches (``m.group(0)`` is its text)."""
    if "ref+" not in text:
        return iter(())
    return REF_PATTERN.finditer(text)


def is_whole_reference(text: str) -> bool:
    """True when ``text`` is exactly one reference (so its value may keep a non-string type)."""
    match = REF_PATTERN.fullmatch(text) if isinstance(text, str) else None
    return match is not None


def parse(text: str) -> Ref:
    """Parse one reference; ``text`` is the reference alone (``ref+...``, optional trailing ``+``).

    Raises ``BadReference`` naming the reference when it is malformed.
    """
    match = REF_PATTERN.fullmatch(text.strip())
    if match is None:
        shown = text if len(text) <= 120 else text[:117] + "..."
        raise BadReference(
            f"{shown!r} is not a reference (expected ref+<scheme>://<path>[?query][#/key])", ref=shown
        )
    return _from_match(match)


def _from_match(match: re.Match[str]) -> Ref:
    text = match.group(0)
    uri = match.group("uri")
    scheme, _, rest = uri.partition("://")
    if not SCHEME_PATTERN.match(scheme):
        raise BadReference(f"{text}: scheme {scheme!r} is not a valid scheme name", ref=text)
    rest, hashed, raw_fragment = rest.partition("#")
    raw_path, _, raw_query = rest.partition("?")
    path = urllib.parse.unquote(raw_path)
    if not path.strip("/"):
        raise BadReference(f"{text}: the reference has no path", ref=text)
    query = tuple(urllib.parse.parse_qsl(raw_query, keep_blank_values=True)) if raw_query else ()
    fragment: tuple[str, ...] = ()
    # vals accepts "#/a/b" and "#a/b"; an empty fragment means none.
    stripped = raw_fragment.lstrip("/") if hashed else ""
    if stripped:
        fragment = tuple(_unescape_pointer(part) for part in stripped.split("/"))
        if any(part == "" for part in fragment):
            raise BadReference(f"{text}: the fragment has an empty key", ref=text)
    return Ref(text=text, scheme=scheme, path=path, query=query, fragment=fragment, kind=match.group("kind"))


def find_in_string(text: str) -> list[Ref]:
    """Every reference in one string (malformed ones raise ``BadReference``)."""
    return [_from_match(match) for match in iter_matches(text)]


def find_references(obj: Any) -> list[Ref]:
    """Every reference in a manifest, values file or any nested dict/list of strings.

    The ``data`` of a v1 Secret is base64: references inside the decoded text count too. The
    result is in document order, with duplicates kept (callers may ``set()`` it).
    """
    if not _may_hold_references(obj):
        return []
    found: list[Ref] = []
    for text in iter_strings(obj):
        found.extend(find_in_string(text))
    return found


def _may_hold_references(obj: Any) -> bool:
    """False when one look at the object's JSON text (orjson, in C) shows it holds no reference:
    no "ref+" anywhere, and no Secret whose base64 ``data`` could hide one. Most objects hold
    none, and walking every string in Python was the largest CPU cost of rendering a cluster's
    Applications and preparing its objects (issue 15). An object that cannot be written as JSON
    (keys that are not strings, values JSON lacks) may hold one: its strings are walked."""
    try:
        encoded = orjson.dumps(obj)
    except TypeError:  # orjson.JSONEncodeError
        return True
    return b"ref+" in encoded or b'"Secret"' in encoded


def iter_strings(obj: Any) -> Iterator[str]:
    """Every string that reference resolution would look at, Secret ``data`` decoded."""
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, Mapping):
        secret_data = is_secret(obj)
        for key, value in obj.items():
            if secret_data and key == "data" and isinstance(value, Mapping):
                for item in value.values():
                    decoded = decode_secret_data(item)
                    yield decoded if decoded is not None else str(item)
            else:
                yield from iter_strings(value)
    elif isinstance(obj, list | tuple):
        for item in obj:
            yield from iter_strings(item)


def is_secret(obj: Mapping[str, Any]) -> bool:
    """A core v1 Secret (whose ``data`` is base64 and ``stringData`` plain)."""
    return obj.get("kind") == "Secret" and str(obj.get("apiVersion", "")) == "v1"


def decode_secret_data(value: Any) -> str | None:
    """The text behind a Secret ``data`` value, or None when it is not base64 of UTF-8 text."""
    if not isinstance(value, str):
        return None
    try:
        return base64.b64decode(value, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


def has_references(obj: Any) -> bool:
    """True when anything in ``obj`` (Secret data decoded) holds a reference (looked for in its
    strings only where its JSON text may hold one: ``_may_hold_references``)."""
    return _may_hold_references(obj) and any(contains_reference(text) for text in iter_strings(obj))


# --- per-cluster templating -------------------------------------------------------------------


def cluster_variables(cluster: models.Cluster | None) -> dict[str, str] | None:
    """The flat template variables of a cluster, as Argo CD's cluster generator names them."""
    if cluster is None:
        return None
    variables = {"name": cluster.name, "server": cluster.server, "project": cluster.project}
    variables.update({f"metadata.labels.{k}": v for k, v in cluster.labels.items()})
    variables.update({f"metadata.annotations.{k}": v for k, v in cluster.annotations.items()})
    return variables


def render_template(text: str, variables: Mapping[str, str] | None, *, cluster: str | None = None) -> str:
    """Substitute ``{{tag}}`` in one reference's text; unknown tags are an error naming it.

    fasttemplate semantics (as Argo CD uses them): tags are flat names, surrounding spaces in a
    tag are trimmed, and an unclosed ``{{`` is an error.
    """
    if "{{" not in text:
        return text
    ref_name = _display_unparsed(text)
    if variables is None:
        raise BadReference(
            f"{ref_name}: uses a cluster template tag but no cluster was given", ref=ref_name, cluster=cluster
        )

    def substitute(match: re.Match[str]) -> str:
        tag = match.group(1).strip()
        if tag not in variables:
            known = ", ".join(sorted(v for v in variables if not v.startswith("metadata.")))
            raise BadReference(
                f"{ref_name}: unknown template tag {{{{{tag}}}}} (known: {known}, "
                "metadata.labels.<key>, metadata.annotations.<key> of the cluster)",
                ref=ref_name,
                cluster=cluster,
            )
        return variables[tag]

    rendered = TEMPLATE_TAG.sub(substitute, text)
    if "{{" in rendered:
        raise BadReference(f"{ref_name}: unclosed template tag '{{{{'", ref=ref_name, cluster=cluster)
    return rendered


def _display_unparsed(text: str) -> str:
    """Name a reference before parsing, masking credential-like query values."""
    try:
        return parse(text).display()
    except BadReference:
        return text


def resolve_template(ref: Ref, variables: Mapping[str, str] | None, *, cluster: str | None = None) -> Ref:
    """``ref`` with its cluster template tags substituted (the same ``Ref`` when it has none)."""
    if not ref.has_template:
        return ref
    return parse(render_template(ref.text, variables, cluster=cluster))
