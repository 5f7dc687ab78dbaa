"""A webhook URL is a credential: it may be a secret reference (ref+vault://...#/url, or a part of
the URL), resolved only when the notification is sent; the URL (resolved or given) is registered
with fleet.redact, never in a repr, and the log names only its host, through the library and
through `fleet sync --notify-webhook`."""

from __future__ import annotations

from fleet import notify, redact
from tests import notify_helpers as h
from tests.fixtures.notify import text_of

TOKEN = "T0001/B0002/vaultHeldToken99"
REF = "ref+vault://secret/data/notify/hook#/url"
RUN = h.run({("c001", "web"): "Synced/Healthy"}, run_id="r1")


def test_a_vault_reference_is_resolved_at_send_time_and_never_logged(
    vault_env, webhook_server, tmp_path, notify_log
) -> None:
    url = webhook_server.url(f"/services/{TOKEN}")
    vault_env.put_secret("secret", "notify/hook", {"url": url})
    settings = notify.NotifySettings.from_options(webhooks=[REF], on="always")
    assert vault_env.request_count("secret/") == 0  # nothing resolved before the run ends
    assert REF not in repr(settings) and "vault" not in repr(settings)
    outcome = notify.after_run(RUN, settings, state_dir=tmp_path)
    (delivery,) = outcome.deliveries
    assert delivery.ok and delivery.where == "127.0.0.1"
    (received,) = webhook_server.received
    assert received.path == f"/services/{TOKEN}"
    assert vault_env.request_count("secret/data/notify/hook") == 1
    assert TOKEN not in text_of(notify_log)
    assert redact.mask(f"posting to {url}") == "posting to ***"


def test_a_reference_inside_a_url_is_resolved_too(webhook_server, tmp_path) -> None:
    url = f"http://ref+echo://127.0.0.1:{webhook_server.port}/hook"
    settings = notify.NotifySettings.from_options(webhooks=[url], on="always")
    (delivery,) = notify.after_run(RUN, settings, state_dir=tmp_path).deliveries
    assert delivery.ok and [r.path for r in webhook_server.received] == ["/hook"]


def test_a_reference_that_does_not_resolve_is_a_warning_naming_the_reference(
    vault_env, tmp_path, notify_log
) -> None:
    settings = notify.NotifySettings.from_options(
        webhooks=["ref+vault://secret/data/nowhere#/url"], on="always"
    )
    (delivery,) = notify.after_run(RUN, settings, state_dir=tmp_path).deliveries
    assert not delivery.ok and delivery.where == "(secret reference)"
    assert "the URL did not resolve" in delivery.error and "secret/data/nowhere" in delivery.error
    (warning,) = [r for r in notify_log if r.levelname == "WARNING"]
    assert warning.fields["host"] == "(secret reference)"


def test_a_reference_resolving_to_something_else_than_a_url_is_a_warning(tmp_path, notify_log) -> None:
    settings = notify.NotifySettings.from_options(webhooks=["ref+echo://not/a/url"], on="always")
    (delivery,) = notify.after_run(RUN, settings, state_dir=tmp_path).deliveries
    assert not delivery.ok and "resolves to something that is not an http(s) URL" in delivery.error
    assert "not/a/url" not in text_of(notify_log)


def test_fleet_sync_resolves_the_reference_and_logs_only_the_host(
    make_fleet, vault_env, webhook_server
) -> None:
    env = make_fleet("basic", clusters=1)
    vault_env.put_secret("secret", "notify/hook", {"url": webhook_server.url(f"/services/{TOKEN}")})
    run = env.sync("--notify-webhook", REF)
    assert run.exit_code == 0, run.stderr
    (body,) = webhook_server.bodies()
    assert body["run_id"] == run.run_result.run_id and body["ok"] is True
    assert TOKEN not in run.stderr and TOKEN not in run.stdout
    assert '"msg": "notification sent to webhook"' in run.stderr and '"host": "127.0.0.1"' in run.stderr
