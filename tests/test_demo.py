"""`fleet demo` runs the whole loop with no set-up and exits 0 when it behaved as expected:
first sync, a broken cluster reported (expected), drift healed, LIST-only resync, reports written.
(The test uses the local executor to keep the suite fast; Ray is covered by the Ray sync tests.)"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fleet.cli import app

pytestmark = pytest.mark.slow


def test_demo_behaves_as_expected_and_writes_its_reports(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("FLEET_CACHE_DIR", str(tmp_path / "cache"))
    result = CliRunner().invoke(
        app, ["--log-format", "json", "demo", "--executor", "local", "--output-dir", str(tmp_path / "demo")]
    )
    assert result.exit_code == 0, result.stdout + result.stderr
    out = result.stdout
    assert "everything behaved as expected" in out
    assert "cluster c007 is EXPECTED to fail" in out
    assert out.count("[ok]") == 6 and "[FAILED]" not in out
    # Every path it prints is still there when it has exited (the work directory is not printed).
    printed = re.findall(r"(?<![\w:/.])(/[\w.-]+(?:/[\w.-]+)+)", out)
    assert printed and all(Path(p).exists() for p in printed), printed
    assert "<html" in (tmp_path / "demo" / "report.html").read_text()
    assert "ClusterUnreachable" in (tmp_path / "demo" / "report.md").read_text()
    assert (tmp_path / "demo" / "state" / "status.db").is_file()


def test_demo_refuses_too_few_clusters() -> None:
    result = CliRunner().invoke(app, ["demo", "--clusters", "30", "--executor", "local"])
    assert result.exit_code == 2 and "--clusters" in result.stderr
