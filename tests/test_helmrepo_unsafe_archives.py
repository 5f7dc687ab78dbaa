"""A chart archive that would write outside its chart directory (``..``, absolute paths, links),
holds special files, several top-level directories, no Chart.yaml, more than Helm's size limits,
or is not a gzipped tar, is refused: nothing is written outside the cache, no cache entry is
left behind, and the error says what was wrong with which chart."""

from __future__ import annotations

import tarfile

import pytest

from fleet import errors
from fleet.render import helmrepo
from tests.fixtures.helmrepo import make_archive

CHART_YAML = b"apiVersion: v2\nname: evil\nversion: 1.0.0\n"


def _link(name: str, target: str, *, hard: bool = False) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.LNKTYPE if hard else tarfile.SYMTYPE
    info.linkname = target
    return info


def _fifo(name: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.FIFOTYPE
    return info


# (id, archive, words the message must contain)
CASES = [
    (
        "parent-directory",
        make_archive([("evil/Chart.yaml", CHART_YAML), ("evil/../../escaped.txt", b"x")]),
        "a path outside the chart",
    ),
    (
        "absolute-path",
        make_archive([("evil/Chart.yaml", CHART_YAML), ("/tmp/escaped.txt", b"x")]),
        "a path outside the chart",
    ),
    (
        "symlink",
        make_archive([("evil/Chart.yaml", CHART_YAML), (_link("evil/templates", "/etc"), None)]),
        "a link",
    ),
    (
        "hard-link",
        make_archive(
            [("evil/Chart.yaml", CHART_YAML), (_link("evil/passwd", "/etc/passwd", hard=True), None)]
        ),
        "a link",
    ),
    ("fifo", make_archive([("evil/Chart.yaml", CHART_YAML), (_fifo("evil/pipe"), None)]), "a special file"),
    (
        "two-top-level-directories",
        make_archive([("evil/Chart.yaml", CHART_YAML), ("other/values.yaml", b"a: 1")]),
        "more than one top-level directory",
    ),
    ("file-at-the-top", make_archive([("Chart.yaml", CHART_YAML)]), "outside a top-level chart directory"),
    ("no-chart-yaml", make_archive([("evil/values.yaml", b"a: 1\n")]), "no Chart.yaml"),
    (
        "file-over-helm-limit",
        make_archive(
            [("evil/Chart.yaml", CHART_YAML), ("evil/big.bin", b"\0" * (helmrepo.MAX_FILE_BYTES + 1))]
        ),
        "larger than",
    ),
    ("not-an-archive", b"<html>this is not a chart</html>", "not a readable chart archive"),
]


@pytest.mark.parametrize(("data", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_an_unsafe_chart_archive_is_refused_and_nothing_is_written(
    helm_repo, tmp_path, data: bytes, words: str
) -> None:
    helm_repo.publish_archive("evil", "1.0.0", data)
    before = {p for p in tmp_path.rglob("*") if "cache" not in p.parts}
    with pytest.raises(helmrepo.UnsafeChartError) as caught:
        helmrepo.ChartFetcher().fetch(helm_repo.url, "evil", "1.0.0", app="web")
    message = str(caught.value)
    assert words in message
    assert "application web" in message and "'evil'" in message and helm_repo.url in message
    assert isinstance(caught.value, errors.PermanentError)
    assert {p for p in tmp_path.rglob("*") if "cache" not in p.parts} == before
    cache = tmp_path / "cache"
    assert not [p for p in cache.rglob("*") if p.is_file()], "a refused archive left files in the cache"
