"""Reading git repositories at a revision: what the git generator lists and the sync engine renders.

A repository URL is mirrored once into a local bare cache (``$FLEET_CACHE_DIR/git`` or
``~/.cache/fleet/git``), keyed by the normalised URL, and fetched again when it is older than
``max_age`` seconds or when a revision is not known yet. Reading never needs a working tree:
the tree of the resolved commit is listed with one ``git ls-tree`` and blobs are read from the
object database. A mirror that is there already is read and fetched with the git binary
(revisions, trees, its origin URL); GitPython is imported only to clone a mirror or read a blob
(issue 15). A ``repo_map`` entry ``{URL: local path}`` reads a local directory instead, as it is
on disk (a clone's working tree with uncommitted changes, or a plain directory), so a pull
request can be previewed offline.

Every error names the URL (without credentials) and the revision. Credentials in an http(s)
URL never reach the disk: the mirror records the URL without them, and each clone or fetch gets
them from its environment through a credential helper given as command-line configuration.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import shlex
import shutil
import stat
import subprocess
import tempfile
import threading
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit, urlunsplit

from fleet import clocks, errors, log, redact

if TYPE_CHECKING:
    # GitPython is imported where a mirror is cloned or a blob read (its import costs about 270 M
    # instructions, 0.1 s): previews of list and cluster generators, a git directories generator
    # over a mirror already there, and reading a working tree never need it (issue 15).
    import git

    # For annotations only: the driver builds the credentials and hands them in. Imported at run
    # time, repocreds (which resolves secret references through fleet.secrets, whose store reaches
    # fleet.health, which reads fleet.yaml through this module) would close an import cycle.
    from fleet import repocreds

_log = log.get_logger(__name__)

CACHE_ENV = "FLEET_CACHE_DIR"
DEFAULT_MAX_AGE = 60.0  # seconds a fetched mirror counts as fresh for branch and tag revisions
_FULL_SHA = re.compile(r"^[0-9a-f]{40}$")
_GIT_ENV = {"GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true", "GIT_SSH_COMMAND": "ssh -oBatchMode=yes"}
# Answers git's "get" with what the environment of that one git process holds (see _git_access).
_CREDENTIAL_HELPER = (
    '!f() { test "$1" = get && '
    'printf "username=%s\\npassword=%s\\n" "$FLEET_GIT_USERNAME" "$FLEET_GIT_PASSWORD"; }; f'
)
WORKTREE = "working-tree"  # the "revision" of a repo_map directory


class RepoError(errors.FleetError):
    """A repository could not be read; the message names the URL and the revision."""

    def __init__(self, message: str, *, url: str, revision: str | None = None) -> None:
        where = redact.safe_url(url) + (f" at revision {revision!r}" if revision is not None else "")
        super().__init__(f"git {where}: {message}")
        self.url = redact.safe_url(url)
        self.revision = revision

    def __reduce__(self) -> tuple[Any, ...]:
        # Exceptions pickle their args only; ours need the keywords back (Ray ships errors).
        return (_restore_error, (type(self), self.message, dict(self.__dict__)))


def _restore_error(cls: type[Exception], message: str, state: dict[str, Any]) -> Exception:
    error = cls.__new__(cls)
    Exception.__init__(error, message)
    error.__dict__.update(state)
    return error


class RevisionNotFoundError(RepoError, errors.PermanentError):
    """No branch, tag or commit of that name exists in the repository."""


class FetchError(RepoError, errors.TemporaryError):
    """Cloning or fetching failed (network, authentication, unknown repository)."""


class RepoPathError(RepoError, errors.PermanentError):
    """A path or pattern is outside the repository or does not exist in it."""


class RepoEscapeError(RepoPathError):
    """A path or a symlink leads outside the repository: bad input (exit 2), never retried.

    Fleet reads nothing outside a repository, in either mode: git mode refuses such symlinks
    when it copies a commit out, working-tree mode before anything reads the directory.
    """

    exit_code = errors.ExitCode.BAD_INPUT


class AccessError(RepoError, errors.PermanentError):
    """The repository's credentials cannot be used: a Secret needs what fleet does not support, or
    a client certificate is unusable (the message names the Secret and field, never a value)."""


def _scheme(url: str) -> str:
    """``https``, ``http``, ``ssh`` (also for scp-like ``git@host:org/repo``), ``file`` or ""."""
    if "://" not in url:
        return "ssh" if re.match(r"^[^/]+@[^:/]+:", url.strip()) else ""
    return url.split("://", 1)[0].strip().lower()


def _lookup(url: str, credentials: repocreds.RepoCredentials | None) -> repocreds.Credentials | None:
    if credentials is None or not credentials:
        return None
    try:
        return credentials.lookup(url)
    except errors.FleetError as exc:  # unsupported fields, or a reference that did not resolve
        kind = FetchError if exc.retryable else AccessError
        raise kind(redact.mask(str(exc)), url=url) from exc


@contextlib.contextmanager
def _git_access(
    url: str, credentials: repocreds.RepoCredentials | None = None
) -> Iterator[tuple[str, dict[str, str]]]:
    """The URL to hand git and the environment for one clone or fetch; files it needs (an SSH key,
    a client certificate) exist only while the ``with`` block runs.

    Given ``https://user:token@host/repo.git``, git would write the token into the mirror's
    config (on disk for good) and could pass it to a credential store the user configured. So
    git gets the URL without credentials, and the credentials travel in the environment of that
    one process, read by a helper set through ``GIT_CONFIG_*`` (git >= 2.31) after an empty
    ``credential.helper`` that switches off every configured helper. Credentials from Argo CD
    repository Secrets (``fleet.repocreds``) travel the same way: username and password through
    the helper, a bearer token as an ``http.extraHeader``, client certificates, CAs, the SSH key
    and the known hosts as files from ``_private_files`` named in ``GIT_SSL_*`` or
    ``GIT_SSH_COMMAND``. Nothing is written into the mirror's config.
    """
    scheme = _scheme(url)
    found = _lookup(url, credentials)
    env = dict(_GIT_ENV)
    config: list[tuple[str, str]] = []
    files: dict[str, str] = {}
    git_url = url
    if scheme in ("http", "https"):
        try:
            parts = urlsplit(url)
            username, password = unquote(parts.username or ""), unquote(parts.password or "")
        except ValueError:
            username = password = ""
        git_url = redact.safe_url(url)
        if not (username or password) and found is not None:
            username, password = found.username, found.password
        if username or password:
            env["FLEET_GIT_USERNAME"] = username
            env["FLEET_GIT_PASSWORD"] = password
            config += [("credential.helper", ""), ("credential.helper", _CREDENTIAL_HELPER)]
        elif found is not None and found.bearer_token:
            config.append(("http.extraHeader", f"Authorization: Bearer {found.bearer_token}"))
        if found is not None and scheme == "https":
            if found.insecure:
                env["GIT_SSL_NO_VERIFY"] = "1"
            elif found.ca_pem:
                files["ca.pem"] = found.ca_pem
            if found.tls_client_cert_data or found.tls_client_cert_key:
                if not found.has_client_cert:
                    raise AccessError(
                        f"{', '.join(found.sources)}: a TLS client certificate needs both tlsClientCertData "
                        "and tlsClientCertKey",
                        url=url,
                    )
                files["client.crt"] = found.tls_client_cert_data
                files["client.key"] = found.tls_client_cert_key
    ssh: list[str] = []
    if scheme == "ssh" and found is not None:
        ssh = ["ssh", "-oBatchMode=yes"]
        if found.ssh_private_key:
            files["id_key"] = found.ssh_private_key
        if found.insecure:
            ssh += ["-oStrictHostKeyChecking=no", "-oUserKnownHostsFile=/dev/null"]
        elif found.known_hosts:
            files["known_hosts"] = found.known_hosts
    with _private_files(files) as paths:
        # TLS files through git's GIT_SSL_* variables: they win over http.ssl* configuration and
        # over a GIT_SSL_CAINFO the caller's environment may already hold.
        if "ca.pem" in paths:
            env["GIT_SSL_CAINFO"] = paths["ca.pem"]
        if "client.crt" in paths:
            env["GIT_SSL_CERT"] = paths["client.crt"]
            env["GIT_SSL_KEY"] = paths["client.key"]
        if "id_key" in paths:
            ssh += ["-i", paths["id_key"], "-oIdentitiesOnly=yes", "-oIdentityAgent=none"]
        if "known_hosts" in paths:
            ssh += [
                "-oStrictHostKeyChecking=yes",
                f"-oUserKnownHostsFile={paths['known_hosts']}",
                "-oGlobalKnownHostsFile=/dev/null",
            ]
        if ssh:
            env["GIT_SSH_COMMAND"] = shlex.join(ssh)
        if config:
            try:
                first = int(os.environ.get("GIT_CONFIG_COUNT") or 0)  # keep the caller's own entries
            except ValueError:
                first = 0
            env["GIT_CONFIG_COUNT"] = str(first + len(config))
            for index, (key, value) in enumerate(config, start=first):
                env[f"GIT_CONFIG_KEY_{index}"] = key
                env[f"GIT_CONFIG_VALUE_{index}"] = value
        yield git_url, env


@contextlib.contextmanager
def _private_files(contents: Mapping[str, str]) -> Iterator[dict[str, str]]:
    """``{name: path}`` of files holding ``contents`` for one git or ssh call, removed when it ends.

    git and ssh read keys and certificates only from files (ssh refuses anything but a 0600 file),
    so they live in a fresh 0700 directory in /dev/shm (memory, never a disk) when there is one,
    each file 0600, and the directory is deleted as soon as the call returns.
    """
    folder = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    directory = tempfile.mkdtemp(prefix="fleet-repo-", dir=folder)  # created 0700
    try:
        paths: dict[str, str] = {}
        for name, text in contents.items():
            path = os.path.join(directory, name)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(text if text.endswith("\n") else text + "\n")
            paths[name] = path
        yield paths
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def normalize_url(url: str) -> str:
    """The cache and repo_map key of a URL: Argo CD's NormalizeGitURL (case, ``.git``, ``/``)."""
    url = url.strip()
    if "://" not in url and re.match(r"^[^/]+@[^:/]+:", url):  # scp-like ssh: git@host:org/repo
        user_host, _, path = url.partition(":")
        url = f"ssh://{user_host}/{path}"
    try:
        parts = urlsplit(url)
    except ValueError:
        return url.lower().rstrip("/").removesuffix(".git")
    path = parts.path.rstrip("/").removesuffix(".git")
    if parts.scheme in ("", "file"):
        return urlunsplit((parts.scheme, parts.netloc, path, "", ""))
    host = (parts.hostname or "").lower() + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme.lower(), host, path.lower(), "", ""))


