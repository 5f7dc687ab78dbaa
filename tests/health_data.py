"""Load health fixtures: tests/data/health/<kind>/<case>.yaml holds one live object."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

DATA = Path(__file__).parent / "data" / "health"


def load(case: str) -> dict[str, Any]:
    """``load("deployment/healthy")`` -> the object in tests/data/health/deployment/healthy.yaml."""
    return yaml.safe_load((DATA / f"{case}.yaml").read_text())
