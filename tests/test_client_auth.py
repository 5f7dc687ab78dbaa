"""Authentication against the simulator: bearer tokens, exec plugins, secret references; no leaks."""

from __future__ import annotations

import json
import logging
import sys
import textwrap
from pathlib import Path

import pytest

from fleet import models, redact
from fleet.clusters import auth, client
from tests.fixtures.kubefake import SimTarget


def _with_credentials(cluster: models.Cluster, **creds) -> models.Cluster:
    return cluster.model_copy(update={"credentials": models.ClusterCredentials(**creds)})


def test_the_right_token_works_and_a_wrong_one_is_unauthorized(sim_target: SimTarget) -> None:
    good = client.connect(sim_target.cluster)
    assert good.get("v1", "Namespace", sim_target.namespace) is not None
    bad = client.connect(_with_credentials(sim_target.cluster, bearer_token="wrong-token-0000"), backoff=0.01)
    with pytest.raises(client.Unauthorized) as info:
        bad.get("v1", "Namespace", sim_target.namespace)
    assert info.value.code == 401 and not info.value.retryable
    assert bad.stats().requests == 1  # a 401 is not retried
    assert "wrong-token-0000" not in str(info.value)


def _plugin(tmp_path: Path, token: str, *, expires_in: float | None = None) -> models.ExecConfig:
    """A tiny exec credential plugin: prints an ExecCredential and counts its runs in a file."""
    script = tmp_path / "plugin.py"
    runs = tmp_path / "runs"
    expiry = ""
    if expires_in is not None:
        expiry = (
            "import datetime as dt\n"
            f"status['expirationTimestamp'] = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds={expires_in}))"
            ".strftime('%Y-%m-%dT%H:%M:%SZ')\n"
        )
    script.write_text(
        textwrap.dedent(
            """\
            import json, os, pathlib, sys
            info = json.loads(os.environ["KUBERNETES_EXEC_INFO"])
            runs = pathlib.Path(os.environ["RUNS_FILE"])
            runs.write_text(str(int(runs.read_text() or 0) + 1) if runs.exists() else "1")
            token = pathlib.Path(os.environ["TOKEN_FILE"]).read_text().strip()
            status = {"token": token}
            """
        )
        + expiry
        + "print(json.dumps({'apiVersion': info['apiVersion'], 'kind': 'ExecCredential', 'status': status}))\n"
    )
    (tmp_path / "token").write_text(token)
    return models.ExecConfig(
        command=sys.executable,
        args=(str(script),),
        env={"RUNS_FILE": str(runs), "TOKEN_FILE": str(tmp_path / "token")},
        apiVersion="client.authentication.k8s.io/v1",
    )


def _runs(tmp_path: Path) -> int:
    return int((tmp_path / "runs").read_text()) if (tmp_path / "runs").exists() else 0


def test_an_exec_plugin_token_is_used_and_cached(sim_target: SimTarget, tmp_path: Path) -> None:
    token = sim_target.cluster.credentials.bearer_token
    api = client.connect(_with_credentials(sim_target.cluster, exec=_plugin(tmp_path, token)))
    for _ in range(3):
        assert api.get("v1", "Namespace", sim_target.namespace) is not None
    assert _runs(tmp_path) == 1


def test_an_expired_exec_token_is_fetched_again(sim_target: SimTarget, tmp_path: Path) -> None:
    token = sim_target.cluster.credentials.bearer_token
    # Expires within the refresh skew: every request needs a fresh token.
    api = client.connect(_with_credentials(sim_target.cluster, exec=_plugin(tmp_path, token, expires_in=2)))
    api.get("v1", "Namespace", sim_target.namespace)
    api.get("v1", "Namespace", sim_target.namespace)
    assert _runs(tmp_path) == 2


def test_on_401_the_exec_plugin_is_run_again_once(sim_target: SimTarget, tmp_path: Path) -> None:
    api = client.connect(_with_credentials(sim_target.cluster, exec=_plugin(tmp_path, "revoked-token-1111")))
    with pytest.raises(client.Unauthorized):
        api.get("v1", "Namespace", sim_target.namespace)
    assert _runs(tmp_path) == 2  # the first token, then one fresh try after the 401
    (tmp_path / "token").write_text(
        sim_target.cluster.credentials.bearer_token
    )  # the plugin now knows better
    assert api.get("v1", "Namespace", sim_target.namespace) is not None
    assert _runs(tmp_path) == 3


