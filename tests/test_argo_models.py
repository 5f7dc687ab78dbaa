"""The Argo CD models: unknown fields survive a round trip, errors name file, object and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from fleet import argo, errors

APPLICATION = """
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: guestbook
  namespace: argocd
  labels: {team: a}
  ownerReferences: [{kind: ApplicationSet, name: x}]
spec:
  project: default
  sources:
    - repoURL: https://github.com/argoproj/argocd-example-apps.git
      targetRevision: v1.2.3
      path: guestbook
      kustomize:
        namePrefix: prod-
        images: ['nginx=nginx:1.27']
        replicas: [{name: web, count: 3}]
        someNewOption: true
    - repoURL: https://charts.example.com
      chart: nginx
      targetRevision: 15.*
      helm:
        releaseName: web
        valueFiles: [$values/values.yaml]
        valuesObject: {replicaCount: 2, nested: {a: [1, 2]}}
        parameters: [{name: image.tag, value: '1.27', forceString: true}]
    - repoURL: https://github.com/org/values.git
      ref: values
  destination: {name: prod-eu, namespace: web}
  syncPolicy:
    automated: {prune: true, selfHeal: true, allowEmpty: false}
    syncOptions: [CreateNamespace=true, PruneLast=true, ServerSideApply]
    retry:
      limit: 5
      backoff: {duration: 5s, factor: 2, maxDuration: 3m}
    managedNamespaceMetadata: {labels: {a: b}}
  ignoreDifferences:
    - group: apps
      kind: Deployment
      jsonPointers: [/spec/replicas]
      jqPathExpressions: ['.spec.template.spec.containers[] | select(.name == "x")']
      managedFieldsManagers: [kube-controller-manager]
  info: [{name: url, value: https://example.com}]
  revisionHistoryLimit: 3
  futureField: {x: 1}
status: {sync: {status: Synced}}
"""


def write(tmp_path: Path, text: str, name: str = "obj.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_an_application_round_trips_with_unknown_fields(tmp_path: Path) -> None:
    (app,) = argo.load_applications(write(tmp_path, APPLICATION))
    from fleet import kyaml

    assert app.to_dict() == kyaml.load(APPLICATION)


def test_application_accessors_read_what_the_sync_engine_needs(tmp_path: Path) -> None:
    (app,) = argo.load_applications(write(tmp_path, APPLICATION))
    sources = app.sources_list()
    assert [s.repo_url for s in sources] == [
        "https://github.com/argoproj/argocd-example-apps.git",
        "https://charts.example.com",
        "https://github.com/org/values.git",
    ]
    assert sources[0].kustomize.replicas[0].count == 3
    assert sources[1].helm.values_object == {"replicaCount": 2, "nested": {"a": [1, 2]}}
    assert sources[2].revision == "HEAD"
    assert app.is_multi_source()
    assert app.sync_options() == {"CreateNamespace": "true", "PruneLast": "true", "ServerSideApply": "true"}
    assert app.auto_prune and app.self_heal
    assert app.retry.limit == 5 and app.retry.backoff.factor == 2
    assert app.ignore_differences[0].json_pointers == ["/spec/replicas"]
    assert app.destination.name == "prod-eu" and app.qualified_name == "argocd/guestbook"


def test_disabled_automation_is_not_automated() -> None:
    app = argo.Application.model_validate(
        {"spec": {"syncPolicy": {"automated": {"prune": True, "enabled": False}}}}
    )
    assert app.automated() is None and not app.auto_prune
    single = argo.Application.model_validate({"spec": {"source": {"repoURL": "r", "path": "p"}}})
    assert [s.path for s in single.sources_list()] == ["p"] and not single.is_multi_source()


def test_an_application_set_round_trips_with_unknown_fields(tmp_path: Path) -> None:
    text = (Path(__file__).parent.parent / "examples/fleet-repo/appsets/hello-by-env.yaml").read_text()
    (appset,) = argo.load_appsets(write(tmp_path, text + "  progressiveSyncFutureOption: {x: 1}\n"))
    from fleet import kyaml

    assert appset.to_dict() == kyaml.load(text + "  progressiveSyncFutureOption: {x: 1}\n")
    assert appset.spec.go_template and appset.spec.template_patch.startswith("{{- if")


LOAD_ERRORS = [
    ("invalid YAML", "kind: [", "obj.yaml: is not valid YAML"),
    (
        "not an ApplicationSet",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
        "obj.yaml: ConfigMap c: field kind: is not an ApplicationSet (kind 'ConfigMap')",
    ),
    (
        "wrong apiVersion",
        "apiVersion: argoproj.io/v1beta1\nkind: ApplicationSet\nmetadata: {name: a}\n",
        "obj.yaml: ApplicationSet a: field apiVersion: apiVersion must be argoproj.io/v1alpha1",
    ),
    (
        "a number where a string belongs",
        "apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nmetadata: {name: a}\nspec:\n  template:\n    spec:\n      source: {repoURL: r, targetRevision: 1.0}\n",
        "obj.yaml: ApplicationSet a: field spec.template.spec.source.targetRevision: Input should be a valid string",
    ),
    (
        "a generator of the wrong shape",
        "apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nmetadata: {name: a}\nspec:\n  generators:\n    - list: {elements: nope}\n",
        "obj.yaml: ApplicationSet a: field spec.generators[0].list.elements: Input should be a valid list",
    ),
    (
        "a templated boolean",
        "apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nmetadata: {name: a}\nspec:\n  template:\n    spec:\n      syncPolicy: {automated: {prune: '{{prune}}'}}\n",
        "field spec.template.spec.syncPolicy.automated.prune: Input should be a valid boolean",
    ),
    (
        "unknown applicationsSync",
        "apiVersion: argoproj.io/v1alpha1\nkind: ApplicationSet\nmetadata: {name: a}\nspec:\n  syncPolicy: {applicationsSync: sometimes}\n",
        "field spec.syncPolicy.applicationsSync: Input should be 'sync', 'create-only', 'create-update' or 'create-delete'",
    ),
]


@pytest.mark.parametrize("text, message", [c[1:] for c in LOAD_ERRORS], ids=[c[0] for c in LOAD_ERRORS])
def test_bad_input_is_an_input_error_naming_file_object_and_field(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(errors.InputError) as caught:
        argo.load_appsets(write(tmp_path, text))
    assert message in str(caught.value)
    assert caught.value.exit_code == errors.ExitCode.BAD_INPUT


def test_a_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(errors.InputError, match="cannot be read"):
        argo.load_appsets(tmp_path / "missing.yaml")


def test_dates_stay_strings_as_in_kubernetes(tmp_path: Path) -> None:
    text = "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: a}\nspec:\n  source: {repoURL: r, targetRevision: 2024-01-01}\n"
    (app,) = argo.load_applications(write(tmp_path, text))
    assert app.spec.source.target_revision == "2024-01-01"


def test_lists_of_objects_are_expanded(tmp_path: Path) -> None:
    text = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: argoproj.io/v1alpha1\n  kind: AppProject\n  metadata: {name: p}\n"
    (project,) = argo.load_objects(write(tmp_path, text))
    assert isinstance(project, argo.AppProject) and project.name == "p"


def test_application_set_policies_have_argo_cd_defaults() -> None:
    appset = argo.ApplicationSet.model_validate({"spec": {"syncPolicy": {"applicationsSync": "create-only"}}})
    assert appset.applications_sync is argo.ApplicationsSync.CREATE_ONLY
    assert argo.ApplicationSet().applications_sync is argo.ApplicationsSync.SYNC
    assert not argo.ApplicationSet().preserve_resources_on_deletion


def test_unknown_template_fields_reach_the_generated_applications() -> None:
    from tests.fixtures import appset as fx

    result = fx.generate(
        """
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {name: future}
spec:
  generators: [{list: {elements: [{c: a}]}}]
  template:
    metadata: {name: '{{c}}'}
    spec:
      project: default
      destination: {name: in-cluster}
      futureField: {setting: '{{c}}-x', enabled: true}
      source: {repoURL: r, path: p, newSourceOption: 3}
"""
    )
    (app,) = result.objects
    assert app["spec"]["futureField"] == {"setting": "a-x", "enabled": True}
    assert app["spec"]["source"]["newSourceOption"] == 3
    assert result.applications[0].to_dict()["spec"]["futureField"] == {"setting": "a-x", "enabled": True}
