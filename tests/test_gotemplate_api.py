"""The public API of fleet.gotemplate, as the ApplicationSet and Sealed Secrets engines call it."""

from __future__ import annotations

import threading

import pytest

from fleet import gotemplate

PARAMS = {
    "name": "guestbook",
    "nameNormalized": "guestbook",
    "server": "https://kubernetes.default.svc",
    "path": {"path": "apps/guestbook", "basename": "guestbook", "segments": ["apps", "guestbook"]},
    "metadata": {"labels": {"env": "prod"}},
    "values": {"replicas": 3.0},
}

RENDER_CASES = [
    ("{{.name}}-{{.path.basename}}", "guestbook-guestbook"),
    ("plain text, no actions", "plain text, no actions"),
    ('{{ index .metadata.labels "env" }}', "prod"),
    ("{{ .values.replicas }}", "3"),
    ('{{ .path.segments | join "/" }}', "apps/guestbook"),
    ('{{ if eq .metadata.labels.env "prod" }}p{{ else }}np{{ end }}', "p"),
    ("{{ .missing }}", "<no value>"),
]


@pytest.mark.parametrize("text, expected", RENDER_CASES, ids=[case[0] for case in RENDER_CASES])
def test_render_executes_the_template_against_params(text: str, expected: str) -> None:
    assert gotemplate.render(text, PARAMS) == expected


def test_parse_once_execute_many_times_gives_independent_results() -> None:
    template = gotemplate.parse("{{ $x := .n }}{{ range until 3 }}{{ $x = add1 $x }}{{ end }}{{ $x }}")
    assert [template.execute({"n": n}) for n in (0, 10)] == ["3", "13"]


def test_render_caches_the_parse_of_a_template_text() -> None:
    text = "{{ .name | upper }}"
    gotemplate.render(text, PARAMS)
    assert gotemplate.cached_parse(text) is gotemplate.cached_parse(text)


def test_missingkey_error_names_the_missing_key_like_go() -> None:
    with pytest.raises(gotemplate.ExecError) as caught:
        gotemplate.render("{{ .path.nope }}", PARAMS, missingkey="error", name="")
    assert (
        str(caught.value) == 'template: :1:8: executing "" at <.path.nope>: map has no entry for key "nope"'
    )


def test_parse_error_reads_like_go() -> None:
    with pytest.raises(gotemplate.TemplateSyntaxError) as caught:
        gotemplate.parse("line1\n{{ nosuch .x }}", name="t")
    assert str(caught.value) == 'template: t:2: function "nosuch" not defined'


def test_template_errors_are_fleet_errors_with_exit_code_one() -> None:
    from fleet import errors

    assert issubclass(gotemplate.TemplateError, errors.FleetError)
    assert issubclass(gotemplate.ExecError, gotemplate.TemplateError)
    assert issubclass(gotemplate.TemplateSyntaxError, gotemplate.TemplateError)
    assert gotemplate.ExecError("x").exit_code == errors.ExitCode.FAILED


def test_custom_funcs_replace_the_default_function_map() -> None:
    funcs = {**gotemplate.ARGOCD_FUNCS, "shout": lambda value: str(value).upper() + "!"}
    assert gotemplate.render("{{ shout .name }}", PARAMS, funcs=funcs) == "GUESTBOOK!"
    with pytest.raises(gotemplate.TemplateSyntaxError, match='function "normalize" not defined'):
        gotemplate.parse("{{ normalize .name }}", funcs=gotemplate.SPRIG_FUNCS)


def test_sprig_funcs_never_offer_env_expandenv_or_gethostbyname() -> None:
    for name in ("env", "expandenv", "getHostByName"):
        assert name not in gotemplate.SPRIG_FUNCS
        assert name not in gotemplate.ARGOCD_FUNCS
    for name in ("normalize", "slugify", "toYaml", "fromYaml", "fromYamlArray"):
        assert name in gotemplate.ARGOCD_FUNCS
        assert name not in gotemplate.SPRIG_FUNCS


def test_go_format_is_go_sprintf() -> None:
    assert (
        gotemplate.go_format("%05.1f|%-4d|%v|%s", 3.14159, 42, [1, "a"], 7) == "003.1|42  |[1 a]|%!s(int=7)"
    )


def test_normalize_and_slugify_follow_argo_cd() -> None:
    assert gotemplate.normalize("production_01/west") == "production-01-west"
    assert gotemplate.slugify("Hello World Foo Bar", max_length=12) == "hello-world"


def test_concurrent_executions_do_not_share_state() -> None:
    template = gotemplate.parse("{{ range $i, $e := .items }}{{ $e }}{{ end }}")
    results: dict[int, str] = {}

    def work(n: int) -> None:
        for _ in range(200):
            results[n] = template.execute({"items": [n] * 5})

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == {n: str(n) * 5 for n in range(4)}
