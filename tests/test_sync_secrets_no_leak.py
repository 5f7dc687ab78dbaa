"""No plaintext anywhere: after syncs, a rotation, a hand edit of a Secret, a diff, a dry run,
status and every report format, no secret value (nor its base64 form) appears in any log line
(debug included), any diff, any output, any report or the status store file."""

from __future__ import annotations

import base64

import pytest

from tests import secrets_sync_helpers as helpers

ROTATED = "rotated-db-password-c002-Vb61"


@pytest.fixture
def secret_fleet(make_fleet, sops_env, vault_env, moto_server):
    # sops_env first: it clears VAULT_* variables, which vault_env then sets.
    env = make_fleet("secrets", clusters=2)
    return helpers.setup(env, vault_env, moto_server)


def forms(value: str) -> list[str]:
    return [value, base64.b64encode(value.encode()).decode()]


def test_no_secret_value_appears_in_logs_diffs_reports_or_the_store(
    secret_fleet, vault_env, tmp_path
) -> None:
    env = secret_fleet.env
    texts: dict[str, str] = {}

    def record(label: str, run) -> None:
        texts[f"{label} stdout"] = run.stdout
        texts[f"{label} stderr"] = run.stderr

    verbose = ("--log-format", "json", "--verbose")
    record("first sync", env.run(*verbose, "sync", *env.args(), "-o", "json"))
    vault_env.put_secret("secret", "c002/db", {"password": ROTATED})
    env.sim.edit_object(
        "c001",
        "v1",
        "Secret",
        "shop",
        "db",
        lambda o: o["data"].update(password=base64.b64encode(b"typed-by-hand").decode()),
    )
    record("diff table", env.run(*verbose, "diff", *env.args()))
    record("diff json", env.run(*verbose, "diff", *env.args(), "-o", "json"))
    record("dry run", env.run(*verbose, "sync", *env.args("--dry-run"), "-o", "table"))
    second = env.run(*verbose, "sync", *env.args(), "-o", "json")
    record("second sync", second)
    assert second.exit_code == 0, second.stderr
    assert helpers.secret_value(env, "c002", "db", "password") == ROTATED
    diffs = [r.diff for a in second.run_result.apps() for r in a.resources if r.diff]
    assert diffs, "the rotation and the hand edit must show up as (masked) diffs"
    record("status table", env.run("status", "--state-dir", str(env.state_dir)))
    record("status json", env.run("status", "--state-dir", str(env.state_dir), "-o", "json"))
    for fmt in ("html", "markdown", "json", "metrics"):
        record(f"report {fmt}", env.run("report", "--state-dir", str(env.state_dir), "--format", fmt))
    store_file = env.state_dir / "status.db"
    texts["status store"] = store_file.read_bytes().decode("utf-8", errors="replace")

    plaintexts = [*secret_fleet.plaintexts(), ROTATED, "typed-by-hand"]  # a live value too
    empty = [label for label, text in texts.items() if label.endswith("stdout") and not text.strip()]
    assert empty == []  # every step printed something that could have leaked
    assert (
        '"level": "debug"' in texts["first sync stderr"]
        and "secret reference resolved" in texts["first sync stderr"]
    )
    assert "***" in "".join(diffs)
    leaks = [
        (label, value)
        for label, text in texts.items()
        for p in plaintexts
        for value in forms(p)
        if value in text
    ]
    assert leaks == []
