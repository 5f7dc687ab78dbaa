"""Where Lua checks come from, read as Argo CD reads them: a ``resource_customizations`` tree
(``<group>/<kind>/health.lua``, ``_`` as a wildcard within a segment) and an ``argocd-cm``
ConfigMap (``resource.customizations.health.<group>_<kind>`` keys, ``useOpenLibs`` keys, and the
``resource.customizations`` YAML form whose keys may be globs). Bad input names file and key."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from fleet import errors, health
from fleet.health import config, lua

H = health.Health
DATA = Path(__file__).parent / "data" / "health" / "argo"
OBJECTS = DATA / "objects"


def obj(group_version: str, kind: str, **status: object) -> dict[str, object]:
    return {"apiVersion": group_version, "kind": kind, "metadata": {"name": "x"}, "status": status}


def write_tree(root: Path, scripts: dict[str, str]) -> Path:
    for rel, text in scripts.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def says(message: str) -> str:
    return f'return {{status = "Healthy", message = "{message}"}}'


TREE = {
    "cert-manager.io/Certificate/health.lua": says("exact"),
    "_.crossplane.io/_/health.lua": says("any crossplane group"),
    "_.aws.crossplane.io/_/health.lua": says("aws crossplane"),
    "s3.aws.crossplane.io/_/health.lua": says("any s3 kind"),
    "example.com/_Set/health.lua": says("kinds ending in Set"),
    "ConfigMap/health.lua": says("a core kind"),
    "cert-manager.io/Certificate/health_test.yaml": "tests: []",
    "cert-manager.io/Certificate/testdata/ready.yaml": "kind: Certificate",
    "argoproj.io/Rollout/actions/restart/action.lua": "return obj",
}

TREE_CASES = [
    ("exact-group-and-kind", "cert-manager.io/v1", "Certificate", "resource-customizations", "exact"),
    (
        "a-wildcard-directory-is-not-tried-before-an-exact-one",
        "s3.aws.crossplane.io/v1",
        "Bucket",
        "resource-customizations-wildcard",
        "aws crossplane",
    ),
    (
        "wildcards-are-tried-in-sorted-order",
        "rds.aws.crossplane.io/v1",
        "DBInstance",
        "resource-customizations-wildcard",
        "aws crossplane",
    ),
    (
        "a-wildcard-group",
        "pkg.crossplane.io/v1",
        "Provider",
        "resource-customizations-wildcard",
        "any crossplane group",
    ),
    ("a-wildcard-does-not-cross-a-segment", "crossplane.io/v1", "Thing", "generic", ""),
    (
        "a-wildcard-within-a-kind",
        "example.com/v1",
        "ReplicaSet",
        "resource-customizations-wildcard",
        "kinds ending in Set",
    ),
    ("core-kinds-sit-at-the-top", "v1", "ConfigMap", "resource-customizations", "a core kind"),
    ("no-script-no-lua", "apps/v1", "Deployment", "built-in", None),
]


@pytest.mark.parametrize(
    ("name", "api_version", "kind", "source", "message"), TREE_CASES, ids=[c[0] for c in TREE_CASES]
)
def test_a_resource_customizations_tree_is_looked_up_as_argo_cd_does(
    tmp_path: Path, name: str, api_version: str, kind: str, source: str, message: str | None
) -> None:
    cfg = config.from_paths(resource_customizations=[write_tree(tmp_path / "rc", TREE)])
    group, found_kind = health.group_kind(obj(api_version, kind))
    assert health.resolve(group, found_kind, cfg)[0] == source
    if message is not None and source != "generic":
        assert health.check(obj(api_version, kind), config=cfg).message == message


def test_only_health_scripts_of_a_tree_are_read_and_they_get_the_open_libraries(tmp_path: Path) -> None:
    cfg = config.from_paths(resource_customizations=[write_tree(tmp_path / "rc", TREE)])
    assert sorted(c.path for c in cfg.customizations) == sorted(
        rel.rpartition("/")[0] for rel in TREE if rel.endswith("/health.lua")
    )
    assert all(c.check.open_libs for c in cfg.customizations)
    assert cfg.customizations[0].check.origin == f"{tmp_path / 'rc'}/ConfigMap/health.lua"


def test_a_later_tree_wins_for_the_same_group_and_kind(tmp_path: Path) -> None:
    first = write_tree(tmp_path / "a", {"cert-manager.io/Certificate/health.lua": says("first")})
    second = write_tree(tmp_path / "b", {"cert-manager.io/Certificate/health.lua": says("second")})
    cfg = config.from_paths(resource_customizations=[first, second])
    assert health.check(obj("cert-manager.io/v1", "Certificate"), config=cfg).message == "second"


def test_a_script_that_links_outside_its_tree_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "secret.lua"
    outside.write_text(says("outside"))
    root = write_tree(tmp_path / "rc", {})
    (root / "cert-manager.io" / "Certificate").mkdir(parents=True)
    (root / "cert-manager.io" / "Certificate" / "health.lua").symlink_to(outside)
    with pytest.raises(errors.InputError) as caught:
        config.from_paths(resource_customizations=[root])
    assert "outside the repository" in str(caught.value)
    assert caught.value.exit_code == 2


CM_CASES = [
    (
        "a-split-key",
        "cert-manager.io/v1",
        "Certificate",
        "argocd-cm",
        H.HEALTHY,
        "from argocd-cm: Certificate is up to date and has not expired",
    ),
    (
        "a-glob-key-of-the-yaml-form",
        "s3.aws.crossplane.io/v1beta1",
        "Bucket",
        "argocd-cm-wildcard",
        H.HEALTHY,
        "ready (from argocd-cm wildcard)",
    ),
    (
        "a-core-kind-is-the-bare-kind",
        "v1",
        "PersistentVolumeClaim",
        "argocd-cm",
        H.SUSPENDED,
        "core kinds use the bare Kind as key",
    ),
    ("other-customization-types-are-not-health", "apps/v1", "Deployment", "built-in", None, None),
]


@pytest.mark.parametrize(
    ("name", "api_version", "kind", "source", "status", "message"), CM_CASES, ids=[c[0] for c in CM_CASES]
)
def test_an_argocd_cm_configmap_is_read_as_argo_cd_reads_it(
    name: str, api_version: str, kind: str, source: str, status: H | None, message: str | None
) -> None:
    cfg = config.from_paths(argocd_cms=[DATA / "argocd-cm.yaml"])
    group, found_kind = health.group_kind(obj(api_version, kind))
    assert health.resolve(group, found_kind, cfg)[0] == source
    if status is not None:
        target = obj(
            api_version,
            kind,
            conditions=[
                {
                    "type": "Ready",
                    "status": "True",
                    "message": "Certificate is up to date and has not expired",
                }
            ],
        )
        assert health.check(target, config=cfg) == health.HealthStatus(status, message or "")


def configmap(tmp_path: Path, data: str) -> Path:
    path = tmp_path / "argocd-cm.yaml"
    path.write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: argocd-cm, namespace: argocd}\ndata:\n"
        + textwrap.indent(textwrap.dedent(data), "  ")
    )
    return path


def test_split_keys_override_the_yaml_form_for_the_same_kind(tmp_path: Path) -> None:
    path = configmap(
        tmp_path,
        """\
        resource.customizations: |
          example.com/Widget:
            health.lua: return {status = "Degraded", message = "yaml form"}
        resource.customizations.health.example.com_Widget: return {status = "Healthy", message = "split key"}
        """,
    )
    cfg = config.from_paths(argocd_cms=[path])
    assert health.check(obj("example.com/v1", "Widget"), config=cfg) == health.HealthStatus(
        H.HEALTHY, "split key"
    )


@pytest.mark.parametrize(
    ("data", "open_libs"),
    [
        ("resource.customizations.health.Widget: x\n", False),
        (
            "resource.customizations.health.Widget: x\nresource.customizations.useOpenLibs.Widget: 'true'\n",
            True,
        ),
        ("resource.customizations.health.Widget: x\nresource.customizations.useOpenLibs.Widget: 'T'\n", True),
        ("resource.customizations: |\n  Widget: {health.lua: x, health.lua.useOpenLibs: true}\n", True),
    ],
    ids=["off-by-default", "split-key", "go-parsebool-spelling", "yaml-form"],
)
def test_use_open_libs_is_read_from_either_form(tmp_path: Path, data: str, open_libs: bool) -> None:
    cfg = config.from_paths(argocd_cms=[configmap(tmp_path, data)])
    assert [(o.key, o.check.open_libs) for o in cfg.overrides] == [("Widget", open_libs)]


def test_all_stands_for_every_group_and_kind(tmp_path: Path) -> None:
    cfg = config.from_paths(
        argocd_cms=[configmap(tmp_path, f"resource.customizations.health.all: '{says('all')}'\n")]
    )
    assert [o.key for o in cfg.overrides] == ["*/*"]
    assert health.check(obj("example.com/v1", "Widget"), config=cfg).message == "all"


BAD_CMS = [
    (
        "three-part-group-kind",
        "resource.customizations.health.a_b_c: x\n",
        "field data.resource.customizations.health.a_b_c",
    ),
    (
        "use-open-libs-not-a-boolean",
        "resource.customizations.useOpenLibs.Widget: maybe\n",
        "field data.resource.customizations.useOpenLibs.Widget",
    ),
    ("yaml-form-not-yaml", "resource.customizations: '{a: [}'\n", "field data.resource.customizations"),
    (
        "yaml-form-entry-not-a-mapping",
        "resource.customizations: |\n  Widget: 3\n",
        "field data.resource.customizations[Widget]",
    ),
]


@pytest.mark.parametrize(("name", "data", "field"), BAD_CMS, ids=[c[0] for c in BAD_CMS])
def test_a_broken_argocd_cm_is_bad_input_naming_file_and_key(
    tmp_path: Path, name: str, data: str, field: str
) -> None:
    path = configmap(tmp_path, data)
    with pytest.raises(errors.InputError) as caught:
        config.from_paths(argocd_cms=[path])
    assert str(caught.value).startswith(f"{path}: ConfigMap argocd-cm: {field}:")
    assert caught.value.exit_code == 2


def test_a_file_without_a_configmap_is_bad_input(tmp_path: Path) -> None:
    path = tmp_path / "cm.yaml"
    path.write_text("apiVersion: v1\nkind: Secret\nmetadata: {name: x}\n")
    with pytest.raises(errors.InputError, match="holds no ConfigMap"):
        config.from_paths(argocd_cms=[path])


def test_overrides_match_glob_keys_like_gobwas_glob() -> None:
    check = lua.LuaCheck(says("x"))
    assert lua.Override("*.aws.crossplane.io/*", check).matches("s3.aws.crossplane.io/Bucket")
    assert lua.Override("*/*", check).matches("apps/Deployment")
    assert lua.Override("*", check).matches("apps/Deployment")  # no separators: * crosses /
    assert lua.Override("{apps,batch}/*", check).matches("batch/Job")
    assert not lua.Override("{apps,batch}/*", check).matches("policy/PodDisruptionBudget")
    assert not lua.Override("apps/Deployment", check).matches("apps/DeploymentX")
