"""goTemplate mode: nested parameters, Go text/template per field, goTemplateOptions, and the
goTemplate-specific behaviour of the cluster, git, matrix and merge generators and post-selectors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.fixtures import appset as fx
from tests.fixtures.git import GitRepo


@pytest.mark.parametrize("name", fx.case_names("go-"))
def test_go_template_case(name: str, run_case: Callable[[str], Any]) -> None:
    case, result = run_case(name)
    fx.check_case(case, result)


def appset(
    generators: list[dict[str, Any]], *, name: str, options: list[str] | None = None, **spec: Any
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": {"name": "go"},
        "spec": {
            "goTemplate": True,
            "generators": generators,
            "template": {
                "metadata": {"name": name},
                "spec": {"project": "default", "destination": {"name": "in-cluster", "namespace": "x"}},
            },
            **spec,
        },
    }
    if options is not None:
        doc["spec"]["goTemplateOptions"] = options
    return doc


def names(result: Any) -> list[str]:
    assert result.error is None, str(result.error)
    return [a["metadata"]["name"] for a in result.objects]


def lst(*elements: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"list": {"elements": list(elements), **extra}}


MISSINGKEY = [
    ("default prints no value", None, "a-<no value>"),
    ("missingkey=default", ["missingkey=default"], "a-<no value>"),
    ("missingkey=invalid is the default", ["missingkey=invalid"], "a-<no value>"),
    ("missingkey=zero on an interface map", ["missingkey=zero"], "a-<no value>"),
]


@pytest.mark.parametrize("options, expected", [c[1:] for c in MISSINGKEY], ids=[c[0] for c in MISSINGKEY])
def test_missing_keys_follow_go_template_options(options: list[str] | None, expected: str) -> None:
    result = fx.generate(appset([lst({"c": "a"})], name="{{ .c }}-{{ .nope }}", options=options))
    assert names(result) == [expected]


def test_index_ignores_missingkey_and_dig_gives_defaults() -> None:
    doc = appset(
        [lst({"c": "a", "m": {"k": "v"}})],
        name='{{ index .m "absent" }}-{{ dig "m" "absent" "dflt" . }}',
        options=["missingkey=error"],
    )
    assert names(fx.generate(doc)) == ["<no value>-dflt"]


def test_an_unknown_template_option_fails_the_application_set() -> None:
    result = fx.generate(appset([lst({"c": "a"})], name="x", options=["missingkey=sometimes"]))
    assert "unrecognized option 'missingkey=sometimes'" in str(result.error)


def test_a_template_that_does_not_parse_names_the_field() -> None:
    result = fx.generate(appset([lst({"c": "a"})], name="{{ if .c }}unclosed"))
    assert "field metadata.name: failed to parse template" in str(result.error)
    assert "unexpected EOF" in str(result.error)


def test_an_empty_parameter_set_leaves_the_template_unrendered() -> None:
    assert names(fx.generate(appset([lst({})], name="{{ .c }}"))) == ["{{ .c }}"]


def test_values_are_a_go_string_map_so_has_key_rejects_them() -> None:
    doc = appset(
        [{"clusters": {"selector": {"matchLabels": {"region": "us"}}, "values": {"a": "1"}}}],
        name='{{ hasKey .values "a" }}',
    )
    assert "wrong type for value; expected map[string]interface {}; got map[string]string" in str(
        fx.generate(doc).error
    )


def test_flat_list_gives_one_application_with_every_cluster() -> None:
    doc = appset(
        [{"clusters": {"flatList": True, "selector": {"matchLabels": {"env": "prod"}}}}],
        name="all-{{ len .clusters }}",
    )
    doc["spec"]["template"]["metadata"]["annotations"] = {
        "servers": "{{ range $i, $c := .clusters }}{{ if $i }},{{ end }}{{ $c.name }}{{ end }}"
    }
    result = fx.generate(doc)
    (app,) = result.objects
    assert app["metadata"]["name"] == "all-2"
    assert app["metadata"]["annotations"]["servers"] == "prod-eu,prod-us"


def test_matrix_merges_deeply_and_the_first_child_wins() -> None:
    first = lst({"app": "web", "conf": {"replicas": "1", "team": "a"}, "shared": "first"})
    second = lst({"conf": {"replicas": "3", "zone": "z"}, "shared": "second", "other": "o"})
    doc = appset([{"matrix": {"generators": [first, second]}}], name="{{ .app }}")
    doc["spec"]["template"]["metadata"]["annotations"] = {
        "conf": "{{ .conf | toJson }}",
        "shared": "{{ .shared }}-{{ .other }}",
    }
    (app,) = fx.generate(doc).objects
    assert app["metadata"]["annotations"] == {
        "conf": '{"replicas":"1","team":"a","zone":"z"}',
        "shared": "first-o",
    }


def test_matrix_child_values_keep_templates_that_need_the_childs_own_parameters() -> None:
    first = lst({"app": "web"})
    values = {"app": "{{ .app }}", "cluster": "{{ .name }}"}
    second = {"clusters": {"selector": {"matchLabels": {"env": "prod"}}, "values": values}}
    doc = appset(
        [{"matrix": {"generators": [first, second]}}],
        name="{{ .values.app }}-on-{{ .values.cluster }}",
        options=["missingkey=error"],
    )
    assert names(fx.generate(doc)) == ["web-on-prod-eu", "web-on-prod-us"]
    # A value needing both children's parameters is kept whole, then fails with the child's own.
    values["both"] = "{{ .app }}-{{ .name }}"
    result = fx.generate(doc)
    assert "values.both: failed to execute go template" in str(result.error)
    assert 'map has no entry for key "app"' in str(result.error)


def test_matrix_child_two_selector_uses_child_one_parameters() -> None:
    first = lst({"env": "prod"})
    second = {"clusters": {"selector": {"matchLabels": {"env": "{{ .env }}"}}}}
    assert names(fx.generate(appset([{"matrix": {"generators": [first, second]}}], name="{{ .name }}"))) == [
        "prod-eu",
        "prod-us",
    ]


def test_matrix_interpolation_errors_fail_the_application_set() -> None:
    first = lst({"env": "prod"})
    second = lst({"x": "{{ .missing }}"})
    result = fx.generate(
        appset([{"matrix": {"generators": [first, second]}}], name="x", options=["missingkey=error"])
    )
    assert 'map has no entry for key "missing"' in str(result.error)
    assert result.error.generator == "generators[0].matrix.generators[1]"


def test_merge_deep_merges_nested_values() -> None:
    base = {
        "clusters": {"selector": {"matchLabels": {"env": "prod"}}, "values": {"redis": "off", "size": "s"}}
    }
    override = lst({"name": "prod-us", "values": {"redis": "on"}})
    doc = appset(
        [{"merge": {"mergeKeys": ["name"], "generators": [base, override]}}],
        name="{{ .name }}-{{ .values.redis }}-{{ .values.size }}",
    )
    assert names(fx.generate(doc)) == ["prod-eu-off-s", "prod-us-on-s"]


def test_merge_a_literal_dotted_key_does_not_reach_the_nested_value() -> None:
    base = {"clusters": {"selector": {"matchLabels": {"env": "prod"}}, "values": {"redis": "off"}}}
    override = lst({"name": "prod-us", "values.redis": "on"})
    doc = appset(
        [{"merge": {"mergeKeys": ["name"], "generators": [base, override]}}],
        name="{{ .name }}-{{ .values.redis }}",
    )
    assert names(fx.generate(doc)) == ["prod-eu-off", "prod-us-off"]


def test_merge_keys_only_address_top_level_keys() -> None:
    base = {"clusters": {"selector": {"matchLabels": {"env": "prod"}}, "values": {"id": "x"}}}
    override = lst({"values": {"id": "x"}})
    result = fx.generate(
        appset([{"merge": {"mergeKeys": ["values.id"], "generators": [base, override]}}], name="{{ .name }}")
    )
    assert 'Duplicate key was {"values.id":null}' in str(result.error)


SELECTORS = [
    ("a nested values key", {"matchLabels": {"values.tier": "gold"}}, ["a"]),
    ("a nested map key", {"matchLabels": {"conf.zone": "z1"}}, ["b"]),
    ("a list item", {"matchLabels": {"zones.1": "east"}}, ["a"]),
    ("a number, as Go prints it", {"matchLabels": {"n": "1e+06"}}, ["b"]),
]


@pytest.mark.parametrize("selector, expected", [c[1:] for c in SELECTORS], ids=[c[0] for c in SELECTORS])
def test_post_selectors_flatten_nested_parameters(selector: dict[str, Any], expected: list[str]) -> None:
    elements = [
        {"name": "a", "values": {"tier": "gold"}, "zones": ["west", "east"], "n": 3},
        {"name": "b", "conf": {"zone": "z1"}, "n": 1000000},
    ]
    doc = appset([{**lst(*elements), "selector": selector}], name="{{ .name }}")
    assert names(fx.generate(doc)) == expected


def test_post_selectors_see_cluster_labels_and_git_segments_as_argo_cd_flattens_them(
    make_git_repo: Callable[..., GitRepo], repo_cache: Any
) -> None:
    clusters = {"clusters": {}, "selector": {"matchLabels": {"metadata.labels.region": "us"}}}
    assert names(fx.generate(appset([clusters], name="{{ .name }}"))) == ["prod-us"]
    repo = make_git_repo(files={"apps/web/k.yaml": "x: 1", "apps/api/k.yaml": "x: 1"})
    # segments is a Go []string, not a []interface{}: it flattens to one value, "[apps web]".
    git = {
        "git": {"repoURL": repo.url, "revision": "HEAD", "directories": [{"path": "apps/*"}]},
        "selector": {
            "matchExpressions": [{"key": "path.segments", "operator": "In", "values": ["[apps web]"]}]
        },
    }
    assert names(fx.generate(appset([git], name="{{ .path.basename }}"), repos=repo_cache)) == ["web"]


PATCH = """
{{- if .autoSync }}
spec:
  syncPolicy:
    automated:
      prune: {{ .prune }}
    syncOptions: {{ .options | toJson }}
{{- end }}
metadata:
  labels:
    replicas: '{{ .replicas }}'
