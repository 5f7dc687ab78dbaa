"""Per-cluster references: ``{{name}}``, ``{{server}}``, labels and annotations in a reference's
path resolve for each cluster; unknown tags fail naming the reference and the cluster."""

from __future__ import annotations

import pytest

from fleet import models
from fleet.secrets import refs, resolver

PROD = models.Cluster(
    name="prod-eu",
    server="https://prod-eu.example:6443",
    project="payments",
    labels={"env": "prod", "region": "eu-west-1"},
    annotations={"team": "payments"},
)

# echo returns its own path, so the resolved value shows how the template was filled in.
RENDER_CASES = [
    ("name", "ref+echo://kv/data/{{name}}/db", "kv/data/prod-eu/db"),
    ("server", "ref+echo://servers/{{server}}", "servers/https://prod-eu.example:6443"),
    ("project", "ref+echo://p/{{project}}", "p/payments"),
    ("label", "ref+echo://kv/{{metadata.labels.env}}/{{metadata.labels.region}}", "kv/prod/eu-west-1"),
    ("annotation", "ref+echo://teams/{{metadata.annotations.team}}", "teams/payments"),
    ("embedded", "host=db.{{name}} pw=ref+echo://kv/{{name}}/pw+;", "host=db.{{name}} pw=kv/prod-eu/pw;"),
]


@pytest.mark.parametrize("text, expected", [c[1:] for c in RENDER_CASES], ids=[c[0] for c in RENDER_CASES])
def test_cluster_values_fill_the_reference_path(text: str, expected: str) -> None:
    context = resolver.Resolver().for_cluster(PROD)
    assert context.resolve_string(text) == expected


def test_spaces_inside_a_tag_are_trimmed_as_fasttemplate_does() -> None:
    # (inside a manifest a space would end the reference, as in vals; the renderer still trims)
    assert (
        refs.render_template("ref+echo://kv/{{ name }}", refs.cluster_variables(PROD))
        == "ref+echo://kv/prod-eu"
    )


def test_the_same_reference_resolves_differently_per_cluster() -> None:
    staging = PROD.model_copy(update={"name": "staging", "labels": {"env": "staging"}})
    resolve = resolver.Resolver()
    text = "ref+echo://kv/data/{{name}}/db"
    assert resolve.for_cluster(PROD).resolve_string(text) == "kv/data/prod-eu/db"
    assert resolve.for_cluster(staging).resolve_string(text) == "kv/data/staging/db"


BAD_TAGS = [
    ("unknown-tag", "ref+echo://kv/{{cluster}}/db", "unknown template tag {{cluster}}"),
    (
        "missing-label",
        "ref+echo://kv/{{metadata.labels.tier}}",
        "unknown template tag {{metadata.labels.tier}}",
    ),
    ("unclosed-tag", "ref+echo://kv/{{name/db", "unclosed template tag"),
]


@pytest.mark.parametrize("text, message", [c[1:] for c in BAD_TAGS], ids=[c[0] for c in BAD_TAGS])
def test_unknown_template_tags_fail_naming_the_reference_and_cluster(text: str, message: str) -> None:
    with pytest.raises(refs.BadReference) as caught:
        resolver.Resolver().for_cluster(PROD).resolve_string(text, where="credentials.bearer_token")
    shown = str(caught.value)
    assert message in shown
    assert "cluster prod-eu" in shown
    assert "credentials.bearer_token" in shown
    assert text.split("#")[0][:20] in shown


def test_a_templated_reference_without_a_cluster_fails_clearly() -> None:
    with pytest.raises(refs.BadReference, match="no cluster was given"):
        resolver.Resolver().for_cluster(None).resolve_string("ref+echo://kv/{{name}}/db")


def test_cluster_variables_are_flat_argo_cd_names() -> None:
    variables = refs.cluster_variables(PROD)
    assert variables == {
        "name": "prod-eu",
        "server": "https://prod-eu.example:6443",
        "project": "payments",
        "metadata.labels.env": "prod",
        "metadata.labels.region": "eu-west-1",
        "metadata.annotations.team": "payments",
    }
