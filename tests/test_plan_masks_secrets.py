"""`fleet plan` never shows a secret value: a Secret whose value changes shows `*** (changed)`,
and a SOPS-encrypted Secret is diffed by its decrypted structure with every value masked (a key
added shows, a value changed shows as changed) or, with no key to decrypt it, by its keys only.
No plaintext, old or new, and no ciphertext reaches any output format or the logs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fleet.preview import compare
from fleet.secrets import sops
from tests.fixtures.sops import AGE_RECIPIENTS, SopsEnv
from tests.plan_helpers import appset, dump, run_plan, write_clusters

PLAIN = "apiVersion: v1\nkind: Secret\nmetadata: {{name: api}}\ntype: Opaque\nstringData:\n  token: {token}\n"
SOPS_SECRET = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ntype: Opaque\nstringData:\n{values}"
VALUES = (
    "plain-old-token-1234",
    "plain-new-token-5678",
    "sops-old-password-4321",
    "sops-new-password-8765",
    "sops-user-alice-77",
)


def _encrypted(values: dict[str, str]) -> bytes:
    text = SOPS_SECRET.format(values="".join(f"  {k}: {v}\n" for k, v in values.items()))
    rule = sops.CryptRule(sops.RuleKind.ENCRYPTED_REGEX, "^(data|stringData)$")
    return sops.encrypt_bytes(
        text.encode(), sops.EncryptOptions(age=AGE_RECIPIENTS[:1], rule=rule), path="db.yaml"
    )


def _all_outputs(repo: Any, clusters: Path) -> tuple[list[Any], str]:
    runs = [
        run_plan(repo.path, clusters, "--base", "main", output=fmt) for fmt in ("json", "table", "markdown")
    ]
    return runs, "".join(run.stdout + run.stderr for run in runs)


def test_secret_values_and_sops_files_are_masked_in_every_output(
    sops_env: SopsEnv, make_git_repo: Any, tmp_path: Path
) -> None:
    clusters = write_clusters(tmp_path / "clusters.yaml", 2)
    repo = make_git_repo(
        "fleet",
        files={
            "shop.yaml": dump(appset("shop", "apps/shop")),
            "apps/shop/api.yaml": PLAIN.format(token=VALUES[0]),
            "apps/shop/db.yaml": _encrypted({"password": VALUES[2]}),
        },
    )
    (repo.path / "apps/shop/api.yaml").write_text(PLAIN.format(token=VALUES[1]))
    (repo.path / "apps/shop/db.yaml").write_bytes(_encrypted({"password": VALUES[3], "user": VALUES[4]}))

    runs, seen = _all_outputs(repo, clusters)

    assert [run.exit_code for run in runs] == [1, 1, 1], runs[0].stderr
    for value in VALUES:
        assert value not in seen
    assert "ENC[" not in seen and "AGE-SECRET-KEY" not in seen
    (group,) = runs[0].groups("Changed")
    by_ref = {o["ref"]: o for o in group["objects"]}
    assert "+  token: '*** (changed)'" in by_ref["Secret shop/api"]["diff"]
    db = by_ref["Secret shop/db"]
    assert db["note"] == ""  # decrypted here: its values were compared
    assert "-  password: '***'\n+  password: '*** (changed)'" in db["diff"]
    assert "+  user: '*** (changed)'" in db["diff"]
    assert "sops" not in db["diff"]  # its MAC and dates are not shown
    assert "*** (changed)" in runs[2].stdout


def test_a_sops_file_no_key_decrypts_is_compared_by_its_keys_only(
    sops_env: SopsEnv, make_git_repo: Any, tmp_path: Path
) -> None:
    clusters = write_clusters(tmp_path / "clusters.yaml", 1)
    repo = make_git_repo(
        "fleet",
        files={
            "shop.yaml": dump(appset("shop", "apps/shop")),
            "apps/shop/db.yaml": _encrypted({"password": VALUES[2]}),
        },
    )
    (repo.path / "apps/shop/db.yaml").write_bytes(_encrypted({"password": VALUES[3], "user": VALUES[4]}))
    sops_env.use(gnupg=None)  # no age key file, an empty keyring

    runs, seen = _all_outputs(repo, clusters)

    assert [run.exit_code for run in runs] == [1, 1, 1], runs[0].stderr
    for value in VALUES:
        assert value not in seen
    assert "ENC[" not in seen
    ((db,),) = [g["objects"] for g in runs[0].groups("Changed")]
    assert db["note"].startswith(compare.SOPS_NO_KEY)
    assert "+  user: '***'" in db["diff"] and "password: '***'" in db["diff"]
    assert "*** (changed)" not in db["diff"]  # values cannot be compared without the key
