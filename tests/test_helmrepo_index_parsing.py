"""A repository index is read as Helm reads it: YAML or JSON, every scalar a string (version 1.10
stays "1.10"), fields fleet does not use ignored, entries without a version skipped; a page that
is no index (an HTML error page, broken YAML, no entries map) is refused, naming the index URL."""

from __future__ import annotations

import json

import pytest

from fleet.render import helmrepo

ARCHIVE = "podinfo-6.5.1.tgz"


def _entry(version: object, **extra: object) -> dict[str, object]:
    return {"name": "podinfo", "version": version, "urls": [ARCHIVE], **extra}


# (id, index.yaml text, the versions fleet sees)
READABLE = [
    ("json", json.dumps({"apiVersion": "v1", "entries": {"podinfo": [_entry("6.5.1")]}}), ["6.5.1"]),
    (
        "unquoted-number-stays-a-string",
        f"apiVersion: v1\nentries:\n  podinfo:\n  - version: 1.10\n    urls: [{ARCHIVE}]\n",
        ["1.10"],
    ),
    (
        "unused-fields-and-nesting-ignored",
        json.dumps(
            {
                "apiVersion": "v1",
                "generated": "now",
                "entries": {
                    "podinfo": [
                        _entry(
                            "6.5.1",
                            maintainers=[{"name": "a", "email": "b"}],
                            annotations={"x": {"y": ["z"]}},
                        )
                    ]
                },
                "serverInfo": {"contextPath": "/"},
            }
        ),
        ["6.5.1"],
    ),
    (
        "entries-without-version-skipped",
        json.dumps(
            {
                "apiVersion": "v1",
                "entries": {
                    "podinfo": [{"name": "podinfo", "urls": [ARCHIVE]}, _entry(""), "junk", _entry("6.5.1")]
                },
            }
        ),
        ["6.5.1"],
    ),
    ("json-number-and-null", json.dumps({"entries": {"podinfo": [_entry(7, digest=None)]}}), ["7"]),
    ("empty-entries", "apiVersion: v1\nentries:\n", []),
    ("empty-entries-json", '{"apiVersion": "v1", "entries": null}', []),
]


@pytest.mark.parametrize(("text", "versions"), [c[1:] for c in READABLE], ids=[c[0] for c in READABLE])
def test_an_index_is_read_as_helm_reads_it(text: str, versions: list[str]) -> None:
    index = helmrepo.parse_index(text.encode(), url="https://charts.example.com")
    assert [v.version for v in index.entries.get("podinfo", ())] == versions
    assert all(v.urls == (ARCHIVE,) for v in index.entries.get("podinfo", ()))


def test_a_json_index_serves_charts_end_to_end(helm_repo) -> None:
    index = helm_repo.index()
    (helm_repo.root / "index.yaml").write_text(json.dumps(index))
    assert helmrepo.ChartFetcher().fetch(helm_repo.url, "podinfo", "6.5.*").version == "6.5.1"


# (id, index.yaml text, words in the error)
UNREADABLE = [
    ("html-page", "<html><body>Not here</body></html>", "is not a Helm repository index"),
    ("broken-yaml", "entries: {podinfo: [", "is not valid YAML"),
    ("entries-not-a-map", "apiVersion: v1\nentries: [a, b]\n", "is not a Helm repository index"),
    ("no-entries", "apiVersion: v1\n", "is not a Helm repository index"),
]


@pytest.mark.parametrize(("text", "words"), [c[1:] for c in UNREADABLE], ids=[c[0] for c in UNREADABLE])
def test_a_page_that_is_no_index_is_refused_naming_its_url(helm_repo, text: str, words: str) -> None:
    (helm_repo.root / "index.yaml").write_text(text)
    with pytest.raises(helmrepo.RepoRefusedError) as caught:
        helmrepo.ChartFetcher().fetch(helm_repo.url, "podinfo", "6.5.*", app="web")
    assert words in str(caught.value) and f"{helm_repo.url}/index.yaml" in str(caught.value)
    assert "application web" in str(caught.value)
