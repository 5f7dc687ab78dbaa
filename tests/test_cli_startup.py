"""`fleet --help` and `fleet generate` import only what they use.

The root of the CLI knows its commands by name and imports a command's module when that command
runs (fleet.cli.LazyGroup), so `fleet --help` loads no command module, no Kubernetes client, no
Ray and no pydantic models, and `fleet generate` loads no Kubernetes client, Ray, secret backend
or report engine. These tests check which modules a real process imported (behaviour, not time;
benchmarks/bench_startup.py measures the time).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from fleet import cli
from tests import startup_helpers


def imported_by(tmp_path: Path, *args: str) -> set[str]:
    return startup_helpers.run_probe(tmp_path, "fleet.cli", *args)[1]


roots = startup_helpers.roots
LIST_APPSET = startup_helpers.LIST_APPSET


def test_fleet_help_imports_no_command_module_and_no_heavy_library(tmp_path: Path) -> None:
    modules = imported_by(tmp_path, "--help")
    assert not roots(modules) & {"kubernetes", "ray", "pydantic", "urllib3", "jinja2", "hvac", "boto3", "git"}
    assert {m for m in modules if m.startswith("fleet.")} <= {
        "fleet.cli",
        "fleet.errors",
        "fleet.log",
        "fleet.redact",
    }


def test_fleet_generate_imports_neither_the_cluster_client_nor_ray_nor_secret_backends(
    tmp_path: Path,
) -> None:
    appset = tmp_path / "appset.yaml"
    appset.write_text(LIST_APPSET)
    modules = imported_by(tmp_path, "generate", str(appset), "-o", "json")
    assert "fleet.cli.generate" in modules
    assert not roots(modules) & {"kubernetes", "ray", "urllib3", "jinja2", "hvac", "boto3", "rich"}
    assert not {
        m
        for m in modules
        if m.startswith(("fleet.cli.sync", "fleet.secrets", "fleet.render", "fleet.driver"))
    }


@pytest.mark.parametrize("name", list(cli.COMMANDS))
def test_the_root_help_shows_each_command_with_its_own_help(name: str) -> None:
    assert cli.COMMANDS[name].help == cli.load(name).help


@pytest.mark.parametrize(
    "args", [["--help"], ["sync", "--help"], ["secrets", "sops", "--help"]], ids=" ".join
)
def test_the_lazy_root_prints_the_same_help_as_a_root_with_every_command_loaded(args: list[str]) -> None:
    import typer

    eager = typer.Typer(name="fleet", help=cli.app.info.help, no_args_is_help=True, add_completion=False)
    eager.callback()(cli._root)
    for module in dict.fromkeys(c.module for c in cli.COMMANDS.values()):
        __import__(module, fromlist=["register"]).register(eager)
    runner = CliRunner()
    lazy_out = runner.invoke(cli.app, args, env={"COLUMNS": "100"}).output
    assert lazy_out == runner.invoke(eager, args, env={"COLUMNS": "100"}).output
    assert "Usage:" in lazy_out
