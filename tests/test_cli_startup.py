"""`fleet --help` and `fleet generate` import only what they use.

The root of the CLI knows its commands by name and imports a command's module when that command
runs (fleet.cli.LazyGroup), so `fleet --help` loads no command module, no Kubernetes client, no
Ray and no pydantic models, and `fleet generate` loads no Kubernetes client, Ray, secret backend
or report engine. These tests check which modules a real process imported (behaviour, not time;
benchmarks/bench_startup.py measures the time).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fleet import cli

# Run the console script's entry point in a fresh interpreter; write sys.modules at exit.
PROBE = textwrap.dedent(
    """
    import atexit, json, sys
    out = sys.argv[1]
    atexit.register(lambda: open(out, "w").write(json.dumps(sorted(sys.modules))))
    sys.argv = ["fleet", *sys.argv[2:]]
    from fleet.cli import main
    main()
    """
)

LIST_APPSET = """\
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {name: guestbook, namespace: argocd}
spec:
  generators:
    - list:
        elements: [{cluster: in-cluster, url: https://kubernetes.default.svc}]
  template:
    metadata: {name: 'guestbook-{{cluster}}'}
    spec:
      project: default
      source: {repoURL: https://example.com/apps.git, path: guestbook}
      destination: {server: '{{url}}', namespace: guestbook}
"""


def imported_by(tmp_path: Path, *args: str) -> set[str]:
    out = tmp_path / "modules.json"
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(out), *args], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(out.read_text()))


def roots(modules: set[str]) -> set[str]:
    return {name.split(".")[0] for name in modules}


def test_fleet_help_imports_no_command_module_and_no_heavy_library(tmp_path: Path) -> None:
    modules = imported_by(tmp_path, "--help")
    assert not roots(modules) & {"kubernetes", "ray", "pydantic", "urllib3", "jinja2", "hvac", "boto3", "git"}
    assert {m for m in modules if m.startswith("fleet.")} <= {"fleet.cli", "fleet.errors", "fleet.log", "fleet.redact"}


def test_fleet_generate_imports_neither_the_cluster_client_nor_ray_nor_secret_backends(tmp_path: Path) -> None:
    appset = tmp_path / "appset.yaml"
    appset.write_text(LIST_APPSET)
    modules = imported_by(tmp_path, "generate", str(appset), "-o", "json")
    assert "fleet.cli.generate" in modules
    assert not roots(modules) & {"kubernetes", "ray", "urllib3", "jinja2", "hvac", "boto3", "rich"}
    assert not {m for m in modules if m.startswith(("fleet.cli.sync", "fleet.secrets", "fleet.render", "fleet.driver"))}


@pytest.mark.parametrize("name", list(cli.COMMANDS))
def test_the_root_help_shows_each_command_with_its_own_help(name: str) -> None:
    assert cli.COMMANDS[name].help == cli.load(name).help


@pytest.mark.parametrize("args", [["--help"], ["sync", "--help"], ["secrets", "sops", "--help"]], ids=" ".join)
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