def cache_root() -> Path:
    base = os.environ.get(CACHE_ENV)
    return Path(base) / "git" if base else Path.home() / ".cache" / "fleet" / "git"


def _check_revision(url: str, revision: str) -> None:
    if revision.startswith("-") or any(c in revision for c in "\0\n "):
        raise RevisionNotFoundError("is not a valid revision name", url=url, revision=revision)


def _clean_path(path: str, *, url: str, revision: str) -> str:
    """A repo-relative path without leading ``/`` or ``./``; ``..`` may not leave the repository."""
    text = path.strip()
    if text in ("", ".", "/"):
        return ""
    posix = PurePosixPath(text)
    if posix.is_absolute():
        raise RepoPathError(
            f"path {path!r} must be relative to the repository root", url=url, revision=revision
        )
    parts: list[str] = []
    for part in posix.parts:
        if part == "..":
            if not parts:
                raise RepoPathError(f"path {path!r} is outside the repository", url=url, revision=revision)
            parts.pop()
        elif part != ".":
            parts.append(part)
    return "/".join(parts)


# --- pattern matching ----------------------------------------------------------------------------

_POSIX_CLASSES = {
    "alnum": "a-zA-Z0-9",
    "alpha": "a-zA-Z",
    "blank": " \\t",
    "cntrl": "\\x00-\\x1f\\x7f",
    "digit": "0-9",
    "graph": "\\x21-\\x7e",
    "lower": "a-z",
    "print": "\\x20-\\x7e",
    "punct": "!-/:-@\\[-`{-~",
    "space": " \\t\\n\\r\\f\\v",
    "upper": "A-Z",
    "xdigit": "0-9A-Fa-f",
}


