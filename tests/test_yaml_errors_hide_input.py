"""A file that is not valid YAML is bad input named by file and line, never quoted.

PyYAML's messages repeat the offending line with a caret under it. In a cluster Secret, a
kubeconfig, a ClusterList, a sealing key or a Secret about to be sealed, that line is the
credential itself, and it would reach stderr before anything could have registered it for
masking. Each case breaks the quoting right on a secret value; the message must say where the
file is broken (exit 2) without a single character of the value.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from fleet import errors, kyaml
from fleet.cli import app
from tests.conftest import REPO_ROOT

SECRET = "s3cr3tVALUE-7f1e"
DASHBOARDS = str(REPO_ROOT / "examples" / "fleet-repo" / "appsets" / "dashboards.yaml")
VECTORS_CERT = "sealing_key_a.crt"

CLUSTER_SECRET = f"""apiVersion: v1
kind: Secret
metadata:
  name: c1
  namespace: argocd
  labels: {{argocd.argoproj.io/secret-type: cluster}}
stringData:
  name: c1
  server: https://c1.example.com
  config: '{{"bearerToken": "{SECRET}"}}
"""

KUBECONFIG = f"""apiVersion: v1
kind: Config
clusters: [{{name: c1, cluster: {{server: https://c1.example.com}}}}]
contexts: [{{name: c1, context: {{cluster: c1, user: u1}}}}]
users:
- name: u1
  user:
    token: "{SECRET}
"""

CLUSTER_LIST = f"""apiVersion: fleet.gitops.io/v1alpha1
kind: ClusterList
clusters:
- name: c1
  server: https://c1.example.com
  bearerToken: "{SECRET}
"""

SEALING_KEY = f"""apiVersion: v1
kind: Secret
metadata: {{name: sealed-secrets-key, namespace: kube-system}}
type: kubernetes.io/tls
data:
  tls.key: "{SECRET}
"""

SECRET_TO_SEAL = f"""apiVersion: v1
kind: Secret
metadata: {{name: db, namespace: shop}}
stringData:
  password: "{SECRET}
"""

APPSET = f"""apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {{name: web}}
spec:
  generators: [{{list: {{elements: [{{cluster: c1}}]}}}}]
  template:
    metadata: {{name: web}}
    spec:
      source:
        helm:
          values: "password: {SECRET}
"""

# id, file text, the command (FILE is the broken file), what the message must say
CASES = [
    (
        "argocd-secrets-for-generate",
        CLUSTER_SECRET,
        ["generate", DASHBOARDS, "--clusters", "FILE"],
        "line 11",
    ),
    (
        "argocd-secrets-for-clusters-list",
        CLUSTER_SECRET,
        ["clusters", "list", "--clusters", "FILE"],
        "line 11",
    ),
    ("kubeconfig", KUBECONFIG, ["clusters", "list", "--kubeconfig", "FILE"], "line 9"),
    ("cluster-list", CLUSTER_LIST, ["clusters", "list", "--cluster-list", "FILE"], "line 7"),
    ("application-set", APPSET, ["generate", "FILE"], "line 12"),
    ("secret-to-seal", SECRET_TO_SEAL, ["secrets", "seal", "--cert", "CERT", "FILE"], "line 6"),
    ("sealing-key", SEALING_KEY, ["secrets", "unseal", "--key", "FILE", "SEALED"], "line 7"),
]


@pytest.mark.parametrize("text, args, where", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_invalid_yaml_is_bad_input_naming_the_line_without_quoting_it(
    tmp_path: Path, vectors_dir: Path, text: str, args: list[str], where: str
) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(text)
    sealed = tmp_path / "sealed.yaml"
    sealed.write_text(
        (vectors_dir / "sealed-secrets" / "strict_default_mysecret.sealedsecret.yaml").read_text()
    )
    cert = vectors_dir / "sealed-secrets" / "keys" / VECTORS_CERT
    replace = {"FILE": str(broken), "CERT": str(cert), "SEALED": str(sealed)}
    result = CliRunner().invoke(
        app, ["--log-format", "json", "--verbose", *(replace.get(a, a) for a in args)]
    )
    assert result.exit_code == 2, result.output
    assert f"{broken}: " in result.stderr and where in result.stderr, result.stderr
    assert SECRET[:6] not in result.stdout + result.stderr, result.stderr


def test_yaml_or_json_names_the_line_without_quoting_it() -> None:
    with pytest.raises(errors.InputError) as caught:
        kyaml.yaml_or_json(f'password: "{SECRET}\n', where="decrypted.yaml", obj="Secret db")
    message = str(caught.value)
    assert message.startswith("decrypted.yaml: Secret db: is not valid YAML or JSON: line 2, column 1")
    assert SECRET[:6] not in message
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_a_broken_helm_values_file_is_reported_without_its_content(tmp_path) -> None:
    from fleet import render

    chart = tmp_path / "chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: c\nversion: 0.1.0\n")
    (chart / "templates" / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n")
    (chart / "values-prod.yaml").write_text('password: "s3cr3t-in-values\nother: 1\n')
    source = {
        "repoURL": "https://git.example.com/x.git",
        "path": "chart",
        "helm": {"valueFiles": ["values-prod.yaml"]},
    }
    with pytest.raises(render.RenderError) as caught:
        render.render_source(source, source_dir=tmp_path, app_name="a", namespace="n", revision="r1")
    assert "s3cr3t-in-values" not in str(caught.value)
    assert caught.value.__cause__ is None
    assert "values-prod.yaml" in str(caught.value)
