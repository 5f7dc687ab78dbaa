"""The fleet repository at the plan's two revisions, as directories the driver reads.

Phase 1 of ``fleet plan`` (``fleet.preview.run``). The driver reads a fleet from a directory and
its sources through ``--repo-map`` directories, so each side becomes one:

- a local fleet (a directory in a git repository): ``--base`` (and ``--head`` when given) is
  resolved in that repository and its tree copied into a temporary directory by
  ``fleet.gitsource.TreeSource`` (the same copy, with the same symlink checks, as a git fleet's),
  straight from the repository's object database: nothing is written into the repository, no
  worktree is registered, no ref is fetched. Without ``--head`` the working tree is the head, as
  it is on disk (uncommitted and untracked files included);
- a git URL: both revisions are read from its mirror (``fleet.gitsource.RepoCache``); ``--head``
  defaults to the default branch.

``--repo-map`` entries that point into the fleet's repository are moved into each side's copy, and
the repository's ``origin`` URL (a URL fleet: the URL itself) is mapped to it when no entry names
it: sources in the fleet's own repository are then read at base and at head, which is what the
pull request changes. Other repositories are read as a sync reads them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import git

from fleet import errors, gitsource, redact


@dataclass(frozen=True)
class Side:
    """One side of the plan: where the driver reads the fleet, and the repo_map to read it with."""

    flag: str  # "--base" or "--head": what errors name
    revision: str  # as given; "" for the working tree
    commit: str  # the commit read; "<sha>+dirty" for a working tree with changes
    fleet: str  # the fleet directory at this revision
    repo_map: Mapping[str, str] = field(default_factory=dict)


def _bad_revision(revision: str, flag: str, where: str) -> errors.InputError:
    return errors.InputError(f"{revision!r} is no branch, tag or commit of {where}", field=flag)


def _inside(path: Path, top: Path) -> Path | None:
    """``path`` relative to ``top`` when it is inside it."""
    resolved = path.resolve()
    return resolved.relative_to(top) if resolved.is_relative_to(top) else None


def _moved_map(repo_map: Mapping[str, str], *, top: Path, dest: Path, origin: str) -> dict[str, str]:
    """The run's repo_map with every directory inside ``top`` moved to the same place in ``dest``,
    and ``origin`` (the repository's own URL) mapped to ``dest`` unless an entry names it."""
    out: dict[str, str] = {}
    for url, directory in repo_map.items():
        inner = _inside(Path(directory), top)
        out[url] = str(dest / inner) if inner is not None else directory
    mapped = {gitsource.normalize_url(url) for url in out}
    if origin and gitsource.normalize_url(origin) not in mapped:
        out[origin] = str(dest)
    return out


def _origin(repo: git.Repo) -> str:
    """The repository's ``origin`` URL without credentials ("" when it has none)."""
    url = next((remote.url for remote in repo.remotes if remote.name == "origin"), "")
    return redact.safe_url(url) if url else ""


def _working_tree_commit(repo: git.Repo) -> str:
    try:
        sha = repo.head.commit.hexsha
    except ValueError:  # an unborn branch: nothing committed yet
        return gitsource.WORKTREE
    return f"{sha}+dirty" if repo.is_dirty(untracked_files=True) else sha


def _copy_tree(repo: git.Repo, top: Path, revision: str, flag: str, dest: Path) -> str:
    """The repository's tree at ``revision`` copied into ``dest``; the commit."""
    try:
        sha = repo.commit(revision).hexsha
    except (git.BadName, git.BadObject, ValueError, git.GitCommandError) as exc:
        raise _bad_revision(revision, flag, str(top)) from exc
    try:
        gitsource.TreeSource(Path(repo.git_dir), sha, url=str(top), revision=revision).materialize("", dest)
    except gitsource.RepoError as exc:
        raise errors.InputError(redact.mask(str(exc)), field=flag) from exc
    return sha


def local_sides(
    fleet: Path, *, base: str, head: str | None, repo_map: Mapping[str, str], tmp: Path
) -> tuple[Side, Side]:
    """Base and head of a fleet directory inside a git repository (see the module docstring)."""
    try:
        repo = git.Repo(fleet, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError) as exc:
        raise errors.InputError(
            "is not inside a git repository: fleet plan reads --base from git", file=str(fleet)
        ) from exc
    with contextlib.closing(repo):
        top = Path(repo.working_tree_dir or repo.git_dir).resolve()
        inner = _inside(fleet, top) or Path(".")
        origin = _origin(repo)
        sides: list[Side] = []
        for flag, revision in (("--base", base), ("--head", head)):
            if revision is None:
                sides.append(
                    Side(
                        flag=flag,
                        revision="",
                        commit=_working_tree_commit(repo),
                        fleet=str(fleet),
                        repo_map=_moved_map(repo_map, top=top, dest=top, origin=origin),
                    )
                )
                continue
            if not revision.strip():
                raise errors.InputError("must name a branch, tag or commit", field=flag)
            dest = tmp / flag.strip("-")
            sha = _copy_tree(repo, top, revision, flag, dest)
            sides.append(
                Side(
                    flag=flag,
                    revision=revision,
                    commit=sha,
                    fleet=str(dest / inner),
                    repo_map=_moved_map(repo_map, top=top, dest=dest, origin=origin),
                )
            )
    return sides[0], sides[1]


def url_sides(
    url: str,
    *,
    base: str,
    head: str | None,
    repo_map: Mapping[str, str],
    repos: gitsource.RepoCache,
    tmp: Path,
) -> tuple[Side, Side]:
    """Base and head of a fleet given as a git URL, both read from its mirror."""
    sides: list[Side] = []
    for flag, revision in (("--base", base), ("--head", head or "HEAD")):
        if not revision.strip():
            raise errors.InputError("must name a branch, tag or commit", field=flag)
        dest = tmp / flag.strip("-")
        try:
            source = repos.open(url, revision)
            sha = source.resolve_revision()
            source.materialize("", dest)
        except gitsource.RevisionNotFoundError as exc:
            raise _bad_revision(revision, flag, redact.safe_url(url)) from exc
        except gitsource.RepoPathError as exc:
            raise errors.InputError(redact.mask(str(exc)), field=flag) from exc
        moved = dict(repo_map)
        if gitsource.normalize_url(url) not in {gitsource.normalize_url(u) for u in moved}:
            moved[url] = str(dest)
        sides.append(Side(flag=flag, revision=revision, commit=sha, fleet=str(dest), repo_map=moved))
    return sides[0], sides[1]


__all__ = ["Side", "local_sides", "url_sides"]
