"""How Python data stands in for Go values: typed containers, numbers, functions, bytes, secrets."""

from __future__ import annotations

import pytest

from fleet import gotemplate, redact

LABELS = gotemplate.StrMap({"env": "prod"})


def test_a_map_string_string_is_rejected_by_haskey_as_in_argo_cd() -> None:
    with pytest.raises(
        gotemplate.ExecError, match="expected map\\[string\\]interface \\{\\}; got map\\[string\\]string"
    ):
        gotemplate.render('{{ hasKey .labels "env" }}', {"labels": LABELS})
    assert gotemplate.render('{{ index .labels "env" }}/{{ .labels.env }}', {"labels": LABELS}) == "prod/prod"


@pytest.mark.parametrize(
    "missingkey, expected",
    [("default", "[<no value>]"), ("zero", "[]")],
    ids=["default-prints-no-value", "zero-prints-the-empty-string"],
)
def test_missing_label_in_a_string_map_follows_missingkey(missingkey: str, expected: str) -> None:
    assert gotemplate.render("[{{ .labels.nope }}]", {"labels": LABELS}, missingkey=missingkey) == expected


def test_json_numbers_turns_ints_into_float64_like_argo_cd() -> None:
    data = gotemplate.json_numbers({"n": 3, "l": [1, True, None, "x"], "m": {"f": 1.5}})
    assert data == {"n": 3.0, "l": [1.0, True, None, "x"], "m": {"f": 1.5}}
    assert type(data["n"]) is float and data["l"][1] is True
    assert gotemplate.render('{{ .n }} {{ printf "%T" .n }}', data) == "3 float64"


def test_call_invokes_a_function_found_in_the_data() -> None:
    data = {"add": lambda a, b: a + b, "hello": lambda: "hi"}
    assert gotemplate.render("{{ call .add 1 2 }} {{ call .hello }}", data) == "3 hi"
    with pytest.raises(gotemplate.ExecError, match="error calling call: non-function .n of type int"):
        gotemplate.render("{{ call .n }}", {"n": 1})


def test_custom_function_with_a_go_signature_gets_gos_argument_checks() -> None:
    from fleet.gotemplate import gofunc

    shout = gofunc.GoFunc("shout", lambda text, times: text.upper() * times, (gofunc.STRING, gofunc.INT))
    funcs = {**gotemplate.ARGOCD_FUNCS, "shout": shout}
    assert gotemplate.render('{{ shout "ab" 2 }}', {}, funcs=funcs) == "ABAB"
    with pytest.raises(gotemplate.ExecError, match='expected integer; found "2"'):
        gotemplate.render('{{ shout "ab" "2" }}', {}, funcs=funcs)


def test_a_failing_custom_function_reports_only_the_exception_type() -> None:
    def broken(value: str) -> str:
        raise KeyError(f"secret {value}")

    funcs = {**gotemplate.ARGOCD_FUNCS, "broken": broken}
    with pytest.raises(gotemplate.ExecError) as caught:
        gotemplate.render("{{ broken .password }}", {"password": "hunter2-value"}, funcs=funcs)
    assert str(caught.value).endswith("error calling broken: KeyError")
    assert "hunter2" not in str(caught.value)


def test_bytes_kept_as_surrogate_escapes_are_cut_like_go_strings() -> None:
    raw = b"\xff\xfeab".decode("utf-8", "surrogateescape")
    assert gotemplate.render("{{ len . }} {{ trunc 3 . | len }}", raw) == "4 3"
    assert gotemplate.render("{{ b64enc . }}", raw) == "//5hYg=="


def test_error_messages_name_keys_and_types_not_values() -> None:
    params = {"password": "correct-horse-battery", "n": 3.0}
    for text in ("{{ .password.x }}", "{{ .password | int | upper }}", "{{ index .password 99 }}"):
        with pytest.raises(gotemplate.ExecError) as caught:
            gotemplate.render(text, params)
        assert "correct-horse" not in str(caught.value)


def test_error_messages_mask_registered_secrets_where_go_would_print_the_value() -> None:
    secret = "registered-secret-42"
    redact.register(secret)
    with pytest.raises(gotemplate.ExecError) as caught:
        gotemplate.render("{{ range .s }}{{ end }}", {"s": secret})
    assert secret not in str(caught.value)
    assert "range can't iterate over" in str(caught.value)


def test_tuples_are_lists_and_none_data_is_no_value() -> None:
    assert gotemplate.render("{{ . }} {{ len . }}", (1, "a")) == "[1 a] 2"
    assert gotemplate.render("[{{ . }}]", None) == "[<no value>]"
