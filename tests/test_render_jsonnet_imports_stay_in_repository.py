"""Jsonnet imports (import, importstr, importbin, also from ext-var and TLA code) read only files
inside the source's repository, symlinks resolved first, and libs must be inside it too (issue 8,
item 2). Before, the evaluator had no import callback: `importstr "/etc/passwd"` or an age key
file outside the repository was deployed, and `fleet diff` printed it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyrage
import pytest

from fleet import render
from fleet.render import cache

MANIFEST = "{apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'leak'}, data: {v: %s}}"


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    """An age identity file next to (outside) the repository, as a user's SOPS key would be."""
    path = tmp_path / "keys.txt"
    path.write_text(f"# created: by the test\n{pyrage.x25519.Identity.generate()}\n")
    return path


def _repo(tmp_path: Path, files: dict[str, str | bytes]) -> Path:
    root = tmp_path / "repo"
    for rel, content in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content)
    return root


def _render(root: Path, jsonnet: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    source: dict[str, Any] = {"path": "app"}
    if jsonnet is not None:
        source["directory"] = {"jsonnet": jsonnet}
    return render.render_source(
        source, source_dir=root, app_name="leaky", namespace="ns", revision="r", cache=cache.NO_CACHE
    )


NONE: Any = lambda key: None

# (id, main.jsonnet given the key file's absolute path, jsonnet options given it, what the error names)
REFUSED = [
    ("importstr-etc-passwd", lambda key: MANIFEST % 'importstr "/etc/passwd"', NONE, "'/etc/passwd'"),
    ("importstr-absolute-key-file", lambda key: MANIFEST % f'importstr "{key}"', NONE, "keys.txt"),
    (
        "importstr-relative-escape",
        lambda key: MANIFEST % 'importstr "../../keys.txt"',
        NONE,
        "'../../keys.txt'",
    ),
    (
        "importbin-absolute-key-file",
        lambda key: MANIFEST % f'std.base64(importbin "{key}")',
        NONE,
        "keys.txt",
    ),
    ("import-as-code", lambda key: MANIFEST % 'std.toString(import "/etc/passwd")', NONE, "'/etc/passwd'"),
    (
        "ext-var-code",
        lambda key: MANIFEST % "std.extVar('x')",
        lambda key: {"extVars": [{"name": "x", "value": 'importstr "/etc/passwd"', "code": True}]},
        "'/etc/passwd'",
    ),
    (
        "tla-code",
        lambda key: "function(x) " + MANIFEST % "x",
        lambda key: {"tlas": [{"name": "x", "value": f'importstr "{key}"', "code": True}]},
        "keys.txt",
    ),
    (
        "import-through-a-lib",
        lambda key: MANIFEST % 'importstr "keys.txt"',
        lambda key: {"libs": ["lib"]},
        "'keys.txt'",
    ),
    (
        "git-config-of-a-working-tree",
        lambda key: MANIFEST % 'importstr "../.git/config"',
        NONE,
        "'../.git/config'",
    ),
]


@pytest.mark.parametrize(("case", "program", "jsonnet", "named"), REFUSED, ids=[c[0] for c in REFUSED])
def test_imports_outside_the_repository_fail_the_render_naming_file_and_import(
    tmp_path: Path, key_file: Path, case: str, program: Any, jsonnet: Any, named: str
) -> None:
    root = _repo(
        tmp_path,
        {
            "app/main.jsonnet": program(key_file),
            "lib/README": "libs",
            ".git/config": "[remote]\n\turl = https://user:token@example.com/r.git\n",
        },
    )
    if case == "import-through-a-lib":
        (root / "lib" / "keys.txt").symlink_to(key_file)
    with pytest.raises(render.RenderError) as caught:
        _render(root, jsonnet(key_file))
    message = str(caught.value)
    assert caught.value.file == "app/main.jsonnet"
    assert "outside the repository" in message and named in message
    assert "AGE-SECRET-KEY" not in message and "root:" not in message


def test_a_symlink_inside_the_repository_to_a_file_outside_is_resolved_and_refused(
    tmp_path: Path, key_file: Path
) -> None:
    root = _repo(tmp_path, {"app/main.jsonnet": MANIFEST % 'importstr "settings.txt"'})
    (root / "app" / "settings.txt").symlink_to(key_file)
    with pytest.raises(render.RenderError, match="import 'settings.txt' leads outside the repository"):
        _render(root)


@pytest.mark.parametrize(
    "lib", ["../../..", "/etc", "outside-link"], ids=["parent-dirs", "absolute", "symlink"]
)
def test_libs_outside_the_repository_are_refused_naming_the_field(tmp_path: Path, lib: str) -> None:
    root = _repo(tmp_path, {"app/main.jsonnet": MANIFEST % "'fine'"})
    (root / "outside-link").symlink_to(tmp_path)
    with pytest.raises(render.RenderError) as caught:
        _render(root, {"libs": [lib]})
    assert caught.value.field == "directory.jsonnet.libs[0]"
    assert "outside the repository" in str(caught.value)


def test_imports_inside_the_repository_still_work(tmp_path: Path) -> None:
    root = _repo(
        tmp_path,
        {
            "app/main.jsonnet": (
                "local lib = import 'labels.libsonnet';\n"
                + MANIFEST
                % "{a: importstr 'note.txt', b: lib.name, c: std.base64(importbin '../bin/blob'), "
                "d: importstr 'shared/x.txt'}"
            ),
            "app/note.txt": "hello",
            "app/shared": b"",  # replaced by a symlink below
            "lib/labels.libsonnet": "{name: 'from-lib'}",
            "bin/blob": b"\xff\x00\x01",
            "data/x.txt": "through a symlink",
        },
    )
    (root / "app" / "shared").unlink()
    (root / "app" / "shared").symlink_to(root / "data")
    (objs,) = _render(root, {"libs": ["lib"]})
    assert objs["data"]["v"] == {"a": "hello", "b": "from-lib", "c": "/wAB", "d": "through a symlink"}


def test_importstr_of_a_file_that_is_not_utf8_names_the_file(tmp_path: Path) -> None:
    root = _repo(
        tmp_path,
        {
            "app/main.jsonnet": MANIFEST % "importstr 'latin1.txt'",
            "app/latin1.txt": "caf\u00e9".encode("latin-1"),
        },
    )
    with pytest.raises(render.RenderError, match="app/latin1.txt is not UTF-8"):
        _render(root)


def test_a_jsonnet_file_that_is_not_utf8_names_the_file(tmp_path: Path) -> None:
    root = _repo(tmp_path, {"app/main.jsonnet": (MANIFEST % "'caf\u00e9'").encode("latin-1")})
    with pytest.raises(render.RenderError, match="not UTF-8") as caught:
        _render(root)
    assert caught.value.file == "app/main.jsonnet"


def test_neither_file_reaches_the_cluster_nor_the_diff(make_fleet, key_file: Path) -> None:
    env = make_fleet("tools", clusters=2)
    env.write(
        "jsonnet/dashboard/main.jsonnet",
        MANIFEST % f'{{p: importstr "/etc/passwd", k: importstr "{key_file}"}}',
    )
    secret = key_file.read_text().strip().splitlines()[-1]
    passwd_line = Path("/etc/passwd").read_text().splitlines()[0]
    diff = env.diff("--app", "jsonnet-*")
    assert diff.exit_code == 1
    assert secret not in diff.stdout + diff.stderr and passwd_line not in diff.stdout + diff.stderr
    run = env.sync("--app", "jsonnet-*")
    assert run.exit_code == 1
    for cluster in env.cluster_names:
        app = run.app(cluster, f"jsonnet-{cluster}")
        assert app.reason.value == "RenderFailed"
        assert (
            "jsonnet/dashboard/main.jsonnet" in app.message and "leads outside the repository" in app.message
        )
        assert env.names(cluster, "jsonnetted", "ConfigMap") == []
    assert secret not in run.stdout + run.stderr and passwd_line not in run.stdout + run.stderr
