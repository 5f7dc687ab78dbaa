"""Which answers the client retries, how often, and what it raises when it gives up.

Exact answer sequences need exact control of the wire, so these run against the scripted fake in
tests/fixtures/kubefake.py; the simulator's fault modes are in test_client_faults.py.
"""

from __future__ import annotations

import threading
import time

import pytest

from fleet import errors, models
from fleet.clusters import client
from tests.fixtures.kubefake import CLOSE, HANG, FakeApi, status_body

VERSION = (200, {"gitVersion": "v1.31.0", "major": "1", "minor": "31"}, {})
CORE_V1 = (
    200,
    {
        "kind": "APIResourceList",
        "groupVersion": "v1",
        "resources": [
            {
                "name": "configmaps",
                "namespaced": True,
                "kind": "ConfigMap",
                "verbs": ["create", "get", "patch"],
            },
        ],
    },
    {},
)
CONFIGMAP = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm", "namespace": "default"}}


def _client(fake: FakeApi, **kw) -> client.ClusterClient:
    kw.setdefault("backoff", 0.01)
    kw.setdefault("discovery_cache", None)
    cluster = models.Cluster(name="c1", server=fake.url)
    options = {k: v for k, v in kw.items() if v is not None}
    return client.connect(cluster, **options)


def _error(code: int, reason: str, headers: dict | None = None):
    return (code, status_body(code, reason, f"{reason} said the server"), headers or {})


@pytest.mark.parametrize(
    "script, retries",
    [
        pytest.param(
            [_error(503, "ServiceUnavailable"), _error(500, "InternalError"), VERSION], 2, id="5xx-then-ok"
        ),
        pytest.param([_error(429, "TooManyRequests"), VERSION], 1, id="429-then-ok"),
        pytest.param([CLOSE, VERSION], 1, id="connection-closed-then-ok"),
    ],
)
def test_temporary_failures_are_retried_until_an_answer_comes(
    fake_api: FakeApi, script, retries: int
) -> None:
    fake_api.script = list(script)
    api = _client(fake_api)
    assert api.server_version()["gitVersion"] == "v1.31.0"
    stats = api.stats()
    assert (stats.requests, stats.retries) == (retries + 1, retries)
    assert len(fake_api.requests) == retries + 1


@pytest.mark.parametrize(
    "answer, error_type",
    [
        pytest.param(_error(503, "ServiceUnavailable"), client.ServerError, id="5xx"),
        pytest.param(_error(429, "TooManyRequests"), client.TooManyRequests, id="429"),
    ],
)
def test_after_the_last_retry_a_temporary_error_is_raised(fake_api: FakeApi, answer, error_type) -> None:
    fake_api.default = answer
    api = _client(fake_api, retries=3)
    with pytest.raises(error_type) as info:
        api.server_version()
    assert isinstance(info.value, errors.TemporaryError) and info.value.retryable
    assert len(fake_api.requests) == 4
    assert str(info.value).startswith("cluster c1: get /version failed: ")


@pytest.mark.parametrize(
    "code, reason, error_type",
    [
        pytest.param(400, "BadRequest", client.BadRequest, id="400"),
        pytest.param(401, "Unauthorized", client.Unauthorized, id="401"),
        pytest.param(403, "Forbidden", client.Forbidden, id="403"),
        pytest.param(409, "Conflict", client.Conflict, id="409"),
        pytest.param(409, "AlreadyExists", client.AlreadyExists, id="409-exists"),
        pytest.param(422, "Invalid", client.Invalid, id="422"),
    ],
)
def test_client_errors_are_not_retried_and_are_permanent(fake_api: FakeApi, code, reason, error_type) -> None:
    fake_api.script = [CORE_V1, _error(code, reason)]
    api = _client(fake_api)
    with pytest.raises(error_type) as info:
        api.create(CONFIGMAP)
    assert isinstance(info.value, errors.PermanentError) and not info.value.retryable
    assert [r.method for r in fake_api.requests] == ["GET", "POST"]
    assert (info.value.code, info.value.reason) == (code, reason)
    assert (
        str(info.value)
        == f"cluster c1: create v1 ConfigMap default/cm failed: {code} {reason}: {reason} said the server"
    )


def test_apply_retries_an_already_exists_race_but_create_does_not(fake_api: FakeApi) -> None:
    fake_api.script = [CORE_V1, _error(409, "AlreadyExists"), (200, CONFIGMAP, {})]
    api = _client(fake_api)
    assert api.apply(CONFIGMAP)["metadata"]["name"] == "cm"
    assert [r.method for r in fake_api.requests] == ["GET", "PATCH", "PATCH"]


@pytest.mark.parametrize(
    "code, reason", [(429, "TooManyRequests"), (503, "ServiceUnavailable")], ids=["429", "503"]
)
def test_retry_after_is_honoured(fake_api: FakeApi, code: int, reason: str) -> None:
    fake_api.script = [_error(code, reason, {"Retry-After": "1"}), VERSION]
    api = _client(fake_api, backoff=0.001)
    api.server_version()
    gap = fake_api.requests[1].at - fake_api.requests[0].at
    assert 1.0 <= gap < 2.5


