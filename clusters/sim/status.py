"""Kubernetes-shaped errors: every failed request answers with a ``kind: Status`` body.

Handlers and the semantic layer raise ``ApiError``; the HTTP layer turns it into the body and
code a real API server would send, so clients (kubectl, the official Python client) report it
the way they report a real cluster's error.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from enum import StrEnum
from typing import Any


class StatusReason(StrEnum):
    """``Status.reason`` values the simulator answers with."""

    NOT_FOUND = "NotFound"  # the object, namespace or resource type does not exist
    ALREADY_EXISTS = "AlreadyExists"  # create of a name that is taken
    CONFLICT = "Conflict"  # stale resourceVersion, or server-side apply field conflicts
    INVALID = "Invalid"  # the object fails validation (422)
    BAD_REQUEST = "BadRequest"  # malformed body, selector or parameter
    METHOD_NOT_ALLOWED = "MethodNotAllowed"  # verb not supported on this path
    TOO_MANY_REQUESTS = "TooManyRequests"  # throttled (fault injection)
    INTERNAL_ERROR = "InternalError"  # injected 5xx or an unexpected failure
    UNAUTHORIZED = "Unauthorized"  # missing or wrong bearer token
    FORBIDDEN = "Forbidden"  # e.g. creating in a terminating namespace
    GONE = "Expired"  # watch resourceVersion too old (410)
    UNSUPPORTED_MEDIA_TYPE = "UnsupportedMediaType"  # body encoding or patch type not supported (415)
    NOT_ACCEPTABLE = "NotAcceptable"  # no media type the client accepts can be served (406)
    SERVICE_UNAVAILABLE = "ServiceUnavailable"  # service proxy target has no handler (503)


class ApiError(Exception):
    def __init__(
        self,
        code: int,
        reason: StatusReason,
        message: str,
        *,
        details: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = dict(details or {})
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        status: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": str(self.reason),
            "code": self.code,
        }
        if self.details:
            status["details"] = self.details
        return status

    def raw(self) -> bytes:
        return json.dumps(self.body(), separators=(",", ":")).encode()


def success(details: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": dict(details),
    }


def _what(plural: str, group: str) -> str:
    return f"{plural}.{group}" if group else plural


def not_found(plural: str, group: str, name: str) -> ApiError:
    return ApiError(
        404,
        StatusReason.NOT_FOUND,
        f'{_what(plural, group)} "{name}" not found',
        details={"name": name, "group": group, "kind": plural},
    )


def already_exists(plural: str, group: str, name: str) -> ApiError:
    return ApiError(
        409,
        StatusReason.ALREADY_EXISTS,
        f'{_what(plural, group)} "{name}" already exists',
        details={"name": name, "group": group, "kind": plural},
    )


def conflict(plural: str, group: str, name: str, why: str) -> ApiError:
    return ApiError(
        409,
        StatusReason.CONFLICT,
        f'Operation cannot be fulfilled on {_what(plural, group)} "{name}": {why}',
        details={"name": name, "group": group, "kind": plural},
    )


def invalid(kind: str, group: str, name: str, causes: list[tuple[str, str]]) -> ApiError:
    """422 with one cause per (field, message)."""
    text = "; ".join(f"{field}: {msg}" for field, msg in causes)
    qualified = f"{kind}.{group}" if group else kind
    return ApiError(
        422,
        StatusReason.INVALID,
        f'{qualified} "{name}" is invalid: {text}',
        details={
            "name": name,
            "group": group,
            "kind": kind,
            "causes": [
                {"reason": "FieldValueInvalid", "message": msg, "field": field} for field, msg in causes
            ],
        },
    )


def bad_request(message: str) -> ApiError:
    return ApiError(400, StatusReason.BAD_REQUEST, message)


def method_not_allowed(
    message: str = "the server does not allow this method on the requested resource",
) -> ApiError:
    return ApiError(405, StatusReason.METHOD_NOT_ALLOWED, message)


def flag(value: str | None) -> bool:
    """A boolean query parameter as the API server parses it (Go's strconv.ParseBool)."""
    return value in ("1", "t", "T", "true", "TRUE", "True")
