"""Fleet: a multi-cluster GitOps fleet manager.

Public names are exported here once (``__all__``) and loaded lazily, so ``import fleet`` stays
cheap for the CLI and for Ray workers. Inside the package, import modules, not names.
"""

from __future__ import annotations

import importlib
from typing import Any

# name -> module that defines it; filled in as the public API grows.
_EXPORTS: dict[str, str] = {
    "FleetError": "fleet.errors",
    "ExitCode": "fleet.errors",
    "Cluster": "fleet.models",
    "Application": "fleet.argo",
    "ApplicationSet": "fleet.argo",
    "AppProject": "fleet.argo",
    "generate": "fleet.appset",
    "load_fleet": "fleet.appset",
    "expand_fleet": "fleet.appset",
    "RunRequest": "fleet.driver",
}

__all__ = sorted(_EXPORTS)  # noqa: PLE0605 - the one list of public names is _EXPORTS


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'fleet' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
