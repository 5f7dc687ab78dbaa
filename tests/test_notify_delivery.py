"""Delivery to a webhook on a loopback test server: a 2xx is success; 5xx, 429 and connection errors
are retried a bounded number of times with doubling backoff; other answers are not retried; a
slow endpoint times out; a target that fails only logs a warning (host only, never the URL's
path) and after_run never raises."""

from __future__ import annotations

import logging
import time

import pytest

from fleet import errors, notify
from tests import notify_helpers as h
from tests.fixtures.notify import text_of

TOKEN_PATH = "/services/T0001/B0002/sEcReTtOkEn42"


def settings(*urls: str, retries: int = 2, timeout: float = 5.0, sleep=None) -> notify.NotifySettings:
    transport = notify.Transport(timeout=timeout, retries=retries, backoff=0.01, sleep=sleep or time.sleep)
    return notify.NotifySettings(webhooks=urls, on=notify.NotifyOn.ALWAYS, transport=transport)


RUN = h.run({("c001", "web"): "OutOfSync/Degraded"}, run_id="r9")


def test_a_503_is_retried_then_the_notification_arrives(webhook_server, tmp_path, notify_log) -> None:
    webhook_server.script(503, 200)
    outcome = notify.after_run(RUN, settings(webhook_server.url(TOKEN_PATH)), state_dir=tmp_path)
    (delivery,) = outcome.deliveries
    assert (delivery.ok, delivery.status, delivery.attempts, delivery.where) == (True, 200, 2, "127.0.0.1")
    assert webhook_server.answers == [503, 200]
    (received,) = webhook_server.received
    assert received.path == TOKEN_PATH and received.headers["Content-Type"] == "application/json"
    assert received.json["run_id"] == "r9" and received.json["schema"] == "fleet.notification/v1"
    assert "retrying" in text_of(notify_log) and "sEcReTtOkEn42" not in text_of(notify_log)


ANSWERS = [
    pytest.param([503, 503, 503], 3, "HTTP 503 after 3 attempts", id="5xx-until-the-retries-run-out"),
    pytest.param([429, 429, 429], 3, "HTTP 429 after 3 attempts", id="429-is-retried-too"),
    pytest.param([404], 1, "HTTP 404 after 1 attempt", id="4xx-is-not-retried"),
    pytest.param([302], 1, "HTTP 302", id="a-redirect-is-not-followed"),
]


@pytest.mark.parametrize("script, attempts, error", ANSWERS)
def test_an_endpoint_that_keeps_refusing_is_a_warning(
    webhook_server, tmp_path, notify_log, script, attempts, error
) -> None:
    webhook_server.script(*script)
    outcome = notify.after_run(RUN, settings(webhook_server.url(TOKEN_PATH)), state_dir=tmp_path)
    (delivery,) = outcome.deliveries
    assert not delivery.ok and delivery.attempts == attempts and error in delivery.error
    assert webhook_server.answers == script and webhook_server.received == []
    warnings = [r for r in notify_log if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and warnings[0].fields["host"] == "127.0.0.1"
    assert "sEcReTtOkEn42" not in text_of(notify_log)


def test_a_dead_endpoint_is_retried_then_only_logged(dead_url, tmp_path, notify_log) -> None:
    outcome = notify.after_run(RUN, settings(dead_url + "/sEcReTtOkEn42"), state_dir=tmp_path)
    (delivery,) = outcome.deliveries
    assert not delivery.ok and delivery.attempts == 3
    assert delivery.error == "connection refused after 3 attempts"
    (warning,) = [r for r in notify_log if r.levelno == logging.WARNING]
    assert warning.fields["error"] == "connection refused after 3 attempts"
    assert "sEcReTtOkEn42" not in text_of(notify_log)


def test_backoff_doubles_between_attempts(webhook_server) -> None:
    slept: list[float] = []
    webhook_server.script(500, 502, 504, 200)
    transport = notify.Transport(retries=3, backoff=0.25, sleep=slept.append)
    delivered = notify.post_json(webhook_server.url(), {"a": 1}, transport=transport)
    assert delivered.ok and delivered.attempts == 4
    assert slept == [0.25, 0.5, 1.0]


def test_a_slow_endpoint_times_out_within_the_timeout(webhook_server) -> None:
    webhook_server.delay = 8.0
    started = time.monotonic()
    with pytest.raises(notify.DeliveryError) as caught:
        notify.post_json(webhook_server.url(), {"a": 1}, transport=notify.Transport(timeout=0.2, retries=0))
    assert time.monotonic() - started < 6  # given up well before the endpoint's answer
    assert str(caught.value) == "timed out after 1 attempt" and caught.value.retryable


def test_one_failing_target_does_not_stop_the_others(webhook_server, dead_url, tmp_path) -> None:
    outcome = notify.after_run(RUN, settings(dead_url, webhook_server.url(), retries=0), state_dir=tmp_path)
    assert [d.ok for d in outcome.deliveries] == [False, True]
    assert len(webhook_server.received) == 1


def test_a_broken_status_store_is_a_warning_not_an_error(tmp_path, notify_log) -> None:
    (tmp_path / "status.db").write_text("this is not a database")
    outcome = notify.after_run(RUN, settings("http://127.0.0.1:9/x"), state_dir=tmp_path)
    assert outcome.notification is None and outcome.deliveries == ()
    assert [r.getMessage() for r in notify_log if r.levelno == logging.WARNING] == [
        "notification not sent: the previous run could not be read"
    ]


def test_abandoning_the_run_in_long_running_mode_is_not_swallowed(
    webhook_server, tmp_path, monkeypatch
) -> None:
    def second_signal(*_args, **_kwargs):
        raise errors.RunAbandoned("SIGINT again: abandoning the current run")

    monkeypatch.setattr(notify, "post_json", second_signal)
    with pytest.raises(errors.RunAbandoned):
        notify.after_run(RUN, settings(webhook_server.url(), webhook_server.url()), state_dir=tmp_path)