def _bracket(pattern: str, i: int, *, slash_ok: bool) -> tuple[str, int] | None:
    """A ``[...]`` class starting at ``pattern[i] == "["`` as a regex class, and the index after it."""
    j = i + 1
    negate = j < len(pattern) and pattern[j] in "!^"
    if negate:
        j += 1
    items: list[str] = []
    first = True
    while j < len(pattern):
        c = pattern[j]
        if c == "]" and not first:
            body = "".join(items)
            if not slash_ok:
                return (f"[^/{body}]" if negate else f"(?:(?!/)[{body}])"), j + 1
            return (f"[^{body}]" if negate else f"[{body}]"), j + 1
        first = False
        if c == "[" and pattern.startswith("[:", j):
            end = pattern.find(":]", j + 2)
            name = pattern[j + 2 : end] if end > 0 else ""
            if name in _POSIX_CLASSES:
                items.append(_POSIX_CLASSES[name])
                j = end + 2
                continue
        if c == "\\" and j + 1 < len(pattern):
            items.append(re.escape(pattern[j + 1]))
            j += 2
            continue
        if c == "-" and items and j + 1 < len(pattern) and pattern[j + 1] != "]":
            items.append("-")
            j += 1
            continue
        items.append(re.escape(c) if c not in "-" else "\\-")
        j += 1
    return None  # no closing bracket: the "[" is literal


def _wildmatch_regex(pattern: str) -> str:
    """git's wildmatch without WM_PATHNAME (the default pathspec): ``*`` and ``?`` cross ``/``."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "*":
            while i < len(pattern) and pattern[i] == "*":
                i += 1
            out.append(".*")
            continue
        if c == "?":
            out.append(".")
        elif c == "[":
            found = _bracket(pattern, i, slash_ok=True)
            if found is not None:
                out.append(found[0])
                i = found[1]
                continue
            out.append(re.escape(c))
        elif c == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)


def _doublestar_regex(pattern: str) -> str:
    """bmatcuk/doublestar: ``**`` spans directories, ``*``/``?`` stay in one, ``{a,b}`` alternatives."""
    out: list[str] = []
    i = 0
    depth = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "*":
            if pattern.startswith("**", i) and (i == 0 or pattern[i - 1] == "/"):
                end = i + 2
                if end == len(pattern):
                    out.append(".*")
                    i = end
                    continue
                if pattern[end] == "/":
                    out.append("(?:.*/)?")
                    i = end + 1
                    continue
            while i < len(pattern) and pattern[i] == "*":
                i += 1
            out.append("[^/]*")
            continue
        if c == "?":
            out.append("[^/]")
        elif c == "[":
            found = _bracket(pattern, i, slash_ok=False)
            if found is not None:
                out.append(found[0])
                i = found[1]
                continue
            out.append(re.escape(c))
        elif c == "{":
            depth += 1
            out.append("(?:")
        elif c == "," and depth:
            out.append("|")
        elif c == "}" and depth:
            depth -= 1
            out.append(")")
        elif c == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)


def pathspec_matcher(pattern: str, *, new_globbing: bool = False) -> Any:
    """A predicate over repo-relative file paths, as ``git ls-files -- PATTERN`` selects them.

    Legacy (Argo CD's default): git pathspec rules: an exact path, a leading directory, or a
    wildmatch where ``*`` crosses ``/`` (so ``p/*.yaml`` also matches ``p/x/y.yaml`` and
    ``p/**/c.json`` does not match ``p/c.json``). ``new_globbing``: doublestar globs.
    """
    if new_globbing:
        regex = re.compile(_doublestar_regex(pattern) + r"\Z", re.DOTALL)
        return lambda path: regex.match(path) is not None
    if pattern in ("", "."):
        return lambda path: True
    nowild = next((i for i, c in enumerate(pattern) if c in "*?[\\"), len(pattern))
    literal, rest = pattern[:nowild], pattern[nowild:]
    tail = re.compile(_wildmatch_regex(rest) + r"\Z", re.DOTALL) if rest else None

    def match(path: str) -> bool:
        if path == pattern:
            return True
        if path.startswith(pattern) and (pattern.endswith("/") or path[len(pattern)] == "/"):
            return True  # a leading directory
        if tail is None or not path.startswith(literal):
            return False
        return tail.match(path, len(literal)) is not None

    return match


def dir_matcher(pattern: str) -> Any:
    """Go's ``path.Match``: ``*`` and ``?`` never cross ``/``, ``[...]`` classes; None if malformed."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            found = _bracket(pattern, i, slash_ok=False)
            if found is None:
                return None  # Go: syntax error in pattern
            out.append(found[0])
            i = found[1]
            continue
        elif c == "\\":
            if i + 1 >= len(pattern):
                return None
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(c))
        i += 1
    regex = re.compile("".join(out) + r"\Z", re.DOTALL)
    return lambda path: regex.match(path) is not None


# --- sources ----------------------------------------------------------------------------------------


