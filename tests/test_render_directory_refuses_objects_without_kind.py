"""A plain-directory manifest without kind or apiVersion fails the render naming the file and the
document index, as Helm and Kustomize sources already do (issue 8, item 6); before, it was dropped
and the Application reported Synced and Healthy. Empty and comment-only documents, and files that
hold no manifest at all (a stray values.yaml), stay fine."""

from __future__ import annotations

from pathlib import Path

import pytest

from fleet import render
from tests.render_helpers import names, render_path

CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fine}\n"

# (id, file name, content, document index named, words of the message)
REFUSED = [
    (
        "kind-missing",
        "cm.yaml",
        "apiVersion: v1\nmetadata: {name: no-kind}\ndata: {a: b}\n",
        0,
        "kind is required",
    ),
    (
        "apiVersion-missing",
        "cm.yaml",
        "kind: ConfigMap\nmetadata: {name: no-api}\n",
        0,
        "apiVersion is required",
    ),
    (
        "both-missing-after-an-object",
        "two.yaml",
        CONFIGMAP + "---\nmetadata: {name: bare}\ndata: {a: b}\n",
        1,
        "apiVersion and kind are required",
    ),
    ("empty-kind", "cm.yaml", "apiVersion: v1\nkind: ''\nmetadata: {name: x}\n", 0, "kind is required"),
    (
        "plain-map-next-to-an-object",
        "mixed.yaml",
        CONFIGMAP + "---\nreplicas: 3\n",
        1,
        "apiVersion and kind are required",
    ),
    (
        "json-without-kind",
        "cm.json",
        '{"apiVersion": "v1", "metadata": {"name": "j"}}',
        0,
        "kind is required",
    ),
    (
        "list-item-without-kind",
        "list.yaml",
        "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  metadata: {name: item}\n",
        0,
        "item 0 of the List is not a Kubernetes object (kind is required)",
    ),
    (
        "list-item-not-a-map",
        "list.yaml",
        "apiVersion: v1\nkind: List\nitems: [just-a-string]\n",
        0,
        "item 0 of the List",
    ),
]


@pytest.mark.parametrize(
    ("case", "file", "content", "document", "words"), REFUSED, ids=[c[0] for c in REFUSED]
)
def test_a_document_without_kind_or_apiversion_fails_naming_file_and_document(
    tmp_path: Path, case: str, file: str, content: str, document: int, words: str
) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "ok.yaml").write_text(CONFIGMAP.replace("fine", "other"))
    (tmp_path / "app" / file).write_text(content)
    with pytest.raises(render.RenderError) as caught:
        render_path({"path": "app"}, source_dir=tmp_path)
    assert caught.value.file == f"app/{file}"
    assert caught.value.document == document
    assert f"document {document}" in str(caught.value) and words in str(caught.value)


ACCEPTED = [
    ("empty-documents", "---\n---\n" + CONFIGMAP + "---\n"),
    ("comment-only-documents", "# a comment\n---\n" + CONFIGMAP + "---\n# trailing comment only\n"),
    ("only-comments", "# nothing here yet\n"),
]


@pytest.mark.parametrize(("case", "content"), ACCEPTED, ids=[c[0] for c in ACCEPTED])
def test_empty_and_comment_only_documents_stay_fine(tmp_path: Path, case: str, content: str) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "cm.yaml").write_text(content)
    expected = [] if case == "only-comments" else ["ConfigMap/fine"]
    assert names(render_path({"path": "app"}, source_dir=tmp_path)) == expected


def test_a_file_that_holds_no_manifest_is_still_ignored_as_in_argo_cd(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "values.yaml").write_text("replicaCount: 3\nimage: {tag: v1}\n")
    (tmp_path / "app" / "package.json").write_text('{"name": "tooling", "private": true}')
    (tmp_path / "app" / "cm.yaml").write_text(CONFIGMAP)
    assert names(render_path({"path": "app"}, source_dir=tmp_path)) == ["ConfigMap/fine"]


def test_the_application_fails_with_render_failed_and_nothing_is_applied(make_fleet) -> None:
    env = make_fleet("basic", clusters=1)
    env.write("apps/web/extra.yaml", "apiVersion: v1\nmetadata: {name: forgotten-kind}\ndata: {a: b}\n")
    run = env.sync()
    assert run.exit_code == 1
    app = run.app("c001", "web-c001")
    assert app.reason.value == "RenderFailed"
    assert "apps/web/extra.yaml" in app.message and "document 0" in app.message
    assert env.objects("c001", "web") == []
