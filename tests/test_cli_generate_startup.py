"""`fleet generate` pays at start only for what it uses (issue 15): its help off a terminal is the
text Typer rendered once (``fleet/cli/generate_help.txt``), printed without typer, rich, pydantic
or the engine; a preview of list and cluster generators never imports GitPython. Behaviour, not
time: benchmarks/bench_startup.py measures the time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from fleet import appset, entry
from fleet.cli import generate

PROBE = textwrap.dedent(
    """
    import atexit, json, sys
    out = sys.argv[1]
    atexit.register(lambda: open(out, "w").write(json.dumps(sorted(sys.modules))))
    sys.argv = ["fleet", *sys.argv[2:]]
    from fleet.entry import main
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


def run_entry(tmp_path: Path, *args: str) -> tuple[str, set[str]]:
    out = tmp_path / "modules.json"
    clean = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "TERMINAL_WIDTH", "FORCE_COLOR")}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(out), *args], capture_output=True, text=True, timeout=120, env=clean
    )
    assert done.returncode == 0, done.stderr
    return done.stdout, set(json.loads(out.read_text()))


def roots(modules: set[str]) -> set[str]:
    return {name.split(".")[0] for name in modules}


def test_the_kept_generate_help_is_what_typer_prints() -> None:
    kept = entry.GENERATE_HELP.read_text(encoding="utf-8")
    assert kept == entry.render_help(("generate", "--help")), (
        "fleet/cli/generate_help.txt is out of date: run .venv/bin/python -m fleet.entry --write-root-help"
    )


def test_generate_help_off_a_terminal_imports_neither_typer_nor_the_engine(tmp_path: Path) -> None:
    text, modules = run_entry(tmp_path, "generate", "--help")
    assert text == entry.GENERATE_HELP.read_text(encoding="utf-8")
    assert not roots(modules) & {"typer", "rich", "click", "pydantic", "yaml", "git"}
    assert "fleet.cli" not in modules


def test_a_preview_of_a_list_generator_does_not_import_gitpython(tmp_path: Path) -> None:
    appset_file = tmp_path / "appset.yaml"
    appset_file.write_text(LIST_APPSET)
    text, modules = run_entry(tmp_path, "generate", str(appset_file), "-o", "json")
    assert json.loads(text)[0]["metadata"]["name"] == "guestbook-in-cluster"
    assert "git" not in roots(modules) and "fleet.appset" in modules


def test_the_cli_default_namespace_is_the_engines() -> None:
    assert generate.DEFAULT_NAMESPACE == appset.DEFAULT_NAMESPACE