def _dir_sort_key(path: str) -> tuple[str, ...]:
    """Depth-first, per-directory name order: the order of Go's filepath.WalkDir."""
    return tuple(path.split("/"))


class Source:
    """A read-only view of one repository at one revision (a commit, or a directory on disk)."""

    url: str
    revision: str

    def resolve_revision(self) -> str:
        """The commit SHA read (``working-tree`` for a repo_map directory)."""
        raise NotImplementedError

    def list_files(self, patterns: list[str] | str | None = None, *, new_globbing: bool = False) -> list[str]:
        """Repo-relative file paths, sorted; with ``patterns``, those any pattern selects."""
        files = self._files()
        if patterns is None:
            return list(files)
        if isinstance(patterns, str):
            patterns = [patterns]
        matchers = [self._matcher(p, new_globbing=new_globbing) for p in patterns]
        return [f for f in files if any(m(f) for m in matchers)]

    def ls_files(self, pattern: str, *, new_globbing: bool = False) -> list[str]:
        """``git ls-files -- pattern`` (or a doublestar glob with ``new_globbing``)."""
        return self.list_files([pattern], new_globbing=new_globbing)

    def list_dirs(self) -> list[str]:
        """Every directory except the root and dot-directories (and what is under them)."""
        dirs: set[str] = set()
        for path in self._dir_candidates():
            parts = path.split("/")
            for depth in range(1, len(parts) + 1):
                if parts[depth - 1].startswith("."):
                    break
                dirs.add("/".join(parts[:depth]))
        return sorted(dirs, key=_dir_sort_key)

    def read(self, path: str) -> bytes:
        raise NotImplementedError

    def read_text(self, path: str) -> str:
        data = self.read(path)
        try:
            return data.decode()
        except UnicodeDecodeError as exc:
            raise RepoPathError(f"{path} is not UTF-8 text", url=self.url, revision=self.revision) from exc

    def exists(self, path: str) -> bool:
        clean = _clean_path(path, url=self.url, revision=self.revision)
        return clean == "" or clean in self._file_set() or clean in set(self.list_all_dirs())

    def list_all_dirs(self) -> list[str]:
        """Every directory that holds a file, dot-directories included."""
        dirs: set[str] = set()
        for path in self._files():
            parts = path.split("/")[:-1]
            for depth in range(1, len(parts) + 1):
                dirs.add("/".join(parts[:depth]))
        return sorted(dirs, key=_dir_sort_key)

    def materialize(self, path: str, dest: str | Path) -> str:
        """Copy the subtree at ``path`` ("" = whole repository) into ``dest``; returns the revision.

        Symlinks are kept when they stay inside the repository. A copy holding one that leads out
        (checked on the copy, every link resolved) is removed and refused with RepoEscapeError,
        so no reader ever finds half a checkout, or one with such a link, at ``dest``.
        """
        target = Path(dest)
        existed = target.exists()
        try:
            revision = self._copy(path, target)
            refuse_escaping_links(target, url=self.url, revision=self.revision)
        except BaseException:
            if not existed:
                shutil.rmtree(target, ignore_errors=True)
            raise
        return revision

    def describe(self) -> str:
        return f"{redact.safe_url(self.url)}@{self.revision}"

    # implementation hooks
    def _files(self) -> list[str]:
        raise NotImplementedError

    def _file_set(self) -> frozenset[str]:
        raise NotImplementedError

    def _dir_candidates(self) -> list[str]:
        return [f.rpartition("/")[0] for f in self._files() if "/" in f]

    def _copy(self, path: str, target: Path) -> str:
        raise NotImplementedError

    def _matcher(self, pattern: str, *, new_globbing: bool) -> Any:
        text = pattern.strip()
        if text.startswith("/") or ".." in PurePosixPath(text).parts:
            raise RepoPathError(
                f"pattern {pattern!r} is outside the repository", url=self.url, revision=self.revision
            )
        return pathspec_matcher(text, new_globbing=new_globbing)


class ObjectReader:
    """The blobs of one repository, through GitPython's ``git cat-file --batch`` process (one for
    the repository, kept while it is used), opened on the first read: listing trees and resolving
    revisions never import GitPython (issue 15). Every ``TreeSource`` of a repository shares its
    reader, so a long-running process keeps one such process per mirror, not one per commit."""

    def __init__(self, git_dir: str | Path) -> None:
        self.git_dir = Path(git_dir)
        self._repo: git.Repo | None = None
        self._lock = threading.Lock()  # one request at a time through the batch process

    def read(self, sha: str) -> bytes:
        """The blob ``sha`` (hex); ValueError, OSError or GitPython's errors when it cannot be read."""
        import git

        with self._lock:
            if self._repo is None:
                self._repo = git.Repo(self.git_dir)
            return bytes(self._repo.odb.stream(bytes.fromhex(sha)).read())


