"""``--lock-wait`` and ``--lock-lease`` are durations; a bad one is bad input naming the flag,
before anything is read or registered."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from fleet.cli import app


@pytest.mark.parametrize(
    "flags, complaint",
    [
        (["--lock-wait", "soon"], "field --lock-wait: invalid duration 'soon'"),
        (["--lock-lease", "0s"], "field --lock-lease: must be above zero"),
        (["--lock-lease", "forever"], "field --lock-lease: invalid duration 'forever'"),
    ],
    ids=["wait-not-a-duration", "lease-zero", "lease-not-a-duration"],
)
def test_a_bad_lock_duration_is_bad_input_naming_the_flag(tmp_path, flags, complaint) -> None:
    run = CliRunner().invoke(
        app, ["sync", str(tmp_path), "--executor", "local", "--state-dir", str(tmp_path / "state"), *flags]
    )
    assert run.exit_code == 2 and complaint in run.stderr
    assert not (tmp_path / "state").exists()  # nothing registered, no store created
