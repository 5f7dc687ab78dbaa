"""Views: one stored resource served under a second API with other field names.

A real API server serves some objects through two APIs over one storage: ``events.k8s.io/v1``
Events are core ``v1`` Events with renamed fields (``regarding`` is ``involvedObject``, ``note`` is
``message``). The simulator stores such objects once, in the storing resource's form; the HTTP
layer converts request bodies into that form (``to_storage``) and objects on their way out into
the view's form (``to_view``). A ``ResourceType`` whose ``storage`` names another resource is a
view, and ``VIEWS`` holds its conversion, keyed by the view's (group, kind).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class RenamingView:
    """A view whose conversion renames top-level fields (the rest is carried over as it is).

    ``renames`` maps storage field -> view field. Conversion also works on partial objects (a
    merge patch or an applied configuration), since it only renames the keys that are there.
    """

    api_version: str  # the view's apiVersion
    kind: str
    storage_api_version: str
    storage_kind: str
    renames: Mapping[str, str]

    def to_view(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {"apiVersion": self.api_version, "kind": self.kind}
        for key, value in obj.items():
            if key in ("apiVersion", "kind"):
                continue
            out[self.renames.get(key, key)] = value
        return out

    def to_storage(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        back = {v: k for k, v in self.renames.items()}
        out: dict[str, Any] = {}
        for key, value in obj.items():
            if key == "apiVersion":
                out[key] = self.storage_api_version
            elif key == "kind":
                out[key] = self.storage_kind
            else:
                out[back.get(key, key)] = value
        return out

    def pointer_to_storage(self, pointer: str) -> str:
        """A JSON-patch path in the view's field names, in the storage's (``/note`` -> ``/message``)."""
        back = {v: k for k, v in self.renames.items()}
        head, sep, rest = pointer.lstrip("/").partition("/")
        return "/" + back.get(head, head) + (sep + rest if sep else "")

    def field_to_storage(self, path: str) -> str:
        """A field-selector path in the view's names, in the storage's (``regarding.name``)."""
        back = {v: k for k, v in self.renames.items()}
        head, sep, rest = path.partition(".")
        return back.get(head, head) + (sep + rest if sep else "")


VIEWS: dict[tuple[str, str], RenamingView] = {}


def register(group: str, view: RenamingView) -> None:
    VIEWS[(group, view.kind)] = view


def lookup(group: str, kind: str) -> RenamingView | None:
    return VIEWS.get((group, kind))


# events.k8s.io/v1 Events are core v1 Events (the API server converts between them the same way).
register(
    "events.k8s.io",
    RenamingView(
        api_version="events.k8s.io/v1",
        kind="Event",
        storage_api_version="v1",
        storage_kind="Event",
        renames={
            "involvedObject": "regarding",
            "message": "note",
            "source": "deprecatedSource",
            "firstTimestamp": "deprecatedFirstTimestamp",
            "lastTimestamp": "deprecatedLastTimestamp",
            "count": "deprecatedCount",
            "reportingComponent": "reportingController",
        },
    ),
)