class TreeSource(Source):
    """A commit of a (bare) repository, read from its object database.

    Parameters:
        git_dir: the repository's git directory (a bare mirror, or a clone's ``.git``).
        sha: the commit read.
        url, revision: what errors name.
        objects: the repository's blob reader, shared with its other commits (default: its own).
    """

    def __init__(
        self, git_dir: str | Path, sha: str, *, url: str, revision: str, objects: ObjectReader | None = None
    ) -> None:
        self.git_dir = Path(git_dir)
        self.objects = objects or ObjectReader(git_dir)
        self.sha = sha
        self.url = url
        self.revision = revision
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[str, str, str]] | None = None  # path -> (mode, type, sha)
        self._file_list: list[str] = []
        self._files_frozen: frozenset[str] = frozenset()
        self._trees: list[str] = []

    def resolve_revision(self) -> str:
        return self.sha

    def _index(self) -> dict[str, tuple[str, str, str]]:
        with self._lock:
            if self._entries is None:
                try:
                    out = _run_git(self.git_dir, "ls-tree", "-r", "-t", "-z", "--full-tree", self.sha)
                except GitFailed as exc:
                    raise RepoError(
                        f"cannot list tree: {_stderr(exc)}", url=self.url, revision=self.revision
                    ) from exc
                entries: dict[str, tuple[str, str, str]] = {}
                for record in out.split(b"\0"):
                    if not record:
                        continue
                    meta, _, name = record.partition(b"\t")
                    mode, kind, sha = meta.decode().split(" ")
                    entries[name.decode("utf-8", errors="surrogateescape")] = (mode, kind, sha)
                self._entries = entries
                self._file_list = sorted(p for p, (_, kind, _) in entries.items() if kind == "blob")
                self._files_frozen = frozenset(self._file_list)
                self._trees = [p for p, (_, kind, _) in entries.items() if kind == "tree"]
            return self._entries

    def _files(self) -> list[str]:
        self._index()
        return self._file_list

    def _file_set(self) -> frozenset[str]:
        self._index()
        return self._files_frozen

    def _dir_candidates(self) -> list[str]:
        self._index()
        return self._trees

    def read(self, path: str) -> bytes:
        import git

        clean = _clean_path(path, url=self.url, revision=self.revision)
        entry = self._index().get(clean)
        if entry is None or entry[1] != "blob":
            raise RepoPathError(f"file {path!r} does not exist", url=self.url, revision=self.revision)
        try:
            return self.objects.read(entry[2])
        except (ValueError, OSError, git.GitCommandError, git.InvalidGitRepositoryError) as exc:
            raise RepoError(f"cannot read {path!r}: {exc}", url=self.url, revision=self.revision) from exc

    def _copy(self, path: str, target: Path) -> str:
        clean = _clean_path(path, url=self.url, revision=self.revision)
        entries = self._index()
        if clean and entries.get(clean, ("", "", ""))[1] != "tree":
            raise RepoPathError(f"directory {path!r} does not exist", url=self.url, revision=self.revision)
        target.mkdir(parents=True, exist_ok=True)
        prefix = f"{clean}/" if clean else ""
        for rel, (mode, kind, _sha) in sorted(entries.items()):
            if not rel.startswith(prefix):
                continue
            inner = rel[len(prefix) :]
            out = target / inner
            if kind == "tree":
                out.mkdir(parents=True, exist_ok=True)
            elif kind == "commit":
                _log.warning(
                    "submodule not materialized",
                    extra={
                        "fields": {"repo": redact.safe_url(self.url), "revision": self.revision, "path": rel}
                    },
                )
            elif mode == "120000":
                link = self.read(rel).decode()
                _check_link(rel, link, url=self.url, revision=self.revision)
                out.parent.mkdir(parents=True, exist_ok=True)
                os.symlink(link, out)
            else:
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_bytes(self.read(rel))
                if mode == "100755":
                    out.chmod(out.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        return self.sha


def _check_link(rel: str, link: str, *, url: str, revision: str) -> None:
    """Symlinks may point anywhere inside the repository, never out of it (as Argo CD checks)."""
    if os.path.isabs(link):
        raise RepoEscapeError(f"symlink {rel!r} points outside the repository", url=url, revision=revision)
    base = PurePosixPath(rel).parent
    depth = len(base.parts)
    for part in PurePosixPath(link).parts:
        depth += -1 if part == ".." else 0 if part == "." else 1
        if depth < 0:
            raise RepoEscapeError(
                f"symlink {rel!r} points outside the repository", url=url, revision=revision
            )


def escaping_links(root: Path, *, candidates: Iterable[str] | None = None) -> list[tuple[str, bool]]:
    """The symlinks under ``root`` whose target, every link on the way resolved, is outside ``root``
    or inside its ``.git`` directory: ``(repo-relative path, whether it stands for a directory)``.

    This is the check for a directory that tools read in place (a working tree) or that a commit
    was copied into: every reader (Kustomize, Helm's ``.Files.Get``, a source path, a manifest)
    follows symlinks, so none may lead out. A link-by-link check of the link texts is not enough:
    ``a -> .`` and ``b -> a/..`` each stay inside, yet ``b`` is the repository's parent.
    ``candidates`` (repo-relative paths) limits the check to those entries; by default every entry
    under ``root`` except ``.git`` is looked at. Symlinked directories are not descended into
    (their target is checked, and it is either outside, or inside and walked anyway). Sorted.
    """
    top = str(root.resolve())
    git_dir = os.path.join(top, ".git")

    def inside(path: str, base: str) -> bool:
        return path == base or path.startswith(base + os.sep)

    def escapes(path: str) -> tuple[str, bool] | None:
        real = os.path.realpath(path)
        if inside(real, top) and not inside(real, git_dir):
            return None
        return os.path.relpath(path, top).replace(os.sep, "/"), os.path.isdir(real)

    if candidates is not None:
        links = (os.path.join(top, rel) for rel in candidates)
        return sorted(found for path in links if os.path.islink(path) and (found := escapes(path)))
    # Written with os.scandir rather than os.walk: walk hides which of its entries are symlinks.
    # Strings rather than Paths in the loop: it visits every entry of the tree.
    out: list[tuple[str, bool]] = []
    pending = [top]
    while pending:
        directory = pending.pop()
        try:
            with os.scandir(directory) as listing:
                entries = list(listing)
        except OSError:
            continue  # unreadable: the tools cannot read it either
        for entry in entries:
            if entry.is_symlink():
                found = escapes(entry.path)
                if found:
                    out.append(found)
            elif entry.is_dir(follow_symlinks=False) and entry.path != git_dir:
                pending.append(entry.path)
    return sorted(out)


def refuse_escaping_links(root: Path, *, url: str, revision: str) -> None:
    """RepoEscapeError naming the first symlink under ``root`` that leads out of it."""
    escapes = escaping_links(root)
    if escapes:
        raise _escape_error(escapes[0][0], url=url, revision=revision)


def _escape_error(rel: str, *, url: str, revision: str) -> RepoEscapeError:
    # The link's target is left out: it names a place outside the repository (a key file's path).
    return RepoEscapeError(
        f"symlink {rel!r} leads outside the repository; fleet reads nothing outside it",
        url=url,
        revision=revision,
    )


class WorkTreeSource(Source):
    """A directory on disk (``repo_map``): a clone's working tree as it is, or a plain directory.

    In a git working tree the files are those git would see: tracked and untracked, minus
    ignored and deleted ones. In a plain directory, every file except under ``.git``.
    """

    def __init__(self, root: str | Path, *, url: str) -> None:
        self.root = Path(root).resolve()
        self.url = url
        self.revision = WORKTREE
        if not self.root.is_dir():
            raise RepoPathError(
                f"repo-map directory {str(root)!r} does not exist", url=url, revision=WORKTREE
            )
        self._lock = threading.Lock()
        self._file_list: list[str] | None = None
        self._files_frozen: frozenset[str] = frozenset()
        self._escapes: list[tuple[str, bool]] | None = None
        self._listed: list[str] | None = None  # what git lists in a working tree (None: plain directory)

    def resolve_revision(self) -> str:
        return WORKTREE

    def escaping_links(self) -> list[tuple[str, bool]]:
        """``escaping_links`` of this directory, found once per source (a run opens a new one).

        In a git working tree, only among the entries git sees (tracked and untracked, not
        ignored): an ignored ``.venv`` or ``node_modules`` full of links out is the machine's, not
        the repository's, and no commit of it would carry them. In a plain directory, every entry.
        """
        self._files()
        with self._lock:
            if self._escapes is None:
                self._escapes = escaping_links(self.root, candidates=self._listed)
            return self._escapes

    def checkout(self) -> Path:
        """The directory for tools to read in place, once no symlink in it leads outside it.

        The working-tree counterpart of ``TreeSource.materialize``, which refuses the same links
        (issue 8, item 4): without it, a source path, manifest, chart file or Kustomize resource
        that is a symlink out of the repository would be read and deployed.
        """
        escapes = self.escaping_links()
        if escapes:
            raise _escape_error(escapes[0][0], url=self.url, revision=self.revision)
        return self.root

    def _files(self) -> list[str]:
        with self._lock:
            if self._file_list is None:
                files = self._git_files()
                if files is None:
                    files = self._walk_files()
                self._file_list = sorted(files)
                self._files_frozen = frozenset(self._file_list)
            return self._file_list

    def _file_set(self) -> frozenset[str]:
        self._files()
        return self._files_frozen

    def _git_files(self) -> list[str] | None:
        if not (self.root / ".git").exists():
            return None
        try:
            out = subprocess.run(
                ["git", "-C", str(self.root), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                capture_output=True,
                check=True,
                timeout=120,
                env={**os.environ, **_GIT_ENV},
            ).stdout
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError):
            return None
        files = {p.decode("utf-8", errors="surrogateescape") for p in out.split(b"\0") if p}
        # --cached lists files deleted from the working tree too; they are not there to read.
        self._listed = sorted(f for f in files if os.path.lexists(self.root / f))
        return [f for f in self._listed if not (self.root / f).is_dir()]

    def _walk_files(self) -> list[str]:
        files: list[str] = []
        for dirpath, dirnames, filenames in os.walk(self.root):
            dirnames[:] = [d for d in dirnames if d != ".git"]
            rel = os.path.relpath(dirpath, self.root)
            for name in filenames:
                files.append(name if rel == "." else f"{rel.replace(os.sep, '/')}/{name}")
        return files

    def _resolve_inside(self, path: str) -> Path:
        clean = _clean_path(path, url=self.url, revision=self.revision)
        full = (self.root / clean).resolve()
        if not full.is_relative_to(self.root):
            raise RepoEscapeError(
                f"path {path!r} leads outside the repository", url=self.url, revision=self.revision
            )
        return full

    def read(self, path: str) -> bytes:
        full = self._resolve_inside(path)
        try:
            return full.read_bytes()
        except FileNotFoundError as exc:
            raise RepoPathError(
                f"file {path!r} does not exist", url=self.url, revision=self.revision
            ) from exc
        except OSError as exc:
            raise RepoError(
                f"cannot read {path!r}: {exc.strerror}", url=self.url, revision=self.revision
            ) from exc

    def _copy(self, path: str, target: Path) -> str:
        src = self._resolve_inside(path)
        if not src.is_dir():
            raise RepoPathError(f"directory {path!r} does not exist", url=self.url, revision=self.revision)
        clean = _clean_path(path, url=self.url, revision=self.revision)
        prefix = f"{clean}/" if clean else ""
        target.mkdir(parents=True, exist_ok=True)
        for rel in self._files():
            if not rel.startswith(prefix):
                continue
            source = self.root / rel
            out = target / rel[len(prefix) :]
            out.parent.mkdir(parents=True, exist_ok=True)
            if source.is_symlink():
                link = os.readlink(source)
                _check_link(rel, link, url=self.url, revision=self.revision)
                os.symlink(link, out)
            else:
                shutil.copy2(source, out)
        return WORKTREE


# --- the cache --------------------------------------------------------------------------------------


class GitFailed(Exception):
    """A git command that ``_run_git`` ran exited with a failure (its status and what it wrote to
    stderr, which may name the URL: masked before it reaches a message)."""

    def __init__(self, status: int, stderr: str) -> None:
        super().__init__(f"git exited with status {status}")
        self.status = status
        self.stderr = stderr


def _run_git(git_dir: Path, *args: str, env: Mapping[str, str] | None = None) -> bytes:
    """``git ARGS`` on the repository at ``git_dir``; its stdout (GitFailed when it fails).

    The git binary, not GitPython, for what a run does with a mirror that is there (resolve a
    revision, list a tree, read or fetch its origin): each is one git process either way, and
    importing GitPython cost every `fleet generate` about 270 M instructions (issue 15). The
    environment is GitPython's (messages in English, which ``_stderr`` reads) with ``env`` over it.
    """
    command = ["git", f"--git-dir={git_dir}", *args]
    full_env = {**os.environ, "LANGUAGE": "C", "LC_ALL": "C", **_GIT_ENV, **(env or {})}
    done = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, env=full_env, check=False)
    if done.returncode != 0:
        raise GitFailed(done.returncode, done.stderr.decode("utf-8", errors="replace"))
    return done.stdout


