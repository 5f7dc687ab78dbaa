"""Results and errors of the engine can cross process boundaries (Ray ships them by pickle)."""

from __future__ import annotations

import pickle

import pytest

from fleet import appset, gitsource, templating
from fleet.generators import interface
from tests.fixtures import appset as fx

APPSET = """
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {name: shipped}
spec:
  generators: [{list: {elements: [{c: prod-eu}, {c: nowhere}]}}]
  template:
    metadata: {name: 'web-{{c}}'}
    spec: {project: default, destination: {name: '{{c}}', namespace: web}}
"""


def test_a_result_survives_pickling() -> None:
    result = appset.GenerateResult(results=(fx.generate(APPSET),))
    copy = pickle.loads(pickle.dumps(result))
    assert copy.objects == result.objects
    assert [a.name for a in copy.applications] == ["web-prod-eu"]
    assert [str(i) for i in copy.invalid] == [str(i) for i in result.invalid]


ERRORS = [
    gitsource.RevisionNotFoundError(
        "no branch, tag or commit of that name", url="https://git.example.com/r.git", revision="x"
    ),
    gitsource.FetchError("fetch failed", url="https://git.example.com/r.git"),
    appset.GenerationError("boom", appset="a", generator="generators[0].list", param="elements[0].x"),
    templating.RenderError("bad", field="metadata.name"),
    interface.NonUniqueParamSetsError("dup", generator="generators[0].merge", param="mergeKeys"),
]


@pytest.mark.parametrize("error", ERRORS, ids=lambda e: type(e).__name__)
def test_errors_survive_pickling_with_their_fields(error: Exception) -> None:
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error) and str(copy) == str(error) and copy.__dict__ == error.__dict__
