"""Work functions for executor tests; Ray workers import them by name like real work."""

from __future__ import annotations

import os
import time
from typing import Any


def echo(payload: Any) -> Any:
    return {"payload": payload, "pid": os.getpid()}


def behave(payload: dict[str, Any]) -> dict[str, Any]:
    """Sleep, fail, hang or kill the worker process, as the payload says."""
    action = payload.get("action", "ok")
    started = time.monotonic()
    if action == "sleep":
        time.sleep(payload["seconds"])
    elif action == "raise":
        raise RuntimeError(f"cluster {payload['name']} exploded")
    elif action == "hang":
        time.sleep(3600)
    elif action == "die":
        time.sleep(payload.get("after", 0))
        os._exit(17)
    return {"name": payload["name"], "pid": os.getpid(), "ran": (started, time.monotonic())}