def _stderr(exc: git.GitCommandError | GitFailed) -> str:
    text = exc.stderr if isinstance(exc.stderr, str) else str(exc.stderr or "")
    # ssh's warning banners ("@@@ ... @@@") push the reason out of a short message: drop them, and
    # keep the end, where git and ssh say what failed ("Host key verification failed.", "fatal: ...").
    lines = [line for line in text.replace("stderr:", "").splitlines() if not line.strip().startswith("@")]
    text = " ".join(" ".join(lines).split()).strip(" '")
    masked = redact.mask(text)
    return (masked if len(masked) <= 400 else "..." + masked[-397:]) or f"exit status {exc.status}"


class RepoCache:
    """Bare mirrors of remote repositories, shared by every run on this machine.

    Parameters:
        root: the cache directory (default ``$FLEET_CACHE_DIR/git`` or ``~/.cache/fleet/git``).
        max_age: seconds after which a branch or tag revision triggers a fetch (a commit SHA
            already present never does). If the fetch fails, a revision known locally is used.
        repo_map: ``{URL: local directory}`` read instead of the remote (the working tree).
        clock: how old a mirror or a resolved revision is (default: the process's clock).
        credentials: Argo CD repository Secrets, templates, known hosts and CAs
            (``fleet.repocreds``), used for each clone and fetch and kept out of the mirror.
    """

    def __init__(
        self,
        root: str | Path | None = None,
        *,
        max_age: float = DEFAULT_MAX_AGE,
        repo_map: Mapping[str, str | Path] | None = None,
        clock: clocks.Clock | None = None,
        credentials: repocreds.RepoCredentials | None = None,
    ) -> None:
        self.root = Path(root) if root is not None else cache_root()
        self.max_age = max_age
        self.clock = clock or clocks.current()
        self.credentials = credentials
        self.repo_map = {normalize_url(k): Path(v) for k, v in (repo_map or {}).items()}
        self._lock = threading.Lock()
        self._url_locks: dict[str, threading.Lock] = {}
        self._mirrors: dict[str, Path] = {}  # normalised URL -> its mirror, once opened
        self._objects: dict[str, ObjectReader] = {}  # normalised URL -> its mirror's blob reader
        self._sources: dict[tuple[str, str], Source] = {}
        self._worktrees: dict[str, WorkTreeSource] = {}
        self._resolved: dict[tuple[str, str], tuple[str, float]] = {}  # -> (sha, when resolved)

    def mapped(self, repo_map: Mapping[str, str | Path]) -> RepoCache:
        """This cache with more repo_map entries; mirrors, revisions and sources stay shared."""
        other = RepoCache.__new__(RepoCache)
        other.__dict__.update(self.__dict__)
        other.repo_map = {**self.repo_map, **{normalize_url(k): Path(v) for k, v in repo_map.items()}}
        other._worktrees = {}
        return other

    def mirror_path(self, url: str) -> Path:
        key = normalize_url(url)
        slug = re.sub(r"[^A-Za-z0-9._-]+", "-", key.split("://", 1)[-1]).strip("-.")[:80] or "repo"
        return self.root / f"{slug}-{hashlib.sha256(key.encode()).hexdigest()[:12]}.git"

    def open(self, url: str, revision: str = "HEAD") -> Source:
        """The repository ``url`` at ``revision`` (branch, tag, commit SHA, or HEAD/"" = default)."""
        revision = (revision or "HEAD").strip()
        key = normalize_url(url)
        mapped = self.repo_map.get(key)
        if mapped is not None:
            with self._lock:
                if key not in self._worktrees:
                    self._worktrees[key] = WorkTreeSource(mapped, url=url)
                return self._worktrees[key]
        _check_revision(url, revision)
        _register_credentials(url)
        with self._url_lock(key):
            cached = self._resolved.get((key, revision))
            if cached is not None and (
                _FULL_SHA.match(revision) or self.clock.monotonic() - cached[1] < self.max_age
            ):
                sha = cached[0]
            else:
                sha = self._resolve(self._repo(url), url, revision)
                self._resolved[(key, revision)] = (sha, self.clock.monotonic())
            source = self._sources.get((key, sha))
            if source is None:
                objects = self._objects.setdefault(key, ObjectReader(self._mirrors[key]))
                source = self._sources[(key, sha)] = TreeSource(
                    self._mirrors[key], sha, url=url, revision=revision, objects=objects
                )
            return source

    def resolve_revision(self, url: str, revision: str = "HEAD") -> str:
        return self.open(url, revision).resolve_revision()

    def materialize(self, url: str, revision: str, path: str, dest: str | Path) -> str:
        return self.open(url, revision).materialize(path, dest)

    @contextlib.contextmanager
    def _url_lock(self, key: str) -> Iterator[None]:
        with self._lock:
            lock = self._url_locks.setdefault(key, threading.Lock())
        with lock:
            yield

    @contextlib.contextmanager
    def _file_lock(self, path: Path) -> Iterator[None]:
        """Other processes (Ray workers, parallel CI jobs) may share the cache directory."""
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path.with_suffix(".lock"), "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _repo(self, url: str) -> Path:
        """The mirror of ``url`` (its git directory), cloned first if it is not there."""
        key = normalize_url(url)
        if key in self._mirrors:
            return self._mirrors[key]
        path = self.mirror_path(url)
        with self._file_lock(path):
            if not (path / "HEAD").exists():
                import git

                if path.exists():
                    shutil.rmtree(path)  # a clone that died half-way
                _log.info(
                    "cloning repository", extra={"fields": {"repo": redact.safe_url(url), "cache": str(path)}}
                )
                try:
                    with _git_access(url, self.credentials) as (git_url, env):
                        cloned = git.Repo.clone_from(git_url, path, bare=True, env=env)
                    # A bare clone records no fetch refspec; branches and tags are all we keep
                    # (not --mirror, which would also copy every pull-request ref of a forge).
                    with cloned.config_writer() as config:
                        config.set_value('remote "origin"', "fetch", "+refs/heads/*:refs/heads/*")
                except git.GitCommandError as exc:
                    shutil.rmtree(path, ignore_errors=True)
                    raise FetchError(f"clone failed: {_stderr(exc)}", url=url) from exc
                _touch(path)
        recorded = _origin_url(path)
        if recorded and redact.safe_url(recorded) != recorded:
            # A mirror made before credentials were kept off disk: forget them now.
            with self._file_lock(path):
                _run_git(path, "config", "remote.origin.url", redact.safe_url(recorded))
        self._mirrors[key] = path
        return path

    def _fetch(self, path: Path, url: str) -> None:
        with self._file_lock(path):
            _log.info("fetching repository", extra={"fields": {"repo": redact.safe_url(url)}})
            try:
                with _git_access(url, self.credentials) as (_, env):
                    _run_git(path, "fetch", "--prune", "--tags", "--force", "origin", env=env)
            except GitFailed as exc:
                raise FetchError(f"fetch failed: {_stderr(exc)}", url=url) from exc
            _touch(path)

    def _resolve(self, path: Path, url: str, revision: str) -> str:
        local = _rev_parse(path, revision)
        if local is not None and (
            _FULL_SHA.match(revision) or _age(path, now=self.clock.time()) < self.max_age
        ):
            return local
        try:
            self._fetch(path, url)
        except FetchError as exc:
            if local is None:
                raise
            _log.warning(
                "fetch failed, using the cached revision",
                extra={"fields": {"repo": redact.safe_url(url), "revision": revision, "error": str(exc)}},
            )
            return local
        found = _rev_parse(path, revision)
        if found is None and (_FULL_SHA.match(revision) or revision.startswith("refs/")):
            # A commit no branch holds, or a ref outside heads and tags (refs/pull/1/head):
            # ask for it by name, as Argo CD's repo server does.
            with self._file_lock(path), contextlib.suppress(GitFailed):
                target = revision if _FULL_SHA.match(revision) else f"+{revision}:{revision}"
                with _git_access(url, self.credentials) as (_, env):
                    _run_git(path, "fetch", "origin", target, env=env)
            found = _rev_parse(path, revision)
        if found is None:
            raise RevisionNotFoundError("no branch, tag or commit of that name", url=url, revision=revision)
        return found


