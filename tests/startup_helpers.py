"""What a fleet command imports at start: run an entry point in a fresh interpreter and read
``sys.modules`` as it was at exit (shared by the start-up tests of `fleet --help` and `fleet generate`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path


def _probe(entry_module: str) -> str:
    return textwrap.dedent(
        f"""
        import atexit, json, sys
        out = sys.argv[1]
        atexit.register(lambda: open(out, "w").write(json.dumps(sorted(sys.modules))))
        sys.argv = ["fleet", *sys.argv[2:]]
        from {entry_module} import main
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


def run_probe(tmp_path: Path, entry_module: str, *args: str, plain: bool = False) -> tuple[str, set[str]]:
    """``fleet ARGS`` through ``entry_module.main``: its stdout and the modules it imported.
    ``plain``: without the terminal-size and colour variables (help is then the kept text)."""
    out = tmp_path / "modules.json"
    hidden = ("COLUMNS", "TERMINAL_WIDTH", "FORCE_COLOR") if plain else ()
    env = {k: v for k, v in os.environ.items() if k not in hidden}
    done = subprocess.run(
        [sys.executable, "-c", _probe(entry_module), str(out), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout, set(json.loads(out.read_text()))


def roots(modules: set[str]) -> set[str]:
    return {name.split(".")[0] for name in modules}
