"""AppProject restrictions (fleet.projects), case by case against Argo CD's documented rules
(docs/user-guide/projects.md) and its AppProject code: sourceRepos globs with '/' separators and
'!' denials, destinations by server or name plus namespace with '!' denials, cluster-scoped kinds
only when whitelisted, namespaced kinds unless blacklisted (or outside a set whitelist)."""

from __future__ import annotations

import pytest

from fleet import argo, errors, projects


def project(**spec) -> projects.ProjectRules:
    doc = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AppProject",
        "metadata": {"name": "team"},
        "spec": spec,
    }
    return projects.ProjectRules.from_project(argo.AppProject.model_validate(doc))


NORMALIZE = [
    pytest.param(
        "https://GitHub.com/Org/Repo.git", "https://github.com/org/repo", id="lower-case-no-dot-git"
    ),
    pytest.param("git@github.com:org/repo.git", "git@github.com/org/repo", id="scp-style-ssh"),
    pytest.param("ssh://git@github.com/org/repo", "git@github.com/org/repo", id="ssh-url"),
    pytest.param(" https://x.example/a ", "https://x.example/a", id="trimmed"),
]


@pytest.mark.parametrize("url, expected", NORMALIZE)
def test_repository_urls_are_normalised_as_argo_cd_does(url, expected) -> None:
    assert projects.normalize_git_url(url) == expected


SOURCES = [
    pytest.param(["*"], "https://anything.example/x/y", True, id="star-permits-all"),
    pytest.param(
        ["https://github.com/org/repo"], "https://github.com/org/repo.git", True, id="exact-after-normalising"
    ),
    pytest.param(
        ["https://github.com/org/*"], "https://github.com/org/repo", True, id="star-within-a-segment"
    ),
    pytest.param(
        ["https://github.com/org/*"], "https://github.com/org/team/repo", False, id="star-stops-at-slash"
    ),
    pytest.param(
        ["https://github.com/org/**"], "https://github.com/org/team/repo", True, id="double-star-crosses"
    ),
    pytest.param(
        ["https://github.com/{org,other}/repo"], "https://github.com/other/repo", True, id="alternatives"
    ),
    pytest.param([], "https://github.com/org/repo", False, id="none-permits-nothing"),
    pytest.param(["!https://github.com/org/bad", "*"], "https://github.com/org/bad", False, id="deny-wins"),
    pytest.param(
        ["!https://github.com/org/bad", "*"], "https://github.com/org/good", True, id="deny-other-allowed"
    ),
    pytest.param(
        ["!https://gitlab.com/group/**", "*"], "https://gitlab.com/group/a/b", False, id="deny-glob"
    ),
    # Argo CD's code: a deny pattern that does not reject counts as a match on its own.
    pytest.param(
        ["!https://github.com/org/bad"], "https://github.com/org/good", True, id="lone-deny-permits-others"
    ),
    pytest.param(["git@github.com:org/*"], "ssh://git@github.com/org/repo.git", True, id="ssh-forms-compare"),
]


@pytest.mark.parametrize("repos, url, permitted", SOURCES)
def test_source_repositories_follow_argo_cd_matching(repos, url, permitted) -> None:
    assert projects.source_permitted(project(sourceRepos=repos), url) is permitted


DESTINATIONS = [
    pytest.param([{"server": "*", "namespace": "*"}], ("https://c1", "c1", "web"), True, id="any"),
    pytest.param(
        [{"server": "https://c1", "namespace": "web"}], ("https://c1", "c1", "web"), True, id="exact-server"
    ),
    pytest.param([{"name": "c1", "namespace": "web"}], ("https://c1", "c1", "web"), True, id="by-name"),
    pytest.param([{"name": "c*", "namespace": "team-*"}], ("https://x", "c9", "team-a"), True, id="globs"),
    pytest.param(
        [{"server": "https://c1", "namespace": "web"}],
        ("https://c1", "c1", "api"),
        False,
        id="namespace-must-match",
    ),
    pytest.param(
        [{"server": "https://c2", "namespace": "*"}],
        ("https://c1", "c1", "web"),
        False,
        id="server-must-match",
    ),
    pytest.param(
        [{"server": "*", "namespace": "!kube-system"}, {"server": "*", "namespace": "*"}],
        ("https://c1", "c1", "kube-system"),
        False,
        id="negated-namespace",
    ),
    pytest.param(
        [{"server": "*", "namespace": "!kube-system"}, {"server": "*", "namespace": "*"}],
        ("https://c1", "c1", "web"),
        True,
        id="negated-namespace-others-fine",
    ),
    pytest.param(
        [{"server": "!https://team1-*", "namespace": "*"}, {"server": "*", "namespace": "*"}],
        ("https://team1-eu", "t", "web"),
        False,
        id="negated-server",
    ),
    pytest.param(
        [{"name": "!prod-*", "server": "*", "namespace": "*"}],
        ("https://p", "prod-1", "web"),
        True,
        id="server-match-beats-name-in-same-entry",
    ),
    pytest.param(
        [{"name": "!prod-*", "namespace": "*"}, {"server": "*", "namespace": "*"}],
        ("https://p", "prod-1", "web"),
        False,
        id="negated-name",
    ),
    pytest.param([], ("https://c1", "c1", "web"), False, id="no-destinations"),
]


