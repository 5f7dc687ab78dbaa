"""Go fmt through print/printf/println (tests/data/gotemplate/fmt.yaml).

Every row's expectation is also compared with Helm's real Go engine by
tests/test_gotemplate_oracle.py, unless the row says why it cannot be (oracle: false).
"""

from __future__ import annotations

import pytest

from tests.fixtures import gotemplate_oracle

CASES = gotemplate_oracle.load_cases("fmt.yaml")


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_template_formats_like_go_fmt(case: gotemplate_oracle.Case) -> None:
    gotemplate_oracle.check_case(case)
