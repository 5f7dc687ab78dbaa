"""Every local path a kustomization names (resources, components, patches, generator files, ...)
stays inside the source's repository, through bases and components too. Kustomize's own load
restrictor keeps files under their kustomization but lets a base be any directory, so
`resources: [../../outside]` built a kustomization from outside the repository."""

from __future__ import annotations

from pathlib import Path

import pytest

from fleet import render
from fleet.render import cache, kustomize

OUTSIDE_CM = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: leak}\ndata: {from: outside}\n"
INSIDE_CM = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fine}\n"

# (id, the app's kustomization, a base's kustomization (or None), the field named)
REFUSED = [
    ("resource-directory-outside", "resources: [../../outside]\n", None, "resources '../../outside'"),
    ("component-outside", "resources: [cm.yaml]\ncomponents: [../../outside]\n", None, "components"),
    ("outside-through-a-base", "resources: [../base]\n", "resources: [../../outside]\n", "resources"),
    (
        "patch-file-outside",
        "resources: [cm.yaml]\npatches:\n- path: ../../outside/cm.yaml\n",
        None,
        "patches.path",
    ),
    (
        "generator-file-outside",
        "configMapGenerator:\n- name: g\n  files: [key=../../outside/cm.yaml]\n",
        None,
        "configMapGenerator.files",
    ),
    ("absolute-resource", "resources: [/etc]\n", None, "resources '/etc'"),
]


def _repo(tmp_path: Path, app: str, base: str | None) -> Path:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "kustomization.yaml").write_text("resources: [cm.yaml]\n")
    (outside / "cm.yaml").write_text(OUTSIDE_CM)
    root = tmp_path / "repo"
    (root / "app").mkdir(parents=True)
    (root / "app" / "kustomization.yaml").write_text(app)
    (root / "app" / "cm.yaml").write_text(INSIDE_CM)
    if base is not None:
        (root / "base").mkdir()
        (root / "base" / "kustomization.yaml").write_text(base)
    return root


def _render(root: Path) -> list[dict]:
    return render.render_source(
        {"path": "app"}, source_dir=root, app_name="k", namespace="ns", revision="r", cache=cache.NO_CACHE
    )


@pytest.mark.parametrize(("case", "app", "base", "named"), REFUSED, ids=[c[0] for c in REFUSED])
def test_a_kustomization_path_outside_the_repository_fails_the_render(
    tmp_path: Path, case: str, app: str, base: str | None, named: str
) -> None:
    root = _repo(tmp_path, app, base)
    with pytest.raises(render.RenderError, match="leads outside the repository") as caught:
        _render(root)
    assert named in str(caught.value)
    assert caught.value.file == ("base/kustomization.yaml" if base else "app/kustomization.yaml")


def test_bases_inside_the_repository_and_inline_patches_still_build(tmp_path: Path) -> None:
    app = (
        "resources: [../base]\npatches:\n- patch: |-\n    - op: add\n      path: /data\n      value: {a: b}\n"
        "  target: {kind: ConfigMap}\n"
    )
    root = _repo(tmp_path, app, "resources: [cm.yaml]\n")
    (root / "base" / "cm.yaml").write_text(INSIDE_CM)
    objs = _render(root)
    assert [o["metadata"]["name"] for o in objs] == ["fine"] and objs[0]["data"] == {"a": "b"}


@pytest.mark.parametrize(
    "url",
    [
        "https://github.com/org/repo//deploy?ref=v1",
        "github.com/org/repo/deploy?ref=v1",
        "git@github.com:org/repo.git//deploy",
        "git::https://example.com/repo.git",
    ],
)
def test_remote_resources_are_not_taken_for_local_paths(tmp_path: Path, url: str) -> None:
    root = _repo(tmp_path, f"resources: ['{url}']\n", None)
    src = render.source_from_argo({"path": "app"})
    ctx = render.RenderContext(
        source=src, root=root, app_dir=root / "app", app_name="k", namespace="n", revision="r"
    )
    kustomize.check_paths(ctx, [ctx.app_dir])  # no error: kustomize fetches them itself
