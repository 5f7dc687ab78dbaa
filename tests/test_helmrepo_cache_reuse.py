"""Charts are downloaded once and kept: within a run (one ChartFetcher) the index is read once per
repository and each version fetched once, however many Applications and threads ask; a later run
(a new fetcher) reads the index again, to see new versions, but downloads nothing it already has.
The cache is keyed by repository, chart, version and digest, so a version republished with another
digest is downloaded again."""

from __future__ import annotations

import concurrent.futures

from fleet.render import helmrepo


def test_one_run_reads_the_index_once_and_downloads_each_version_once(helm_repo) -> None:
    fetcher = helmrepo.ChartFetcher()
    asks = [("6.5.*", f"web-c{i:03d}") for i in range(12)] + [("6.4.0", f"db-c{i:03d}") for i in range(12)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        got = list(pool.map(lambda a: fetcher.fetch(helm_repo.url, "podinfo", a[0], app=a[1]), asks))
    assert {g.version for g in got} == {"6.5.1", "6.4.0"}
    assert helm_repo.requests("/index.yaml") == 1
    assert helm_repo.requests("/podinfo-6.5.1.tgz") == 1
    assert helm_repo.requests("/podinfo-6.4.0.tgz") == 1
    # The same repository written with a trailing slash and an upper-case scheme is the same one.
    fetcher.fetch("HTTP" + helm_repo.url.removeprefix("http") + "/", "podinfo", "6.5.1")
    assert helm_repo.requests() == 3


def test_the_next_run_downloads_nothing_it_already_has(helm_repo) -> None:
    first = helmrepo.ChartFetcher().fetch(helm_repo.url, "podinfo", "6.5.*")
    assert first.downloaded
    helm_repo.reset_counts()
    second = helmrepo.ChartFetcher().fetch(helm_repo.url, "podinfo", "6.5.*")
    assert not second.downloaded and second.path == first.path and second.version == "6.5.1"
    assert helm_repo.requests("/index.yaml") == 1
    assert helm_repo.downloads() == 0


def test_a_version_republished_with_another_digest_is_downloaded_again(helm_repo, tmp_path) -> None:
    first = helmrepo.ChartFetcher().fetch(helm_repo.url, "podinfo", "6.5.1")
    chart = tmp_path / "chart-src" / "podinfo"
    (chart / "values.yaml").write_text("message: republished\ncolor: blue\n")
    helm_repo.publish(chart, "6.5.1")
    helm_repo.reset_counts()
    second = helmrepo.ChartFetcher().fetch(helm_repo.url, "podinfo", "6.5.1")
    assert second.downloaded and second.path != first.path
    assert "republished" in (second.path / "values.yaml").read_text()
    assert "republished" not in (first.path / "values.yaml").read_text()
    assert helm_repo.downloads() == 1


def test_the_cache_lives_under_fleet_cache_dir(helm_repo, tmp_path) -> None:
    fetched = helmrepo.ChartFetcher().fetch(helm_repo.url, "podinfo", "6.5.1")
    assert fetched.path.is_relative_to(tmp_path / "cache" / "helm" / "charts")
    other = helmrepo.ChartFetcher(cache_dir=tmp_path / "elsewhere").fetch(helm_repo.url, "podinfo", "6.5.1")
    assert other.downloaded and other.path.is_relative_to(tmp_path / "elsewhere")


def test_a_republished_version_is_rendered_again_not_served_from_the_render_cache(
    helm_repo, tmp_path
) -> None:
    from fleet import render
    from fleet.render import cache as render_cache

    source = {"repoURL": helm_repo.url, "chart": "podinfo", "targetRevision": "6.5.1"}
    renders = render_cache.MemoryCache()

    def message(chart_dir) -> str:
        (manifest,) = render.render_source(
            source, source_dir=chart_dir, app_name="web", namespace="web", revision="6.5.1", cache=renders
        )
        return manifest["data"]["message"]

    before = message(helmrepo.ChartFetcher().fetch(helm_repo.url, "podinfo", "6.5.1").path)
    chart = tmp_path / "chart-src" / "podinfo"
    (chart / "values.yaml").write_text("message: republished\ncolor: blue\n")
    helm_repo.publish(chart, "6.5.1")
    after = message(helmrepo.ChartFetcher().fetch(helm_repo.url, "podinfo", "6.5.1").path)
    assert before != "republished" and after == "republished"
