"""``fleet.redact.mask`` finds every registered secret value in a text in one pass (issue 15: a
search per value was the largest CPU cost of a sync at 200 clusters): each value is masked where
it appears, among thousands of registered values, in any text (non-ASCII included), and where two
values overlap, the whole stretch they cover is masked, so no part of either shows."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest

from fleet import redact


@pytest.fixture(autouse=True)
def isolated_values() -> Iterator[None]:
    saved = redact.snapshot()
    redact.forget_all()
    yield
    redact.restore(saved)


CASES = [
    pytest.param(["s3cr3t-token"], "Bearer s3cr3t-token", "Bearer ***", id="one-value"),
    pytest.param(["s3cr3t-token"], "a s3cr3t-token b s3cr3t-token", "a *** b ***", id="every-occurrence"),
    pytest.param(["wörd-gehéim"], "ünïcode wörd-gehéim ünïcode", "ünïcode *** ünïcode", id="non-ascii-text"),
    pytest.param(["abcde123", "123fghij"], "xx abcde123fghij yy", "xx *** yy", id="overlapping-values"),
    pytest.param(
        ["longer-secret", "secret"], "a longer-secret, a secret", "a ***, a ***", id="nested-values"
    ),
    pytest.param(["s3cr3t-token"], "nothing to hide", "nothing to hide", id="no-value-in-the-text"),
    pytest.param([], "nothing registered", "nothing registered", id="nothing-registered"),
]


@pytest.mark.parametrize("values, text, expected", CASES)
def test_every_registered_value_is_masked(values: list[str], text: str, expected: str) -> None:
    redact.register_all(values)
    assert redact.mask(text) == expected


def test_a_value_among_thousands_is_masked_and_base64_too() -> None:
    tokens = [f"token-{i:05d}-{'x' * 20}" for i in range(3000)]
    redact.register_all(tokens)
    encoded = base64.b64encode(tokens[1234].encode()).decode()
    text = f"data: {encoded}\nheader: Bearer {tokens[2999]}\nplain line"
    assert redact.mask(text) == "data: ***\nheader: Bearer ***\nplain line"


def test_values_registered_after_a_mask_are_masked_next_time() -> None:
    redact.register("first-secret")
    assert redact.mask("first-secret second-secret") == "*** second-secret"
    redact.register("second-secret")
    assert redact.mask("first-secret second-secret") == "*** ***"
    redact.forget_all()
    assert redact.mask("first-secret second-secret") == "first-secret second-secret"
