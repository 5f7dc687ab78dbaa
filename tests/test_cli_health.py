"""``fleet health [--resource-customizations DIR] [--argocd-cm FILE] [--health-exprs FILE] FILE...
[-o table|json]``: one verdict per FILE, in order, from checks written for a cert-manager-like
Certificate, a Rollout-like resource and a Crossplane-like wildcard group; exit 0 when every FILE
was assessed (whatever its health), 2 on bad input naming the file, with nothing on stdout."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fleet.cli import app

DATA = Path(__file__).parent / "data" / "health" / "argo"
OBJECTS = DATA / "objects"
TREE = DATA / "resource_customizations"

FILES = [
    "certificate-ready",
    "certificate-issuing",
    "certificate-failed",
    "rollout-healthy",
    "rollout-paused",
    "rollout-updating",
    "rollout-aborted",
    "bucket-ready",
    "bucket-unsynced",
    "database-creating",
]


def fleet(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def files(*names: str) -> list[str]:
    return [str(OBJECTS / f"{name}.yaml") for name in names]


CASES = [
    (
        "lua-from-a-resource-customizations-tree",
        ["--resource-customizations", str(TREE)],
        [
            ("Healthy", "Certificate is up to date and has not expired"),
            ("Progressing", "Issuing certificate"),
            ("Degraded", "Failed: The certificate request has failed to complete"),
            ("Healthy", "Rollout is complete"),
            ("Suspended", "Rollout is paused"),
            ("Progressing", "1 of 3 replicas updated"),
            ("Degraded", "RolloutAborted: metric error-rate failed"),
            ("Healthy", "Resource is available"),
            ("Degraded", "cannot create bucket: AccessDenied"),
            ("Progressing", "Waiting for the resource to become ready"),
        ],
    ),
    (
        "lua-from-argocd-cm-over-the-tree",
        ["--resource-customizations", str(TREE), "--argocd-cm", str(DATA / "argocd-cm.yaml")],
        [
            ("Healthy", "from argocd-cm: Certificate is up to date and has not expired"),
            ("Degraded", "from argocd-cm: Issuing certificate as Secret does not exist"),
            ("Degraded", "from argocd-cm: The certificate request has failed to complete"),
            ("Healthy", "Rollout is complete"),
            ("Suspended", "Rollout is paused"),
            ("Progressing", "1 of 3 replicas updated"),
            ("Degraded", "RolloutAborted: metric error-rate failed"),
            ("Healthy", "ready (from argocd-cm wildcard)"),
            ("Progressing", "from argocd-cm wildcard"),
            ("Progressing", "from argocd-cm wildcard"),
        ],
    ),
    (
        "cel-from-a-flux-kustomization",
        ["--health-exprs", str(DATA / "flux-kustomization.yaml")],
        [
            ("Healthy", "current expression is true"),
            ("Progressing", "inProgress expression is true"),
            ("Degraded", "failed expression is true"),
            ("Healthy", "current expression is true"),
            ("Progressing", "no health expression is true yet"),
            ("Progressing", "no health expression is true yet"),
            ("Degraded", "failed expression is true"),
            ("Healthy", "current expression is true"),
            ("Degraded", "failed expression is true"),
            ("Progressing", "Creating"),  # rds.aws.crossplane.io has no entry: the generic check
        ],
    ),
]


@pytest.mark.parametrize(("name", "options", "expected"), CASES, ids=[c[0] for c in CASES])
def test_json_output_is_one_status_and_message_per_file_in_order(
    name: str, options: list[str], expected: list[tuple[str, str]]
) -> None:
    code, out, err = fleet("health", *options, *files(*FILES), "-o", "json")
    assert code == 0, err
    assert json.loads(out) == [{"status": status, "message": message} for status, message in expected]


def test_the_table_names_file_object_status_and_deciding_check() -> None:
    code, out, err = fleet(
        "health", "--resource-customizations", str(TREE), *files("certificate-ready", "bucket-ready")
    )
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["FILE", "OBJECT", "STATUS", "CHECK", "MESSAGE"]
    assert lines[2].split()[:5] == [
        files("certificate-ready")[0],
        "Certificate",
        "web/web-tls",
        "Healthy",
        "resource-customizations",
    ]
    assert lines[3].split()[:5] == [
        files("bucket-ready")[0],
        "Bucket",
        "assets",
        "Healthy",
        "resource-customizations-wildcard",
    ]


def test_without_options_the_built_in_and_generic_checks_decide() -> None:
    code, out, _ = fleet("health", *files("certificate-failed", "database-creating"), "-o", "json")
    assert code == 0
    assert json.loads(out) == [
        {"status": "Degraded", "message": "Failed: The certificate request has failed to complete"},
        {"status": "Progressing", "message": "Creating"},
    ]


def test_a_failing_script_is_an_unknown_verdict_not_a_failed_command(tmp_path: Path) -> None:
    broken = tmp_path / "rc" / "cert-manager.io" / "Certificate"
    broken.mkdir(parents=True)
    (broken / "health.lua").write_text("return obj.status.nothing.here")
    code, out, _ = fleet(
        "health", "--resource-customizations", str(tmp_path / "rc"), *files("certificate-ready"), "-o", "json"
    )
    assert code == 0
    [verdict] = json.loads(out)
    assert verdict["status"] == "Unknown"
    assert "attempt to index field 'nothing' (a nil value)" in verdict["message"]


def test_stdin_is_a_file_too() -> None:
    result = CliRunner().invoke(
        app, ["health", "-", "-o", "json"], input=(OBJECTS / "bucket-ready.yaml").read_text()
    )
    assert result.exit_code == 0
    assert json.loads(result.stdout) == [{"status": "Healthy", "message": ""}]


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


BAD = [
    ("missing-file", lambda tmp: str(tmp / "nope.yaml"), "nope.yaml: cannot be read"),
    (
        "two-objects",
        lambda tmp: write(tmp, "two.yaml", "kind: A\napiVersion: v1\n---\nkind: B\napiVersion: v1\n"),
        "two.yaml: must hold exactly one Kubernetes object (found 2)",
    ),
    (
        "no-kind",
        lambda tmp: write(tmp, "nokind.yaml", "apiVersion: v1\nmetadata: {name: x}\n"),
        "nokind.yaml: field kind: is required",
    ),
    ("not-yaml", lambda tmp: write(tmp, "bad.yaml", "kind: [\n"), "bad.yaml: is not valid YAML or JSON"),
    ("a-list", lambda tmp: write(tmp, "list.yaml", "- a\n- b\n"), "list.yaml: must hold a Kubernetes object"),
]


@pytest.mark.parametrize(("name", "make", "message"), BAD, ids=[c[0] for c in BAD])
def test_a_bad_file_is_bad_input_naming_it(tmp_path: Path, name: str, make, message: str) -> None:
    bad = make(tmp_path)
    code, out, err = fleet("health", *files("certificate-ready"), bad, "-o", "json")
    assert code == 2
    assert out == ""
    assert message in err and err.startswith("error: ")


def test_a_bad_option_file_is_bad_input_naming_it(tmp_path: Path) -> None:
    exprs = write(
        tmp_path, "exprs.yaml", "- apiVersion: example.com/v1\n  kind: Widget\n  current: 'status.x =='\n"
    )
    code, out, err = fleet("health", "--health-exprs", exprs, *files("certificate-ready"))
    assert (code, out) == (2, "")
    assert f"{exprs}: healthCheckExprs[0]: field current: is not a valid CEL expression" in err
    code, out, err = fleet(
        "health", "--resource-customizations", str(tmp_path / "none"), *files("certificate-ready")
    )
    assert (code, out) == (2, "")
    assert "none: field --resource-customizations: is not a directory" in err