def _rev_parse(path: Path, revision: str) -> str | None:
    """Branch first, then tag, then any commit-ish (SHA, full ref), as Argo CD's ls-remote order."""
    candidates = (
        ["HEAD"] if revision == "HEAD" else [f"refs/heads/{revision}", f"refs/tags/{revision}", revision]
    )
    for candidate in candidates:
        try:
            return (
                _run_git(path, "rev-parse", "--verify", "--quiet", f"{candidate}^{{commit}}").decode().strip()
            )
        except GitFailed:
            continue
    return None


def _origin_url(path: Path) -> str:
    try:
        return _run_git(path, "config", "--get", "remote.origin.url").decode().strip()
    except GitFailed:  # no such section or option: nothing to heal
        return ""


def _touch(path: Path) -> None:
    (path / "fleet-fetched").touch()


def _age(path: Path, *, now: float) -> float:
    """Seconds since the mirror at ``path`` was last fetched (``now``: wall-clock seconds)."""
    try:
        return now - (path / "fleet-fetched").stat().st_mtime
    except OSError:
        return float("inf")


def _register_credentials(url: str) -> None:
    try:
        parts = urlsplit(url)
    except ValueError:
        return
    if parts.password:
        redact.register(parts.password)


RepoSource = Source  # the name the generator interface uses