@pytest.mark.parametrize("destinations, where, permitted", DESTINATIONS)
def test_destinations_follow_argo_cd_matching(destinations, where, permitted) -> None:
    server, name, namespace = where
    rules = project(destinations=destinations)
    assert projects.destination_permitted(rules, server=server, name=name, namespace=namespace) is permitted


KINDS = [
    pytest.param({}, ("", "Namespace"), False, False, id="cluster-scoped-needs-a-whitelist"),
    pytest.param({}, ("apps", "Deployment"), True, True, id="namespaced-allowed-by-default"),
    pytest.param(
        {"clusterResourceWhitelist": [{"group": "", "kind": "Namespace"}]},
        ("", "Namespace"),
        False,
        True,
        id="whitelisted-cluster-kind",
    ),
    pytest.param(
        {"clusterResourceWhitelist": [{"group": "", "kind": "Namespace"}]},
        ("rbac.authorization.k8s.io", "ClusterRole"),
        False,
        False,
        id="other-cluster-kind",
    ),
    pytest.param(
        {
            "clusterResourceWhitelist": [{"group": "*", "kind": "*"}],
            "clusterResourceBlacklist": [{"group": "rbac.authorization.k8s.io", "kind": "Cluster*"}],
        },
        ("rbac.authorization.k8s.io", "ClusterRoleBinding"),
        False,
        False,
        id="cluster-blacklist-glob",
    ),
    pytest.param(
        {"namespaceResourceBlacklist": [{"group": "", "kind": "ResourceQuota"}]},
        ("", "ResourceQuota"),
        True,
        False,
        id="namespace-blacklist",
    ),
    pytest.param(
        {"namespaceResourceWhitelist": [{"group": "apps", "kind": "*"}]},
        ("", "ConfigMap"),
        True,
        False,
        id="namespace-whitelist-limits",
    ),
    pytest.param(
        {"namespaceResourceWhitelist": [{"group": "apps", "kind": "*"}]},
        ("apps", "Deployment"),
        True,
        True,
        id="namespace-whitelist-allows",
    ),
    pytest.param(
        {"namespaceResourceWhitelist": []},
        ("", "ConfigMap"),
        True,
        False,
        id="empty-namespace-whitelist-permits-none",
    ),
    pytest.param(
        {"namespaceResourceBlacklist": [{"group": "*", "kind": "*"}]},
        ("apps", "Deployment"),
        True,
        False,
        id="blacklist-everything",
    ),
]


@pytest.mark.parametrize("spec, group_kind, namespaced, permitted", KINDS)
def test_kinds_follow_argo_cd_white_and_blacklists(spec, group_kind, namespaced, permitted) -> None:
    group, kind = group_kind
    assert projects.group_kind_permitted(project(**spec), group, kind, namespaced=namespaced) is permitted


def test_the_default_project_is_permissive_unless_the_fleet_defines_it() -> None:
    rules = projects.rules_by_name([])
    default = rules["default"]
    assert projects.source_permitted(default, "https://any.example/x")
    assert projects.destination_permitted(default, server="https://c", name="c", namespace="kube-system")
    assert projects.group_kind_permitted(
        default, "rbac.authorization.k8s.io", "ClusterRole", namespaced=False
    )
    locked = argo.AppProject.model_validate(
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "AppProject",
            "metadata": {"name": "default"},
            "spec": {"sourceRepos": [], "destinations": []},
        }
    )
    assert not projects.source_permitted(projects.rules_by_name([locked])["default"], "https://any.example/x")


@pytest.mark.parametrize(
    "spec, field",
    [
        pytest.param({"sourceRepos": ["!*"]}, "spec.sourceRepos[0]", id="deny-every-source"),
        pytest.param(
            {"destinations": [{"server": "*", "namespace": "!*"}]},
            "spec.destinations[0].namespace",
            id="deny-every-namespace",
        ),
        pytest.param(
            {"clusterResourceWhitelist": [{"group": "apps"}]},
            "spec.clusterResourceWhitelist[0]",
            id="kind-missing",
        ),
    ],
)
def test_an_invalid_project_is_bad_input_naming_the_project_and_field(spec, field) -> None:
    with pytest.raises(errors.InputError) as caught:
        project(**spec)
    assert "AppProject team" in str(caught.value) and field in str(caught.value)


def test_denied_objects_name_the_object_and_the_reason() -> None:
    rules = project(destinations=[{"server": "*", "namespace": "web"}])
    objects = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "web"}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "web"}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b", "namespace": "kube-system"}},
    ]
    denied = projects.denied_objects(
        rules, objects, cluster_scoped={("", "Namespace")}, server="https://c", name="c"
    )
    assert len(denied) == 2
    assert "cluster-scoped resource ''/Namespace is not permitted in project team" in denied[0]
    assert "namespace kube-system is not a permitted destination" in denied[1]
