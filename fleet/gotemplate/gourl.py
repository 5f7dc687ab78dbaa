"""Go's net/url parsing and printing, for Sprig's ``urlParse`` and ``urlJoin``.

Python's urllib splits URLs differently from Go (opaque URLs such as ``mailto:x``, paths
with colons, escaping of the printed path), so the few rules Sprig exposes are re-implemented.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from fleet.gotemplate.errors import FuncError

_UNRESERVED = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")


def _unescape(text: str, what: str) -> str:
    index = 0
    while True:
        index = text.find("%", index)
        if index < 0:
            break
        code = text[index + 1 : index + 3]
        if len(code) < 2 or any(c not in "0123456789abcdefABCDEF" for c in code):
            bad = text[index : index + 3]
            raise FuncError(f"unable to parse url: parse {_q(text)}: invalid URL escape {_q(bad)}")
        index += 3
    return urllib.parse.unquote(text, errors="surrogateescape")


def _q(text: str) -> str:
    from fleet.gotemplate import gofmt

    return gofmt.quote(text)


def _split_scheme(raw: str) -> tuple[str, str]:
    for index, ch in enumerate(raw):
        if ch.isascii() and ch.isalpha():
            continue
        if ch.isascii() and (ch.isdigit() or ch in "+-."):
            if index == 0:
                return "", raw
            continue
        if ch == ":":
            if index == 0:
                raise FuncError(f"unable to parse url: parse {_q(raw)}: missing protocol scheme")
            return raw[:index], raw[index + 1 :]
        return "", raw
    return "", raw


def parse(raw: str) -> dict[str, Any]:
    """url.Parse: the parts Sprig's urlParse reports (plus the user name and password)."""
    original = raw
    raw, hash_sign, fragment = raw.partition("#")
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in original):
        raise FuncError(
            f"unable to parse url: parse {_q(original)}: net/url: invalid control character in URL"
        )
    result: dict[str, Any] = {
        "scheme": "",
        "opaque": "",
        "user": None,
        "host": "",
        "path": "",
        "query": "",
        "fragment": _unescape(fragment, "fragment") if hash_sign else "",
    }
    if raw == "" and not hash_sign:
        raise FuncError('unable to parse url: parse "": empty url')
    scheme, rest = _split_scheme(raw)
    result["scheme"] = scheme.lower()
    if "?" in rest:
        rest, _, result["query"] = rest.partition("?")
    if not rest.startswith("/"):
        if scheme:
            result["opaque"] = rest
            return result
        colon = rest.find(":")
        slash = rest.find("/")
        if colon >= 0 and (slash < 0 or colon < slash):
            raise FuncError(
                f"unable to parse url: parse {_q(original)}: first path segment in URL cannot contain colon"
            )
    if (scheme or not rest.startswith("///")) and rest.startswith("//"):
        authority = rest[2:]
        slash = authority.find("/")
        if slash >= 0:
            authority, rest = authority[:slash], authority[slash:]
        else:
            rest = ""
        at = authority.rfind("@")
        if at >= 0:
            userinfo = authority[:at]
            name, separator, password = userinfo.partition(":")
            result["user"] = (_unescape(name, "user"), _unescape(password, "user") if separator else None)
            authority = authority[at + 1 :]
        result["host"] = _unescape(authority, "host")
    result["path"] = _unescape(rest, "path")
    return result


def _hostname(host: str) -> str:
    if host.startswith("["):
        end = host.find("]")
        return host[1:end] if end >= 0 else host[1:]
    colon = host.rfind(":")
    if (colon >= 0 and host[colon + 1 :].isdigit()) or host.endswith(":"):
        return host[:colon]
    return host


def _escape(text: str, allowed: str) -> str:
    out = []
    for byte in text.encode("utf-8", "surrogateescape"):
        ch = chr(byte)
        if byte < 0x80 and (ch in _UNRESERVED or ch in allowed):
            out.append(ch)
        else:
            out.append(f"%{byte:02X}")
    return "".join(out)


def _userinfo_string(name: str, password: str | None) -> str:
    text = _escape(name, "$&+,;=!'()*")
    if password is not None:
        text += ":" + _escape(password, "$&+,;=!'()*:")
    return text


def parse_to_dict(raw: str) -> dict[str, Any]:
    parts = parse(raw)
    user = parts["user"]
    return {
        "scheme": parts["scheme"],
        "host": parts["host"],
        "hostname": _hostname(parts["host"]),
        "path": parts["path"],
        "query": parts["query"],
        "opaque": parts["opaque"],
        "fragment": parts["fragment"],
        "userinfo": _userinfo_string(*user) if user is not None else "",
    }


def _get(mapping: dict[str, Any], key: str) -> str:
    if key not in mapping:
        return ""
    value = mapping[key]
    if not isinstance(value, str):
        from fleet.gotemplate import values

        raise FuncError(
            f"unable to parse {key} key, must be of type string, but {values.kind_name(value)} found"
        )
    return value


def join_dict(mapping: dict[str, Any]) -> str:
    """Sprig's urlJoin: url.URL{...}.String() from the parts urlParse produces."""
    scheme = _get(mapping, "scheme")
    host = _get(mapping, "host")
    path = _get(mapping, "path")
    query = _get(mapping, "query")
    opaque = _get(mapping, "opaque")
    fragment = _get(mapping, "fragment")
    userinfo = _get(mapping, "userinfo")
    user = None
    if userinfo:
        parsed = parse(f"proto://{userinfo}@host")
        user = parsed["user"]
    out = []
    if scheme:
        out.append(scheme + ":")
    if opaque:
        out.append(opaque)
    else:
        if scheme or host or user is not None:
            if host or path or user is not None:
                out.append("//")
            if user is not None:
                out.append(_userinfo_string(*user) + "@")
            if host:
                out.append(_escape(host, "!$&'()*+,;=:[]<>\""))
        escaped_path = _escape(path, "$&+,/:;=@!'()*")
        if escaped_path and not escaped_path.startswith("/") and host:
            out.append("/")
        if not out and ":" in escaped_path.partition("/")[0]:
            out.append("./")
        out.append(escaped_path)
    if query:
        out.append("?" + query)
    if fragment:
        out.append("#" + _escape(fragment, "$&+,/:;=@!'()*?"))
    return "".join(out)