_default_cache: RepoCache | None = None


def default_cache() -> RepoCache:
    global _default_cache
    if _default_cache is None:
        _default_cache = RepoCache()
    return _default_cache


def open_repo(
    url: str,
    revision: str = "HEAD",
    *,
    repo_map: Mapping[str, str | Path] | None = None,
    cache: RepoCache | None = None,
) -> Source:
    """``url`` at ``revision`` through ``cache`` (default: the process-wide cache).

    A URL that ``repo_map`` maps is read from the mapped directory instead.
    """
    if repo_map:
        mapped = {normalize_url(k): v for k, v in repo_map.items()}.get(normalize_url(url))
        if mapped is not None:
            return WorkTreeSource(mapped, url=url)
    return (cache or default_cache()).open(url, revision)


def materialize(
    url: str,
    revision: str,
    path: str,
    dest: str | Path,
    *,
    repo_map: Mapping[str, str | Path] | None = None,
    cache: RepoCache | None = None,
) -> str:
    """Copy ``path`` ("" = the whole repository) of ``url`` at ``revision`` into ``dest``.

    Returns the commit SHA copied (``working-tree`` for a repo_map directory). Symlinks are
    kept when they stay inside the repository; one pointing out of it is an error.
    """
    return open_repo(url, revision, repo_map=repo_map, cache=cache).materialize(path, dest)