"""


def test_template_patch_renders_conditionals_real_booleans_and_lists() -> None:
    elements = [
        {
            "name": "auto",
            "autoSync": True,
            "prune": False,
            "options": ["CreateNamespace=true"],
            "replicas": 2,
        },
        {"name": "manual", "autoSync": False, "prune": True, "options": [], "replicas": 1},
    ]
    result = fx.generate(appset([lst(*elements)], name="{{ .name }}", templatePatch=PATCH))
    assert result.error is None, str(result.error)
    auto, manual = result.objects
    assert auto["spec"]["syncPolicy"] == {
        "automated": {"prune": False},
        "syncOptions": ["CreateNamespace=true"],
    }
    assert auto["metadata"]["labels"] == {"replicas": "2"}
    assert "syncPolicy" not in manual["spec"]
    assert result.applications[0].automated() is not None and not result.applications[0].auto_prune


def test_a_template_patch_that_fails_to_execute_names_the_parameter_set() -> None:
    result = fx.generate(
        appset(
            [lst({"name": "a"})],
            name="{{ .name }}",
            templatePatch="{{ .nope.deeper }}",
            options=["missingkey=error"],
        )
    )
    message = str(result.error)
    assert "field templatePatch" in message and 'map has no entry for key "nope"' in message
    assert 'parameter set {"name": "a"}' in message
