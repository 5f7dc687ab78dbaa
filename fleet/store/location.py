"""Where the status store lives: ``--store URL`` (or ``FLEET_STORE``), else the SQLite file in the
state directory (``--state-dir``, ``FLEET_STATE_DIR``, default ``.fleet``).

Which one wins, first given first: ``--store``, ``--state-dir``, ``FLEET_STORE``,
``FLEET_STATE_DIR``, ``.fleet/status.db``. A flag always beats the environment, so a job that
names its state directory is not redirected by a ``FLEET_STORE`` set for the whole host.

What a URL may be:

- ``sqlite:///abs/path/status.db``: the path part of the URL, as in ``file://`` URLs (SQLAlchemy's
  ``sqlite:////abs/path/status.db`` names the same file);
- a plain path: that SQLite file (an existing directory means ``DIR/status.db``);
- ``postgresql://USER[:PASSWORD]@HOST[:PORT]/DB[?options]`` (or ``postgres://``): a
  PostgreSQL database, through psycopg 3; libpq's environment (``PGPASSWORD``, ``PGPASSFILE``,
  ``PGSSLMODE``...) applies as it does to ``psql``.

A password in the URL is a secret like any other: it is registered with ``fleet.redact`` and
``Location.display`` leaves it out, so it never reaches a message, a log line or a report.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from fleet import errors, redact

DEFAULT_STATE_DIR = ".fleet"
FILE_NAME = "status.db"
STORE_ENV = "FLEET_STORE"
STATE_DIR_ENV = "FLEET_STATE_DIR"


class Backend(StrEnum):
    """The databases the status store runs on."""

    SQLITE = "sqlite"  # one file on this machine (the default): for one host, a CI cache or a volume
    POSTGRESQL = "postgresql"  # a database shared by every host that runs fleet (teams, fleet serve)


@dataclass(frozen=True)
class Location:
    """A parsed store URL.

    ``target`` is what the backend connects to (the SQLite file, or the PostgreSQL URL with its
    password); ``display`` is what messages show (the path, or the URL without its password).
    """

    backend: Backend
    target: str
    display: str

    @property
    def path(self) -> Path | None:
        """The SQLite file (None for PostgreSQL)."""
        return Path(self.target) if self.backend is Backend.SQLITE else None


def state_directory(path: str | os.PathLike[str] | None = None) -> Path:
    """The state directory: ``path``, else ``FLEET_STATE_DIR``, else ``.fleet``."""
    return Path(path or os.environ.get(STATE_DIR_ENV) or DEFAULT_STATE_DIR)


def locate(url: str | None = None, *, state_dir: str | os.PathLike[str] | None = None) -> Location:
    """The store that ``--store`` / ``--state-dir`` (and then the environment) name.

    Raises ``InputError`` (naming ``--store``) for a URL of an unknown scheme or without a path.
    """
    if url:
        return parse(url)
    if state_dir:
        return _sqlite(Path(state_dir) / FILE_NAME)
    if os.environ.get(STORE_ENV):
        return parse(os.environ[STORE_ENV], where=STORE_ENV)
    return _sqlite(state_directory() / FILE_NAME)


def parse(url: str, *, where: str = "--store") -> Location:
    """One store URL (see the module docstring)."""
    text = url.strip()
    if "://" not in text and not text.startswith("sqlite:"):
        path = Path(text).expanduser()
        return _sqlite(path / FILE_NAME if path.is_dir() else path)
    try:
        parts = urlsplit(text)
    except ValueError as exc:
        raise errors.InputError(f"is not a URL: {exc}", field=where) from None
    scheme = parts.scheme.lower()
    if scheme == "sqlite":
        if parts.netloc:
            raise errors.InputError(
                "a sqlite URL names a file on this machine: sqlite:///absolute/path.db (three slashes)",
                field=where,
            )
        if not parts.path:
            raise errors.InputError("names no file: sqlite:///absolute/path.db", field=where)
        # sqlite:///abs/path (as file:// URLs) and SQLAlchemy's sqlite:////abs/path are one file.
        return _sqlite(Path("/" + parts.path.lstrip("/")))
    if scheme in ("postgresql", "postgres"):
        return _postgresql(text)
    # Only the scheme is repeated: the rest of an unknown URL may hold a password.
    raise errors.InputError(
        f"unknown store URL scheme {scheme!r}: use sqlite:///PATH, a file path, or postgresql://HOST/DB",
        field=where,
    )


def _sqlite(path: Path) -> Location:
    return Location(Backend.SQLITE, str(path), str(path))


def _postgresql(text: str) -> Location:
    split = urlsplit(text)
    query = parse_qsl(split.query, keep_blank_values=True)
    for key, value in query:
        if key == "password":
            redact.register(value)
    if split.password:
        redact.register(split.password)
    host = split.hostname or ""
    if ":" in host:  # an IPv6 address goes back into brackets
        host = f"[{host}]"
    netloc = (
        (f"{split.username}@" if split.username else "") + host + (f":{split.port}" if split.port else "")
    )
    shown = "&".join(part for part in split.query.split("&") if part and not part.startswith("password="))
    display = f"postgresql://{netloc}{split.path}" + (f"?{shown}" if shown else "")
    return Location(Backend.POSTGRESQL, text, display)


__all__ = ["DEFAULT_STATE_DIR", "FILE_NAME", "Backend", "Location", "locate", "parse", "state_directory"]