def test_retry_after_beyond_the_cap_waits_only_the_cap(fake_api: FakeApi) -> None:
    fake_api.script = [_error(429, "TooManyRequests", {"Retry-After": "3600"}), VERSION]
    api = _client(fake_api, max_retry_after=0.2)
    started = time.monotonic()
    api.server_version()
    assert time.monotonic() - started < 1.5


def test_a_hanging_server_fails_once_after_the_read_timeout_without_retries(fake_api: FakeApi) -> None:
    fake_api.default = HANG
    api = _client(fake_api, timeout=(1.0, 0.5), retries=4)
    started = time.monotonic()
    with pytest.raises(client.ClusterUnreachable, match=r"no answer within 0.5s") as info:
        api.server_version()
    assert time.monotonic() - started < 2.0
    assert len(fake_api.requests) == 1
    assert info.value.retryable


def test_a_read_that_stalls_while_the_server_answers_others_is_sent_once_more(fake_api: FakeApi) -> None:
    # An overloaded API server (or a proxy before many clusters) leaves one answer behind while
    # it answers others: the read is sent again, once, and gets its answer (issue 15).
    first_arrived = threading.Event()

    def answers(seen) -> object:
        if not first_arrived.is_set():
            first_arrived.set()
            return HANG
        return VERSION

    fake_api.default = answers
    api = _client(fake_api, timeout=(1.0, 2.0), retries=4)
    got: dict[str, object] = {}
    stalled = threading.Thread(target=lambda: got.update(version=api.server_version()))
    stalled.start()
    assert first_arrived.wait(30)
    assert api.server_version()["gitVersion"] == "v1.31.0"  # the server answers another request
    stalled.join(30)
    assert got["version"]["gitVersion"] == "v1.31.0"
    assert len(fake_api.requests) == 3 and api.stats().retries == 1


def test_a_stalled_write_is_not_sent_again(fake_api: FakeApi) -> None:
    first_arrived = threading.Event()

    def answers(seen) -> object:
        if seen.method == "PATCH" and not first_arrived.is_set():
            first_arrived.set()
            return HANG
        return CORE_V1 if seen.path == "/api/v1" else VERSION

    fake_api.default = answers
    api = _client(fake_api, timeout=(1.0, 2.0), retries=4)
    api.resource("v1", "ConfigMap")
    failed: list[BaseException] = []

    def apply() -> None:
        try:
            api.apply(CONFIGMAP)
        except client.ClusterUnreachable as exc:
            failed.append(exc)

    stalled = threading.Thread(target=apply)
    stalled.start()
    assert first_arrived.wait(30)
    api.server_version()
    stalled.join(30)
    assert len(failed) == 1 and "no answer within 2s" in str(failed[0])
    assert [s.method for s in fake_api.requests].count("PATCH") == 1


def test_connection_refused_is_retried_then_reported_unreachable() -> None:
    api = client.connect(models.Cluster(name="gone", server="http://127.0.0.1:9"), backoff=0.01, retries=2)
    started = time.monotonic()
    with pytest.raises(client.ClusterUnreachable) as info:
        api.server_version()
    assert time.monotonic() - started < 2.0
    assert (
        str(info.value)
        == "cluster gone is unreachable: get /version: connection failed (connection refused) (after 3 attempts)"
    )
    assert api.stats().requests == 3


def test_backoff_grows_between_attempts(fake_api: FakeApi) -> None:
    fake_api.default = _error(503, "ServiceUnavailable")
    api = _client(fake_api, backoff=0.1, retries=3)
    with pytest.raises(client.ServerError):
        api.server_version()
    gaps = [b.at - a.at for a, b in zip(fake_api.requests, fake_api.requests[1:], strict=False)]
    # equal jitter: attempt n waits between half and all of backoff * 2**n
    for n, gap in enumerate(gaps):
        assert 0.1 * 2**n / 2 <= gap < 0.1 * 2**n + 0.3, gaps


def test_retry_after_on_a_permanent_error_does_not_make_it_retryable(fake_api: FakeApi) -> None:
    fake_api.script = [CORE_V1, _error(409, "Conflict", {"Retry-After": "5"})]
    with pytest.raises(client.Conflict) as info:
        _client(fake_api).create(CONFIGMAP)
    assert not info.value.retryable and info.value.retry_after is None


def test_a_non_status_error_body_is_left_out_of_the_message(fake_api: FakeApi) -> None:
    fake_api.default = (502, b"<html>proxy page with token=abc</html>", {})
    api = _client(fake_api, retries=0)
    with pytest.raises(client.ServerError) as info:
        api.server_version()
    assert "html" not in str(info.value) and "token" not in str(info.value)
