"""fasttemplate mode (goTemplate: false): Argo CD's Render.Replace over flat string parameters.

Tags are ``{{...}}``, trimmed and looked up verbatim; a missing key or a non-string value leaves
the whole tag as written; one pass only; strings without a ``{{...}}`` on one line are left
alone; an opening tag without an end, once a complete tag exists, is an error.
"""

from __future__ import annotations

import pytest

from fleet import templating
from tests.fixtures import appset as fx

PARAMS = {
    "name": "prod-eu",
    "path": "apps/web",
    "path.basename": "web",
    "values.ns": "team-a",
    "loop": "{{name}}",
}

RENDER_CASES = [
    ("plain text", "no tags here", "no tags here"),
    ("simple tag", "{{name}}", "prod-eu"),
    ("tag with spaces", "x-{{ name }}-y", "x-prod-eu-y"),
    ("dotted key", "{{path.basename}}", "web"),
    ("several tags", "{{path}}/{{values.ns}}", "apps/web/team-a"),
    ("missing key kept verbatim", "{{ missing }}", "{{ missing }}"),
    ("missing next to present", "{{name}}-{{nope}}", "prod-eu-{{nope}}"),
    ("one pass only", "{{loop}}", "{{name}}"),
    ("empty tag kept", "a{{}}b", "a{{}}b"),
    ("blank tag kept", "a{{  }}b", "a{{  }}b"),
    ("case sensitive", "{{NAME}}", "{{NAME}}"),
    ("tag split across lines is not a tag", "{{name\n}}", "{{name\n}}"),
    ("end before start is literal", "}} {{", "}} {{"),
    ("extra braces", "{{{name}}}", "{{{name}}}"),
    ("go template syntax is just a missing key", "{{ .name }}", "{{ .name }}"),
]


@pytest.mark.parametrize("text, expected", [c[1:] for c in RENDER_CASES], ids=[c[0] for c in RENDER_CASES])
def test_fasttemplate_replaces_tags_like_argo_cd(text: str, expected: str) -> None:
    assert templating.fast_render(text, PARAMS) == expected


def test_a_non_string_value_leaves_the_tag_as_written() -> None:
    assert templating.fast_render("{{n}} {{b}}", {"n": 3.0, "b": True}) == "{{n}} {{b}}"


def test_an_unclosed_tag_after_a_complete_one_is_an_error() -> None:
    with pytest.raises(templating.RenderError, match="cannot find end tag"):
        templating.fast_render("{{name}} and {{oops", PARAMS)


def test_compiled_templates_render_map_keys_and_leave_other_types_alone() -> None:
    engine = templating.Engine()
    compiled = engine.compile(
        {"labels": {"team-{{name}}": "{{values.ns}}"}, "replicas": 3, "flag": True, "list": ["{{name}}", 1]}
    )
    assert compiled.render(PARAMS) == {
        "labels": {"team-prod-eu": "team-a"},
        "replicas": 3,
        "flag": True,
        "list": ["prod-eu", 1],
    }


def test_rendered_trees_share_no_mutable_data() -> None:
    compiled = templating.Engine().compile({"static": {"a": [1, 2]}, "name": "{{name}}"})
    first, second = compiled.render(PARAMS), compiled.render(PARAMS)
    first["static"]["a"].append(3)
    assert second["static"]["a"] == [1, 2]


APPSET = """
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {name: web, namespace: argocd}
spec:
  generators:
    - list:
        elements:
          - cluster: staging-eu
            tricky: '{{cluster}}'
  template:
    metadata:
      name: '{{cluster}}-web'
      annotations:
        'owner/{{cluster}}': '{{tricky}}'
    spec:
      project: default
      source: {repoURL: 'https://git.example.com/r.git', path: 'web/{{ cluster }}/{{unknown}}'}
      destination: {name: '{{cluster}}', namespace: web}
"""


def test_an_application_set_renders_every_string_field_and_map_key() -> None:
    result = fx.generate(APPSET)
    assert result.error is None, result.error
    (app,) = result.objects
    assert app["metadata"]["name"] == "staging-eu-web"
    assert app["metadata"]["annotations"] == {"owner/staging-eu": "{{cluster}}"}
    assert app["spec"]["source"]["path"] == "web/staging-eu/{{unknown}}"
    assert app["spec"]["destination"] == {"name": "staging-eu", "namespace": "web"}


def test_an_unclosed_tag_fails_the_application_set_naming_the_field() -> None:
    result = fx.generate(APPSET.replace("web/{{ cluster }}/{{unknown}}", "{{cluster}}/{{oops"))
    assert result.objects == ()
    message = str(result.error)
    assert "ApplicationSet web" in message and "generators[0].list" in message
    assert "spec.source.path" in message and "cannot find end tag" in message
