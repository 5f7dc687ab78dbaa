"""fleet.gitsource: reading repositories at a revision through a bare cache, and repo_map directories."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from fleet import gitsource, redact
from tests.fixtures.git import GitRepo

FILES = {
    "README.md": "# fleet\n",
    "apps/web/base/deployment.yaml": "kind: Deployment\n",
    "apps/web/overlays/prod/kustomization.yaml": "resources: [../../base]\n",
    "apps/api/config.json": '{"name": "api"}\n',
    "apps/api/nested/deep/config.json": '{"name": "deep"}\n',
    "envs/config.json": '{"env": "root"}\n',
    ".github/workflows/ci.yaml": "on: push\n",
    "docs/.hidden/notes.txt": "x\n",
    "a-b/file.yaml": "x: 1\n",
}


@pytest.fixture
def origin(make_git_repo: Callable[..., GitRepo]) -> GitRepo:
    repo = make_git_repo("origin", files=FILES)
    repo.tag("v1.0.0")
    repo.tag("v1.0.0-annotated", annotated=True)
    repo.branch("feature", checkout=True)
    repo.commit("feature work", {"apps/feature-only/app.yaml": "x: 1\n"})
    repo.checkout("main")
    repo.commit("main moves on", {"apps/main-only/app.yaml": "x: 2\n"})
    return repo


REVISIONS = [
    ("HEAD is the default branch", "HEAD", "apps/main-only/app.yaml", "apps/feature-only/app.yaml"),
    ("empty revision means HEAD", "", "apps/main-only/app.yaml", "apps/feature-only/app.yaml"),
    ("a branch", "feature", "apps/feature-only/app.yaml", "apps/main-only/app.yaml"),
    ("a lightweight tag", "v1.0.0", "apps/web/base/deployment.yaml", "apps/main-only/app.yaml"),
    ("an annotated tag", "v1.0.0-annotated", "README.md", "apps/feature-only/app.yaml"),
    ("a full ref name", "refs/heads/feature", "apps/feature-only/app.yaml", "apps/main-only/app.yaml"),
]


@pytest.mark.parametrize(
    "revision, present, absent", [r[1:] for r in REVISIONS], ids=[r[0] for r in REVISIONS]
)
def test_a_repository_is_read_at_the_requested_revision(
    origin: GitRepo, repo_cache: gitsource.RepoCache, revision: str, present: str, absent: str
) -> None:
    source = repo_cache.open(origin.url, revision)
    files = source.list_files()
    assert present in files
    assert absent not in files
    assert len(source.resolve_revision()) == 40


def test_a_commit_sha_full_or_abbreviated_reads_that_commit(
    origin: GitRepo, repo_cache: gitsource.RepoCache
) -> None:
    first = origin.repo.commit("v1.0.0").hexsha
    for revision in (first, first[:10]):
        source = repo_cache.open(origin.url, revision)
        assert source.resolve_revision() == first
        assert "apps/main-only/app.yaml" not in source.list_files()


def test_files_are_read_from_the_object_database(origin: GitRepo, repo_cache: gitsource.RepoCache) -> None:
    source = repo_cache.open(origin.url, "main")
    assert source.read("apps/api/config.json") == b'{"name": "api"}\n'
    assert source.read_text("./apps/api/../api/config.json") == '{"name": "api"}\n'
    assert not (repo_cache.mirror_path(origin.url) / "apps").exists()  # a bare mirror: no checkout


def test_an_unknown_revision_is_an_error_naming_url_and_revision(
    origin: GitRepo, repo_cache: gitsource.RepoCache
) -> None:
    with pytest.raises(gitsource.RevisionNotFoundError) as caught:
        repo_cache.open(origin.url, "no-such-branch")
    assert origin.url in str(caught.value) and "'no-such-branch'" in str(caught.value)


def test_a_revision_that_looks_like_an_option_is_refused(
    origin: GitRepo, repo_cache: gitsource.RepoCache
) -> None:
    with pytest.raises(gitsource.RevisionNotFoundError, match="not a valid revision"):
        repo_cache.open(origin.url, "--upload-pack=evil")


def test_an_unreachable_repository_is_a_temporary_error_without_credentials(
    repo_cache: gitsource.RepoCache,
) -> None:
    url = "https://fleet-user:s3cr3t-token@127.0.0.1:9/org/repo.git"
    with pytest.raises(gitsource.FetchError) as caught:
        repo_cache.open(url, "main")
    message = str(caught.value)
    assert "https://127.0.0.1:9/org/repo.git" in message
    assert "s3cr3t-token" not in message and "fleet-user" not in message
    assert caught.value.retryable
    assert redact.mask("token s3cr3t-token") == "token ***"


def test_a_fresh_mirror_is_not_fetched_again_within_max_age(origin: GitRepo, tmp_path: Path) -> None:
    cache = gitsource.RepoCache(tmp_path / "cache", max_age=3600)
    before = cache.open(origin.url, "main").resolve_revision()
    origin.commit("later", {"later.txt": "x"})
    assert cache.open(origin.url, "main").resolve_revision() == before
    eager = gitsource.RepoCache(tmp_path / "cache", max_age=0)
    assert eager.open(origin.url, "main").resolve_revision() == origin.head


def test_a_cached_revision_is_used_when_the_remote_is_gone(origin: GitRepo, tmp_path: Path) -> None:
    cache = gitsource.RepoCache(tmp_path / "cache", max_age=0)
    sha = cache.open(origin.url, "main").resolve_revision()
    moved = origin.path.with_name("moved-away")
    shutil.move(origin.path, moved)
    offline = gitsource.RepoCache(tmp_path / "cache", max_age=0)
    assert offline.open(origin.url, "main").resolve_revision() == sha
    with pytest.raises(gitsource.FetchError):
        offline.open(origin.url, "never-fetched")


def test_urls_that_differ_only_in_form_share_a_cache_entry(repo_cache: gitsource.RepoCache) -> None:
    a = repo_cache.mirror_path("https://Git.Example.com/Org/Repo.git/")
    b = repo_cache.mirror_path("https://git.example.com/org/repo")
    assert a == b
    assert repo_cache.mirror_path("git@git.example.com:org/repo.git") == repo_cache.mirror_path(
        "ssh://git@git.example.com/org/repo"
    )


def test_directories_exclude_the_root_and_dot_directories_in_walk_order(
    origin: GitRepo, repo_cache: gitsource.RepoCache
) -> None:
    dirs = repo_cache.open(origin.url, "v1.0.0").list_dirs()
    assert dirs == [
        "a-b",
        "apps",
        "apps/api",
        "apps/api/nested",
        "apps/api/nested/deep",
        "apps/web",
        "apps/web/base",
        "apps/web/overlays",
        "apps/web/overlays/prod",
        "docs",
        "envs",
    ]


LEGACY_PATTERNS = [
    ("exact file", "apps/api/config.json", ["apps/api/config.json"]),
    (
        "a directory selects what is under it",
        "apps/web",
        ["apps/web/base/deployment.yaml", "apps/web/overlays/prod/kustomization.yaml"],
    ),
    ("star crosses slashes", "apps/*.json", ["apps/api/config.json", "apps/api/nested/deep/config.json"]),
    (
        "double star needs a directory between",
        "apps/**/config.json",
        ["apps/api/config.json", "apps/api/nested/deep/config.json"],
    ),
    ("p/**/c.json does not match p/c.json", "envs/**/config.json", []),
    (
        "**/c.json does not match a root file",
        "**/config.json",
        ["apps/api/config.json", "apps/api/nested/deep/config.json", "envs/config.json"],
    ),
    ("question mark", "a?b/file.yaml", ["a-b/file.yaml"]),
    (
        "character class",
        "[ae]*/config.json",
        ["apps/api/config.json", "apps/api/nested/deep/config.json", "envs/config.json"],
    ),
    ("dot-directories are listed", ".github/*", [".github/workflows/ci.yaml"]),
    ("no match", "nothing/*", []),
]


@pytest.mark.parametrize(
    "pattern, expected", [c[1:] for c in LEGACY_PATTERNS], ids=[c[0] for c in LEGACY_PATTERNS]
)
def test_file_patterns_follow_git_ls_files_pathspecs(
    origin: GitRepo, repo_cache: gitsource.RepoCache, pattern: str, expected: list[str]
) -> None:
    assert repo_cache.open(origin.url, "v1.0.0").ls_files(pattern) == expected


def test_legacy_patterns_agree_with_git_ls_files_itself(
    origin: GitRepo, repo_cache: gitsource.RepoCache
) -> None:
    origin.checkout("v1.0.0")
    source = repo_cache.open(origin.url, "v1.0.0")
    for _, pattern, _ in LEGACY_PATTERNS:
        listed = origin.repo.git.ls_files("--", pattern).split("\n")
        assert source.ls_files(pattern) == sorted(p for p in listed if p), pattern


NEW_PATTERNS = [
    ("star stays in one directory", "apps/*.json", []),
    (
        "double star spans directories",
        "apps/**/config.json",
        ["apps/api/config.json", "apps/api/nested/deep/config.json"],
    ),
    ("double star matches zero directories", "envs/**/config.json", ["envs/config.json"]),
    ("alternatives", "{envs,a-b}/*", ["a-b/file.yaml", "envs/config.json"]),
]


@pytest.mark.parametrize("pattern, expected", [c[1:] for c in NEW_PATTERNS], ids=[c[0] for c in NEW_PATTERNS])
def test_new_globbing_follows_doublestar(
    origin: GitRepo, repo_cache: gitsource.RepoCache, pattern: str, expected: list[str]
) -> None:
    assert repo_cache.open(origin.url, "v1.0.0").ls_files(pattern, new_globbing=True) == expected


DIR_PATTERNS = [
    ("star within one segment", "apps/*", "apps/web", True),
    ("star does not cross a slash", "apps/*", "apps/web/base", False),
    ("question mark", "apps/we?", "apps/web", True),
    ("class", "apps/[a-m]*", "apps/api", True),
    ("negated class", "apps/[!a]*", "apps/api", False),
    ("literal", "apps/web", "apps/web", True),
]


@pytest.mark.parametrize(
    "pattern, path, matches", [c[1:] for c in DIR_PATTERNS], ids=[c[0] for c in DIR_PATTERNS]
)
def test_directory_patterns_follow_go_path_match(pattern: str, path: str, matches: bool) -> None:
    matcher = gitsource.dir_matcher(pattern)
    assert matcher is not None and matcher(path) is matches


def test_a_malformed_directory_pattern_matches_nothing() -> None:
    assert gitsource.dir_matcher("apps/[") is None


@pytest.mark.parametrize("pattern", ["/etc/*", "../outside/*"])
def test_patterns_outside_the_repository_are_refused(
    origin: GitRepo, repo_cache: gitsource.RepoCache, pattern: str
) -> None:
    with pytest.raises(gitsource.RepoPathError, match="outside the repository"):
        repo_cache.open(origin.url, "main").ls_files(pattern)


def test_repo_map_reads_the_working_tree_with_uncommitted_changes(
    origin: GitRepo, repo_cache: gitsource.RepoCache
) -> None:
    origin.write(
        {"apps/web/base/deployment.yaml": "kind: Deployment # edited\n", "apps/new/app.yaml": "new: true\n"}
    )
    origin.write({".gitignore": "*.tmp\n", "scratch.tmp": "ignored\n"})
    origin.remove("README.md")
    cache = gitsource.RepoCache(
        repo_cache.root, repo_map={"https://git.example.com/org/fleet.git": origin.path}
    )
    source = cache.open("https://git.example.com/org/fleet", "whatever")
    assert source.resolve_revision() == gitsource.WORKTREE
    files = source.list_files()
    assert "apps/new/app.yaml" in files and "scratch.tmp" not in files and "README.md" not in files
    assert source.read("apps/web/base/deployment.yaml") == b"kind: Deployment # edited\n"
    assert "apps/new" in source.list_dirs()


def test_repo_map_reads_a_plain_directory(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    for rel, text in {"a/b/c.yaml": "x: 1\n", "top.json": "{}"}.items():
        (plain / rel).parent.mkdir(parents=True, exist_ok=True)
        (plain / rel).write_text(text)
    source = gitsource.open_repo(
        "https://example.com/x.git", "main", repo_map={"https://example.com/x.git": plain}
    )
    assert source.list_files() == ["a/b/c.yaml", "top.json"]
    assert source.list_dirs() == ["a", "a/b"]
    assert source.ls_files("a/*") == ["a/b/c.yaml"]


def test_reading_outside_a_mapped_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "repo").mkdir()
    (tmp_path / "secret.txt").write_text("no")
    source = gitsource.WorkTreeSource(tmp_path / "repo", url="x")
    with pytest.raises(gitsource.RepoPathError):
        source.read("../secret.txt")


def test_materialize_copies_a_subtree_at_a_revision(
    origin: GitRepo, repo_cache: gitsource.RepoCache, tmp_path: Path
) -> None:
    origin.commit("script", {"apps/web/run.sh": "#!/bin/sh\necho hi\n"})
    os.chmod(origin.path / "apps/web/run.sh", 0o755)
    origin.symlink("apps/web/current", "overlays/prod")
    sha = origin.commit("exec and link")
    dest = tmp_path / "out"
    assert gitsource.materialize(origin.url, "main", "apps/web", dest, cache=repo_cache) == sha
    assert (dest / "base/deployment.yaml").read_text() == "kind: Deployment\n"
    assert os.access(dest / "run.sh", os.X_OK)
    assert (dest / "current").is_symlink() and (dest / "current/kustomization.yaml").exists()
    assert not (dest / "apps").exists()


def test_materialize_refuses_a_symlink_out_of_the_repository(
    origin: GitRepo, repo_cache: gitsource.RepoCache, tmp_path: Path
) -> None:
    origin.symlink("apps/web/escape", "../../../etc")
    origin.commit("escape")
    with pytest.raises(gitsource.RepoPathError, match="points outside the repository"):
        repo_cache.materialize(origin.url, "main", "apps/web", tmp_path / "out")


def test_materialize_of_a_missing_directory_names_it(
    origin: GitRepo, repo_cache: gitsource.RepoCache, tmp_path: Path
) -> None:
    with pytest.raises(gitsource.RepoPathError, match="'apps/nope' does not exist"):
        repo_cache.materialize(origin.url, "main", "apps/nope", tmp_path / "out")


def test_materialize_from_a_mapped_working_tree(origin: GitRepo, tmp_path: Path) -> None:
    origin.write({"apps/web/base/extra.yaml": "uncommitted: true\n"})
    dest = tmp_path / "out"
    revision = gitsource.materialize(origin.url, "main", "apps/web", dest, repo_map={origin.url: origin.path})
    assert revision == gitsource.WORKTREE
    assert (dest / "base/extra.yaml").read_text() == "uncommitted: true\n"


def test_the_default_cache_lives_under_fleet_cache_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(gitsource.CACHE_ENV, str(tmp_path / "c"))
    assert gitsource.cache_root() == tmp_path / "c" / "git"
    monkeypatch.delenv(gitsource.CACHE_ENV)
    assert gitsource.cache_root() == Path.home() / ".cache" / "fleet" / "git"


def test_sources_can_be_shared_between_threads(origin: GitRepo, repo_cache: gitsource.RepoCache) -> None:
    from concurrent.futures import ThreadPoolExecutor

    source = repo_cache.open(origin.url, "main")

    def read(_: Any) -> bytes:
        return source.read("apps/api/config.json")

    with ThreadPoolExecutor(4) as pool:
        assert set(pool.map(read, range(40))) == {b'{"name": "api"}\n'}


def test_commits_of_one_repository_read_blobs_through_one_reader_from_many_threads(
    origin: GitRepo, repo_cache: gitsource.RepoCache
) -> None:
    # One `git cat-file --batch` per mirror, not per commit: a long-running process reads many.
    from concurrent.futures import ThreadPoolExecutor

    main, feature = repo_cache.open(origin.url, "main"), repo_cache.open(origin.url, "feature")
    assert isinstance(main, gitsource.TreeSource) and isinstance(feature, gitsource.TreeSource)
    assert main.objects is feature.objects

    def read(i: int) -> bytes:
        return (main if i % 2 else feature).read(
            "apps/main-only/app.yaml" if i % 2 else "apps/feature-only/app.yaml"
        )

    with ThreadPoolExecutor(4) as pool:
        assert set(pool.map(read, range(40))) == {b"x: 1\n", b"x: 2\n"}


def test_a_ref_outside_branches_and_tags_is_fetched_by_name(
    origin: GitRepo, repo_cache: gitsource.RepoCache
) -> None:
    sha = origin.commit("pull request head", {"pr.txt": "x"})
    origin.repo.git.update_ref("refs/pull/7/head", sha)
    origin.repo.git.reset("--hard", "HEAD~1")  # main no longer holds the commit
    assert repo_cache.open(origin.url, "refs/pull/7/head").resolve_revision() == sha
    assert "pr.txt" in repo_cache.open(origin.url, "refs/pull/7/head").list_files()


def test_the_cache_keeps_branches_and_tags_but_not_other_refs(
    origin: GitRepo, repo_cache: gitsource.RepoCache
) -> None:
    origin.repo.git.update_ref("refs/pull/1/head", origin.head)
    repo_cache.open(origin.url, "main")
    import git as gitpython

    refs = {r.path for r in gitpython.Repo(repo_cache.mirror_path(origin.url)).refs}
    assert "refs/heads/feature" in refs and "refs/tags/v1.0.0" in refs
    assert "refs/pull/1/head" not in refs
