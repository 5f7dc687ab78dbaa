"""`fleet sync` and `fleet generate` reading private git repositories with Argo CD repository
Secrets passed with ``--repo-creds``: an Application whose source is a repository behind HTTP basic
auth, its password a Vault reference (``ref+vault://``) resolved on the driver; an ApplicationSet
whose git generator lists a repository over SSH (private key and known hosts). The password and
the key are in no output, log line (debug included), error, file of the git cache, mirror config
or the status store, not even masked."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from typer.testing import CliRunner

from fleet import redact
from fleet.cli import app
from tests.fixtures.git_servers import PASSWORD, USER, make_bare

CONFIG_MAP = (
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: private-config\ndata:\n  from: private-repo\n"
)


def _files_holding(root: Path, *texts: str) -> list[str]:
    return [
        str(p) for p in root.rglob("*") if p.is_file() and any(t.encode() in p.read_bytes() for t in texts)
    ]


def _repository_secret(url: str, **fields: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": "private-apps",
            "namespace": "argocd",
            "labels": {"argocd.argoproj.io/secret-type": "repository"},
        },
        "stringData": {"type": "git", "url": url, **fields},
    }


def test_an_application_from_a_private_repository_syncs_with_a_vault_held_password(
    make_fleet, git_http_factory, vault_env, tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("FLEET_CACHE_DIR", str(tmp_path / "cache"))
    vault_env.put_secret("secret", "git/apps", {"password": PASSWORD})
    server = git_http_factory()
    make_bare(server.root, "apps.git", {"web/config.yaml": CONFIG_MAP})
    env = make_fleet("basic", clusters=1)
    cluster = env.cluster_names[0]
    env.write(
        "private.yaml",
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Application",
            "metadata": {"name": "private", "namespace": "argocd"},
            "spec": {
                "project": "default",
                "source": {"repoURL": server.url("apps.git"), "targetRevision": "main", "path": "web"},
                "destination": {"name": cluster, "namespace": "private"},
                "syncPolicy": {"syncOptions": ["CreateNamespace=true"]},
            },
        },
    )
    creds = tmp_path / "repo-creds.yaml"
    creds.write_text(
        yaml.safe_dump(
            _repository_secret(
                server.url("apps.git"), username=USER, password="ref+vault://secret/data/git/apps#/password"
            )
        )
    )
    run = env.run(
        "--verbose", "--log-format", "json", "sync", *env.args("--repo-creds", str(creds)), "-o", "json"
    )
    assert run.exit_code == 0, run.stderr
    assert run.app(cluster, "private").ok
    assert [o["data"] for o in env.objects(cluster, "private", "ConfigMap")] == [{"from": "private-repo"}]
    assert vault_env.request_count("secret/data/git/apps") == 1
    assert server.authenticated >= 2

    # (The Vault test server's root token, "root", is masked too; so only the password is searched.)
    for text in (run.stdout, run.stderr):
        assert PASSWORD not in text
    assert _files_holding(tmp_path / "cache", PASSWORD) == []
    assert _files_holding(env.state_dir, PASSWORD) == []
    mirror_configs = list((tmp_path / "cache" / "git").glob("*.git/config"))
    assert mirror_configs and all(USER not in p.read_text() for p in mirror_configs)


def test_a_refused_password_fails_the_application_without_quoting_it(
    make_fleet, git_http_factory, tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("FLEET_CACHE_DIR", str(tmp_path / "cache"))
    server = git_http_factory()
    make_bare(server.root, "apps.git", {"web/config.yaml": CONFIG_MAP})
    env = make_fleet("basic", clusters=1)
    cluster = env.cluster_names[0]
    env.write(
        "private.yaml",
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Application",
            "metadata": {"name": "private", "namespace": "argocd"},
            "spec": {
                "project": "default",
                "source": {"repoURL": server.url("apps.git"), "targetRevision": "main", "path": "web"},
                "destination": {"name": cluster, "namespace": "private"},
            },
        },
    )
    wrong = "wrong-Pa55-Kq2"
    creds = tmp_path / "repo-creds.yaml"
    creds.write_text(
        yaml.safe_dump(_repository_secret(server.url("apps.git"), username=USER, password=wrong))
    )
    run = env.sync("--repo-creds", str(creds))
    assert run.exit_code == 1
    private = run.app(cluster, "private")
    assert private.reason.value == "SourceFailed" and "clone failed" in private.message
    assert run.app(cluster, f"web-{cluster}").ok  # the rest of the fleet syncs
    for text in (run.stdout, run.stderr):
        assert wrong not in text and redact.MASK not in text
    assert _files_holding(tmp_path / "cache", wrong) == [] and _files_holding(env.state_dir, wrong) == []


def test_fleet_generate_lists_a_private_repository_over_ssh(git_sshd, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("FLEET_CACHE_DIR", str(tmp_path / "cache"))
    make_bare(git_sshd.root, "apps.git", {"apps/web/a.yaml": "a: 1\n", "apps/api/b.yaml": "b: 2\n"})
    url = git_sshd.url("apps.git")
    appset = tmp_path / "appset.yaml"
    appset.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "argoproj.io/v1alpha1",
                "kind": "ApplicationSet",
                "metadata": {"name": "apps", "namespace": "argocd"},
                "spec": {
                    "generators": [
                        {"git": {"repoURL": url, "revision": "main", "directories": [{"path": "apps/*"}]}}
                    ],
                    "template": {
                        "metadata": {"name": "{{path.basename}}"},
                        "spec": {
                            "project": "default",
                            "source": {"repoURL": url, "targetRevision": "main", "path": "{{path}}"},
                            "destination": {
                                "server": "https://kubernetes.default.svc",
                                "namespace": "{{path.basename}}",
                            },
                        },
                    },
                },
            }
        )
    )
    creds = tmp_path / "repo-creds.yaml"
    creds.write_text(
        yaml.safe_dump_all(
            [
                {
                    **_repository_secret(url, sshPrivateKey=git_sshd.client_key),
                    "stringData": {
                        "type": "git",
                        "url": f"ssh://{git_sshd.user}@127.0.0.1:{git_sshd.port}",
                        "sshPrivateKey": git_sshd.client_key,
                    },
                    "metadata": {
                        "name": "ssh-creds",
                        "namespace": "argocd",
                        "labels": {"argocd.argoproj.io/secret-type": "repo-creds"},
                    },
                },
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {"name": "argocd-ssh-known-hosts-cm", "namespace": "argocd"},
                    "data": {"ssh_known_hosts": git_sshd.known_hosts_line() + "\n"},
                },
            ]
        )
    )
    result = CliRunner().invoke(
        app, ["--log-format", "json", "-v", "generate", str(appset), "--repo-creds", str(creds), "-o", "json"]
    )
    assert result.exit_code == 0, result.stderr
    assert sorted(a["metadata"]["name"] for a in json.loads(result.stdout)) == ["api", "web"]
    key_line = git_sshd.client_key.strip().splitlines()[1]
    assert key_line not in result.stdout + result.stderr
    assert _files_holding(tmp_path / "cache", key_line) == []


def test_fleet_sync_reads_repository_secrets_live_with_argocd_context(
    make_fleet, git_http_factory, tmp_path, monkeypatch
) -> None:
    from tests import argocd_namespace

    monkeypatch.setenv("FLEET_CACHE_DIR", str(tmp_path / "cache"))
    server = git_http_factory()
    make_bare(server.root, "apps.git", {"web/config.yaml": CONFIG_MAP})
    env = make_fleet("basic", clusters=2)
    management, target = env.cluster_names
    env.write(
        "private.yaml",
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Application",
            "metadata": {"name": "private", "namespace": "argocd"},
            "spec": {
                "project": "default",
                "source": {"repoURL": server.url("apps.git"), "targetRevision": "main", "path": "web"},
                "destination": {"name": target, "namespace": "private"},
                "syncPolicy": {"syncOptions": ["CreateNamespace=true"]},
            },
        },
    )
    argocd_namespace.ensure_namespace(env.sim, management)
    env.sim.apply_object(
        management,
        _repository_secret(server.url("apps.git").rsplit("/", 1)[0], username=USER, password=PASSWORD)
        | {
            "metadata": {
                "name": "org-creds",
                "namespace": "argocd",
                "labels": {"argocd.argoproj.io/secret-type": "repo-creds"},
            }
        },
    )
    kubeconfig = str(env.sim.write_kubeconfig(tmp_path / "kubeconfig"))
    run = env.sync("--argocd-context", management, "--kubeconfig", kubeconfig)
    assert run.exit_code == 0, run.stderr
    assert run.app(target, "private").ok
    assert [o["data"] for o in env.objects(target, "private", "ConfigMap")] == [{"from": "private-repo"}]
    assert PASSWORD not in run.stdout + run.stderr
    assert (
        _files_holding(tmp_path / "cache", PASSWORD) == [] and _files_holding(env.state_dir, PASSWORD) == []
    )
