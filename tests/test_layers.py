"""The import contracts in pyproject.toml cover every module of fleet: a new top-level module
must be given a layer (import-linter checks the layers themselves in `make test`)."""

from __future__ import annotations

import re
import tomllib

from tests.conftest import REPO_ROOT


def layered_modules() -> set[str]:
    config = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    (layers,) = [c for c in config["tool"]["importlinter"]["contracts"] if c["type"] == "layers"]
    names = (name.strip() for layer in layers["layers"] for name in re.split(r"[|:]", layer))
    return {name.strip("()") for name in names if name}


def top_level_modules() -> set[str]:
    package = REPO_ROOT / "fleet"
    found = {f"fleet.{p.stem}" for p in package.glob("*.py") if p.name != "__init__.py"}
    # A folder is a package when it holds Python files (fleet/secrets has no __init__.py); a
    # __pycache__ left by an earlier import holds none.
    found |= {
        f"fleet.{p.name}"
        for p in package.iterdir()
        if p.is_dir() and p.name.isidentifier() and any(p.glob("*.py"))
    }
    return found


def test_every_top_level_module_of_fleet_has_a_layer() -> None:
    missing = top_level_modules() - layered_modules()
    assert not missing, f"give these modules a layer in pyproject.toml's import contracts: {sorted(missing)}"


def test_the_layers_name_no_module_that_is_gone() -> None:
    # fleet.web (the UI fleet serve mounts) is optional in the contract until it lands from its
    # own branch.
    gone = layered_modules() - top_level_modules() - {"fleet.web"}
    assert not gone, sorted(gone)
