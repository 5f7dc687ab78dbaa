"""targetRevision of a chart from a Helm repository picks a version as Helm and Argo CD do: an exact
listed version, else the highest version satisfying a Masterminds semver constraint, with
pre-releases only when the constraint names one; no match, an unknown chart or a constraint that
does not parse is an error naming the Application, repository, chart and targetRevision."""

from __future__ import annotations

import pytest
import yaml

from fleet import errors, render
from fleet.render import helmrepo

LISTED = ["6.4.0", "6.5.0", "6.5.1", "6.6.0-rc.1", "7.0.0", "v5.0.0", "not-a-version"]

# (id, targetRevision, expected version or None)
TABLE = [
    ("exact", "6.5.0", "6.5.0"),
    ("exact-pre-release", "6.6.0-rc.1", "6.6.0-rc.1"),
    ("exact-as-listed-with-v", "v5.0.0", "v5.0.0"),
    ("exact-without-v-matches-v-listed", "5.0.0", "v5.0.0"),
    ("patch-wildcard", "6.5.*", "6.5.1"),
    ("x-wildcard", "6.x", "6.5.1"),
    ("star-is-highest-stable", "*", "7.0.0"),
    ("empty-is-star", "", "7.0.0"),
    ("range-with-space", ">=6.4 <7", "6.5.1"),
    ("range-with-comma", ">=6.4, <6.5", "6.4.0"),
    ("hyphen-range", "6.0.0 - 6.5.0", "6.5.0"),
    ("caret", "^6.0.0", "6.5.1"),
    ("tilde", "~6.4.0", "6.4.0"),
    ("or", "5.x || 6.4.*", "6.4.0"),
    ("pre-release-ignored-without-asking", ">=6.5.1 <7", "6.5.1"),
    ("pre-release-when-the-constraint-names-one", ">=6.5.1-0 <7", "6.6.0-rc.1"),
    ("no-match", "9.*", None),
    ("no-match-exact", "6.5.9", None),
]


@pytest.mark.parametrize(("constraint", "expected"), [c[1:] for c in TABLE], ids=[c[0] for c in TABLE])
def test_target_revision_selects_the_highest_matching_version(constraint: str, expected: str | None) -> None:
    assert helmrepo.select_version(LISTED, constraint) == expected


# Through the repository: the version chosen is the one downloaded (Chart.yaml says so).
SERVED = [
    ("wildcard", "6.5.*", "6.5.1"),
    ("exact", "6.4.0", "6.4.0"),
    ("star-skips-the-release-candidate", "*", "6.5.1"),
    ("pre-release-asked-for", ">=6.6.0-0", "6.6.0-rc.1"),
]


@pytest.mark.parametrize(("constraint", "expected"), [c[1:] for c in SERVED], ids=[c[0] for c in SERVED])
def test_the_fetched_chart_is_the_selected_version(helm_repo, constraint: str, expected: str) -> None:
    fetched = helmrepo.ChartFetcher().fetch(helm_repo.url, "podinfo", constraint, app="web")
    assert fetched.version == expected
    assert yaml.safe_load((fetched.path / "Chart.yaml").read_text())["version"] == expected
    assert fetched.digest == next(
        e["digest"] for e in helm_repo.index()["entries"]["podinfo"] if e["version"] == expected
    )


# (id, chart, targetRevision, error class, words the message must contain)
FAILURES = [
    (
        "no-version-matches",
        "podinfo",
        "9.*",
        helmrepo.VersionNotFoundError,
        ["no version satisfies", "6.5.1"],
    ),
    ("unknown-chart", "nginx", "1.0.0", helmrepo.ChartNotFoundError, ["no chart of that name", "podinfo"]),
]


@pytest.mark.parametrize(
    ("chart", "constraint", "kind", "words"), [c[1:] for c in FAILURES], ids=[c[0] for c in FAILURES]
)
def test_a_chart_or_version_the_index_lacks_is_an_error_naming_everything(
    helm_repo, chart: str, constraint: str, kind: type, words: list[str]
) -> None:
    with pytest.raises(kind) as caught:
        helmrepo.ChartFetcher().fetch(helm_repo.url, chart, constraint, app="shop-c001")
    message = str(caught.value)
    for word in ["application shop-c001", helm_repo.url, repr(chart), repr(constraint), *words]:
        assert word in message
    assert isinstance(caught.value, errors.PermanentError)
    assert helm_repo.downloads() == 0


def test_a_target_revision_that_is_no_constraint_is_refused_before_any_request(helm_repo) -> None:
    with pytest.raises(render.RenderError) as caught:
        helmrepo.ChartFetcher().fetch(helm_repo.url, "podinfo", "HEAD", app="web", where="spec.sources[0]")
    assert "field spec.sources[0].targetRevision" in str(caught.value)
    assert "application web" in str(caught.value) and "'HEAD'" in str(caught.value)
    assert helm_repo.requests() == 0
