"""Go text/template language features, each row of tests/data/gotemplate/language.yaml.

Every row's expectation is also compared with Helm's real Go engine by
tests/test_gotemplate_oracle.py, unless the row says why it cannot be (oracle: false).
"""

from __future__ import annotations

import pytest

from tests.fixtures import gotemplate_oracle

CASES = gotemplate_oracle.load_cases("language.yaml")


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_template_renders_like_go_text_template(case: gotemplate_oracle.Case) -> None:
    gotemplate_oracle.check_case(case)
