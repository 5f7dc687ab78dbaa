"""Where the status store is: ``--store URL`` or ``FLEET_STORE``, else the SQLite file in the state
directory; a flag beats the environment; a password in a URL never shows."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from fleet import errors, redact
from fleet.cli import app
from fleet.store import location
from fleet.store.location import Backend

PASSWORD = "s3cr3t-store-pw"

URLS = [
    ("sqlite:///var/lib/fleet/status.db", Backend.SQLITE, "/var/lib/fleet/status.db"),
    ("sqlite:////var/lib/fleet/status.db", Backend.SQLITE, "/var/lib/fleet/status.db"),
    ("/var/lib/fleet/runs.db", Backend.SQLITE, "/var/lib/fleet/runs.db"),
    ("relative/status.db", Backend.SQLITE, "relative/status.db"),
    (
        "postgresql://fleet@db.example.com:5432/fleet",
        Backend.POSTGRESQL,
        "postgresql://fleet@db.example.com:5432/fleet",
    ),
    (
        f"postgres://fleet:{PASSWORD}@db.example.com/fleet",
        Backend.POSTGRESQL,
        "postgresql://fleet@db.example.com/fleet",
    ),
    (
        f"postgresql:///fleet?host=/run/postgresql&password={PASSWORD}",
        Backend.POSTGRESQL,
        "postgresql:///fleet?host=/run/postgresql",
    ),
]


@pytest.mark.parametrize(
    "url, backend, display",
    URLS,
    ids=[
        "sqlite-url",
        "sqlite-url-sqlalchemy-style",
        "absolute-path",
        "relative-path",
        "postgresql",
        "postgres-with-password",
        "postgresql-socket-with-password-option",
    ],
)
def test_a_store_url_names_its_backend_and_shows_no_password(url, backend, display) -> None:
    found = location.parse(url)
    assert (found.backend, found.display) == (backend, display)
    assert PASSWORD not in found.display
    if backend is Backend.POSTGRESQL:
        assert found.target == url  # libpq gets the URL as given
        assert PASSWORD not in redact.mask(url)  # and the password is masked wherever it appears


def test_an_existing_directory_means_its_status_db(tmp_path) -> None:
    assert location.parse(str(tmp_path)).target == str(tmp_path / "status.db")


@pytest.mark.parametrize(
    "url, complaint",
    [
        (f"mysql://fleet:{PASSWORD}@db/fleet", "unknown store URL scheme 'mysql'"),
        ("sqlite://host/status.db", "names a file on this machine"),
        ("sqlite://", "names no file"),
    ],
    ids=["unknown-scheme", "sqlite-with-a-host", "sqlite-without-a-path"],
)
def test_a_bad_store_url_is_bad_input_naming_the_flag_and_not_the_password(url, complaint) -> None:
    with pytest.raises(errors.InputError, match=complaint) as caught:
        location.parse(url)
    assert "--store" in str(caught.value) and PASSWORD not in str(caught.value)
    run = CliRunner().invoke(app, ["status", "--store", url])
    assert run.exit_code == 2 and complaint in run.stderr and PASSWORD not in run.stderr


@pytest.mark.parametrize(
    "store_flag, state_dir_flag, env, expected",
    [
        (None, None, {}, ".fleet/status.db"),
        (None, None, {"FLEET_STATE_DIR": "/srv/state"}, "/srv/state/status.db"),
        (None, None, {"FLEET_STORE": "sqlite:///srv/env.db", "FLEET_STATE_DIR": "/srv/state"}, "/srv/env.db"),
        (None, "/flag/state", {"FLEET_STORE": "sqlite:///srv/env.db"}, "/flag/state/status.db"),
        ("sqlite:///flag.db", "/flag/state", {"FLEET_STORE": "sqlite:///srv/env.db"}, "/flag.db"),
    ],
    ids=[
        "default",
        "state-dir-env",
        "store-env-beats-state-dir-env",
        "state-dir-flag-beats-store-env",
        "store-flag-beats-all",
    ],
)
def test_which_store_is_used(monkeypatch, store_flag, state_dir_flag, env, expected) -> None:
    for name in ("FLEET_STORE", "FLEET_STATE_DIR"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert Path(location.locate(store_flag, state_dir=state_dir_flag).target) == Path(expected)
