"""Key groups with a Shamir threshold: any ``threshold`` groups' keys decrypt, fewer do not.

``tests/data/sops/shamir_2_of_3.enc.yaml`` was made by fleet (there is no upstream Shamir vector,
FORMATS.md A.8): three key groups of one age key each, threshold 2, identities beside it.
Fresh files are also made per test, mixing age and PGP groups.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import pytest
import yaml

from fleet.secrets import sops
from fleet.secrets.sops import core, shamir
from tests.fixtures.sops import AGE_RECIPIENTS, K1, K2, SopsEnv

DATA = Path(__file__).parent / "data" / "sops"


def _identity(group: int) -> str:
    return (DATA / f"shamir_group{group}.agekey").read_text().splitlines()[1]


@pytest.mark.parametrize(
    "groups", list(itertools.combinations(range(3), 2)), ids=lambda g: f"groups-{g[0]}-{g[1]}"
)
def test_committed_two_of_three_file_decrypts_with_any_two_groups(
    sops_env: SopsEnv, groups: tuple[int, int]
) -> None:
    sops_env.use(gnupg=None, age_key=" ".join(_identity(group) for group in groups))
    plain = sops.decrypt_file(DATA / "shamir_2_of_3.enc.yaml")
    assert plain == (DATA / "shamir_2_of_3.plain.yaml").read_bytes()


@pytest.mark.parametrize("group", range(3), ids=lambda g: f"group-{g}-alone")
def test_committed_two_of_three_file_does_not_open_with_one_group(sops_env: SopsEnv, group: int) -> None:
    sops_env.use(gnupg=None, age_key=_identity(group))
    with pytest.raises(sops.NoKeyError, match="1 of 3 key groups could be decrypted, 2 are needed") as caught:
        sops.decrypt_file(DATA / "shamir_2_of_3.enc.yaml")
    assert "password" not in str(caught.value)


def test_committed_file_has_the_key_groups_layout(sops_vectors: Path) -> None:
    meta = yaml.safe_load((DATA / "shamir_2_of_3.enc.yaml").read_text())["sops"]
    assert meta["shamir_threshold"] == 2
    assert [list(group) for group in meta["key_groups"]] == [["age", "hc_vault"]] * 3
    assert "age" not in meta and "pgp" not in meta


MIXED = sops.EncryptOptions(
    key_groups=(
        sops.KeyGroupSpec(age=(AGE_RECIPIENTS[0],)),
        sops.KeyGroupSpec(pgp=(K1,)),
        sops.KeyGroupSpec(pgp=(K2,), age=(AGE_RECIPIENTS[1],)),
    ),
    shamir_threshold=2,
)


@pytest.mark.parametrize(
    "gnupg, age_identity, opens",
    [
        pytest.param("k1", 0, True, id="age-group-and-pgp-K1-group"),
        pytest.param("k2", None, False, id="pgp-K2-alone-is-one-group"),
        pytest.param("k1", 1, True, id="pgp-K1-group-and-age-in-third-group"),
        pytest.param(None, 0, False, id="first-age-identity-alone-is-one-group"),
        pytest.param("all", None, True, id="both-pgp-keys-cover-two-groups"),
    ],
)
def test_mixed_age_and_pgp_groups_need_two_groups(
    sops_env: SopsEnv, tmp_path: Path, gnupg: str | None, age_identity: int | None, opens: bool
) -> None:
    encrypted = sops.encrypt_bytes(b"token: abc-123\n", MIXED, path="m.yaml")
    age_file = None
    if age_identity is not None:
        age_file = tmp_path / "id.txt"
        age_file.write_text(sops_env.age_identities()[age_identity] + "\n")
    sops_env.use(gnupg=gnupg, age_key_file=age_file)
    if opens:
        assert sops.decrypt_bytes(encrypted, path="m.yaml") == b"token: abc-123\n"
    else:
        with pytest.raises(sops.NoKeyError, match="key groups could be decrypted, 2 are needed"):
            sops.decrypt_bytes(encrypted, path="m.yaml")


def test_threshold_defaults_to_every_group(sops_env: SopsEnv) -> None:
    options = sops.EncryptOptions(
        key_groups=(sops.KeyGroupSpec(age=AGE_RECIPIENTS[:1]), sops.KeyGroupSpec(pgp=(K1,)))
    )
    encrypted = sops.encrypt_bytes(b"a: b\n", options, path="t.yaml")
    assert yaml.safe_load(encrypted)["sops"]["shamir_threshold"] == 2
    sops_env.use(gnupg="all", age_key_file=None)
    with pytest.raises(sops.NoKeyError, match="1 of 2"):
        sops.decrypt_bytes(encrypted, path="t.yaml")


@pytest.mark.parametrize(
    "options, message",
    [
        pytest.param(
            sops.EncryptOptions(age=AGE_RECIPIENTS, shamir_threshold=2),
            "more than one key group",
            id="one-group",
        ),
        pytest.param(
            sops.EncryptOptions(
                key_groups=(sops.KeyGroupSpec(age=AGE_RECIPIENTS[:1]),) * 2, shamir_threshold=3
            ),
            "between 2 and the number of key groups",
            id="threshold-above-groups",
        ),
        pytest.param(
            sops.EncryptOptions(key_groups=(sops.KeyGroupSpec(age=AGE_RECIPIENTS[:1]), sops.KeyGroupSpec())),
            "in every key group",
            id="empty-group",
        ),
    ],
)
def test_impossible_key_group_settings_are_bad_input(
    sops_env: SopsEnv, options: sops.EncryptOptions, message: str
) -> None:
    with pytest.raises(sops.SopsError, match=message):
        sops.encrypt_bytes(b"a: b\n", options, path="x.yaml")


def test_shares_carry_their_x_coordinate_last_and_combine_from_any_threshold() -> None:
    secret = os.urandom(core.DATA_KEY_SIZE)
    shares = shamir.split(secret, 5, 3)
    assert [share[-1] for share in shares] == [1, 2, 3, 4, 5]
    assert all(len(share) == 33 for share in shares)
    for subset in itertools.combinations(shares, 3):
        assert shamir.combine(subset) == secret
    assert shamir.combine(shares[:2]) != secret
    with pytest.raises(ValueError, match="duplicate part"):
        shamir.combine([shares[0], shares[0]])
