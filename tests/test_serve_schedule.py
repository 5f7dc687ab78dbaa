"""When `fleet serve` runs the whole fleet on its own: a cron expression read in its time zone
(daylight-saving changes included), or an interval moved by up to 10% jitter; a server runs
when its clock reaches the time. Bad schedule or listen flags are bad input (exit 2) before
anything listens or runs."""

from __future__ import annotations

import datetime as dt
import random
import socket
import zoneinfo

import pytest
from typer.testing import CliRunner

from fleet import store
from fleet.cli import app
from fleet.serve import schedule, server
from tests import serve_helpers as sh
from tests.store_helpers import START, ManualClock


def at(text: str, zone: str) -> float:
    return dt.datetime.fromisoformat(text).replace(tzinfo=zoneinfo.ZoneInfo(zone)).timestamp()


CRON = [
    pytest.param(
        "*/15 * * * *", "UTC", "2027-01-15T08:07:00", "2027-01-15T08:15:00", id="every-quarter-hour"
    ),
    pytest.param(
        "0 2 * * *", "Europe/Paris", "2027-01-15T08:00:00", "2027-01-16T02:00:00", id="paris-winter"
    ),
    pytest.param(
        "0 2 * * *", "Europe/Paris", "2027-07-15T08:00:00", "2027-07-16T02:00:00", id="paris-summer"
    ),
    # 02:30 does not exist on 2027-03-28 in Paris (02:00 -> 03:00): the first time after it.
    pytest.param(
        "30 2 * * *", "Europe/Paris", "2027-03-27T12:00:00", "2027-03-28T03:00:00", id="skipped-by-dst"
    ),
    pytest.param(
        "0 9 * * 1-5", "America/New_York", "2027-01-15T10:00:00", "2027-01-18T09:00:00", id="weekdays"
    ),
]


@pytest.mark.parametrize("expression, zone, now, expected", CRON)
def test_a_cron_schedule_is_read_in_its_time_zone(expression, zone, now, expected) -> None:
    plan = schedule.parse(None, expression, zone)
    assert plan.next_after(at(now, zone)) == at(expected, zone)
    assert zone in plan.describe()


def test_an_interval_is_jittered_by_at_most_a_tenth() -> None:
    plan = schedule.Interval(300.0, rng=random.Random(7))
    gaps = [plan.next_after(1000.0) - 1000.0 for _ in range(200)]
    assert all(270.0 <= gap <= 330.0 for gap in gaps)
    assert max(gaps) - min(gaps) > 30.0  # spread, not a constant


def test_no_schedule_never_runs_on_its_own() -> None:
    assert schedule.parse(None, None, None).next_after(START) is None


def test_a_server_runs_the_whole_fleet_when_its_cron_time_comes(make_fleet) -> None:
    env = make_fleet("basic", clusters=2)
    clock = ManualClock(START + 60)  # 08:01 UTC
    srv = sh.make_server(env, plan=schedule.Cron("*/5 * * * *", "UTC"), clock=clock)
    with server.running(srv):
        # The worker waits on the clock once it has planned its next run (``running`` returns
        # when the HTTP server listens, which can be before that).
        assert clock.wait_for_waiters(1)
        assert srv.worker.next_at == START + 300  # 08:05
        clock.advance(200)  # 08:04:20: not yet
        assert clock.wait_for_waiters(1) and srv.worker.finished == 0
        clock.advance(45)  # 08:05:05
        assert srv.worker.wait_finished(1, timeout=120)
        assert srv.worker.next_at == START + 600
    (run,) = store.Store(env.state_dir).runs()
    assert sorted(a.name for a in run.apps()) == ["web-c001", "web-c002"]


BAD = [
    pytest.param(("--schedule", "61 * * * *"), "--schedule", id="not-a-cron-expression"),
    pytest.param(("--schedule", "0 2 * * *", "--timezone", "Mars/Olympus"), "--timezone", id="unknown-zone"),
    pytest.param(("--timezone", "UTC"), "--timezone", id="zone-without-schedule"),
    pytest.param(("--every", "5m", "--schedule", "0 2 * * *"), "--schedule", id="both-schedules"),
    pytest.param(("--every", "0s"), "--every", id="zero-interval"),
    pytest.param(("--listen", "127.0.0.1:99999"), "--listen", id="port-out-of-range"),
    pytest.param(("--listen", "localhost"), "--listen", id="no-port"),
]


@pytest.mark.parametrize("flags, field", BAD)
def test_bad_schedule_and_listen_flags_are_bad_input(make_fleet, flags, field) -> None:
    env = make_fleet("basic", clusters=1)
    result = CliRunner().invoke(app, ["serve", *env.args("--listen", "127.0.0.1:0", *flags)])
    assert result.exit_code == 2, result.output
    assert field in result.stderr
    assert env.sim.request_counts("c001")["total"] == 0


@pytest.mark.parametrize(
    "flags, says",
    [
        pytest.param(("--ray-placement", "site=eu"), "want SELECTOR:RESOURCE", id="pin-without-a-resource"),
        pytest.param(("--ray-runtime-env", "docker"), "wheel", id="unknown-runtime-env"),
    ],
)
def test_serve_checks_the_ray_flags_sync_takes(make_fleet, flags, says) -> None:
    """`fleet serve` takes `--ray-placement` and `--ray-runtime-env` as `fleet sync` does (the
    chart passes `--ray-runtime-env none` on a KubeRay cluster), and refuses bad values the same way."""
    env = make_fleet("basic", clusters=1)
    result = CliRunner().invoke(app, ["serve", *env.args("--listen", "127.0.0.1:0", *flags)])
    assert result.exit_code == 2, result.output
    assert flags[0] in result.stderr and says in result.stderr, result.stderr
    assert "No such option" not in result.stderr
    assert env.sim.request_counts("c001")["total"] == 0


def test_a_port_in_use_is_bad_input(make_fleet) -> None:
    env = make_fleet("basic", clusters=1)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = CliRunner().invoke(app, ["serve", *env.args("--listen", f"127.0.0.1:{port}")])
    assert result.exit_code == 2 and "--listen" in result.stderr and "cannot listen" in result.stderr
