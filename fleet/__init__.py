"""Fleet: a multi-cluster GitOps fleet manager.

Public names are exported here once (``__all__``) and loaded lazily, so ``import fleet`` stays
cheap for the CLI and for Ray workers. Inside the package, import modules, not names.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import sys
from pathlib import Path
from typing import Any


def _attach_source_secrets_folder() -> None:
    """Make ``fleet.secrets`` importable from a source checkout.

    The secret layer lives in the top-level folder ``secrets/``, which deliberately has no
    ``__init__.py``: a regular package there would shadow the standard library's ``secrets``
    for any script run from the repository root. An installed wheel carries it as
    ``fleet/secrets/`` and needs nothing here, but setuptools' editable finder only maps regular
    packages, so in a checkout we declare the namespace package ourselves.
    """
    if "fleet.secrets" in sys.modules or (Path(__file__).parent / "secrets").is_dir():
        return
    source = Path(__file__).resolve().parent.parent / "secrets"
    if not source.is_dir():
        return
    spec = importlib.machinery.ModuleSpec("fleet.secrets", None, is_package=True)
    spec.submodule_search_locations = [str(source)]
    module = importlib.util.module_from_spec(spec)
    sys.modules["fleet.secrets"] = module
    globals()["secrets"] = module  # what the import system does for a subpackage it loads


_attach_source_secrets_folder()

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
    "SyncRequest": "fleet.sync",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'fleet' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