@pytest.mark.parametrize(
    "command, args, message",
    [
        pytest.param(
            "/nonexistent/get-token", (), "was not found (ask the platform team)", id="missing-command"
        ),
        pytest.param(
            sys.executable,
            ("-c", "import sys; sys.stderr.write('no session'); sys.exit(3)"),
            "exited with status 3: no session",
            id="fails",
        ),
        pytest.param(sys.executable, ("-c", "print('hello')"), "not JSON", id="not-json"),
        pytest.param(
            sys.executable,
            (
                "-c",
                'print(\'{"apiVersion": "client.authentication.k8s.io/v1beta1", "kind": "ExecCredential", "status": {}}\')',
            ),
            "neither a token",
            id="no-token",
        ),
    ],
)
def test_a_failing_exec_plugin_is_a_credential_error_naming_the_cluster(
    sim_target: SimTarget, command, args, message
) -> None:
    cfg = models.ExecConfig(command=command, args=args, installHint="ask the platform team")
    api = client.connect(_with_credentials(sim_target.cluster, exec=cfg))
    with pytest.raises(auth.CredentialError) as info:
        api.get("v1", "Namespace", sim_target.namespace)
    assert message in str(info.value)
    assert str(info.value).startswith(f"cluster {sim_target.cluster.name}: exec credential plugin")


def test_secret_references_are_resolved_through_the_resolver_at_connect_time(sim_target: SimTarget) -> None:
    token = sim_target.cluster.credentials.bearer_token
    asked: list[str] = []

    def resolver(ref: str) -> str:
        asked.append(ref)
        return token

    ref = "ref+vault://kv/data/clusters/{{name}}#/token"
    api = client.connect(
        _with_credentials(sim_target.cluster, bearer_token=ref), credential_resolver=resolver
    )
    assert asked == [ref]
    assert api.get("v1", "Namespace", sim_target.namespace) is not None
    assert redact.mask(f"x {token} y") == "x *** y"


def test_a_reference_without_a_resolver_is_a_credential_error() -> None:
    cluster = models.Cluster(
        name="refd",
        server="http://127.0.0.1:9",
        credentials=models.ClusterCredentials(bearer_token="ref+vault://kv/x#/t"),
    )
    with pytest.raises(
        auth.CredentialError, match=r"credential bearer_token is a secret reference \(ref\+vault://kv/x#/t\)"
    ):
        client.connect(cluster)


def test_a_resolver_failure_names_the_reference_not_the_value() -> None:
    def resolver(ref: str) -> str:
        raise RuntimeError("backend said: the value is hunter2-hunter2")

    cluster = models.Cluster(
        name="refd",
        server="http://127.0.0.1:9",
        credentials=models.ClusterCredentials(bearer_token="ref+vault://kv/x#/t"),
    )
    with pytest.raises(auth.CredentialError) as info:
        client.connect(cluster, credential_resolver=resolver)
    assert "ref+vault://kv/x#/t" in str(info.value) and "hunter2" not in str(info.value)


def test_nothing_secret_reaches_logs_or_error_text(
    sim_target: SimTarget, caplog: pytest.LogCaptureFixture
) -> None:
    """Debug logging on everywhere (fleet, kubernetes, urllib3), Secret data and tokens flowing."""
    caplog.set_level(logging.DEBUG)
    fleet_logger = logging.getLogger("fleet")  # the CLI may have stopped it propagating to the root
    fleet_logger.addHandler(caplog.handler)
    level = fleet_logger.level
    fleet_logger.setLevel(logging.DEBUG)
    try:
        _exercise_with_secrets(sim_target, caplog)
    finally:
        fleet_logger.removeHandler(caplog.handler)
        fleet_logger.setLevel(level)


def _exercise_with_secrets(sim_target: SimTarget, caplog: pytest.LogCaptureFixture) -> None:
    token = sim_target.cluster.credentials.bearer_token
    secret_value = "s3cr3t-db-password-42"
    redact.register(secret_value)
    api = client.connect(sim_target.cluster)
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db", "namespace": sim_target.namespace},
        "stringData": {"password": secret_value},
    }
    api.apply(secret)
    api.get("v1", "Secret", "db", sim_target.namespace)
    api.list("v1", "Secret", namespace=sim_target.namespace)
    failures: list[str] = []
    for bad in (
        {**secret, "metadata": {"name": "db", "namespace": "missing-ns"}},  # 404
        {**secret, "type": 12345},  # invalid
    ):
        try:
            api.apply(bad)
        except client.ApiError as exc:
            failures.append(str(exc))
    wrong = client.connect(_with_credentials(sim_target.cluster, bearer_token="definitely-wrong-token"))
    with pytest.raises(client.Unauthorized) as info:
        wrong.apply(secret)
    failures.append(str(info.value))
    text = (
        caplog.text
        + "\n".join(failures)
        + json.dumps([r.__dict__.get("fields", {}) for r in caplog.records], default=str)
    )
    assert failures
    assert any(
        r.name.startswith("fleet.clusters.client") for r in caplog.records
    )  # there was logging to check
    for value in (token, secret_value, "definitely-wrong-token"):
        assert value not in text
    import base64

    assert base64.b64encode(secret_value.encode()).decode() not in text
