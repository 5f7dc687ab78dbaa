"""Long-running mode notifies after each recorded run under the same policy: `fleet sync --every`
over an unchanged fleet notifies once (the first run) with `--notify-on change`, and every run with
`--notify-on always`."""

from __future__ import annotations

import pytest

from fleet import store

CASES = [
    pytest.param("change", 1, id="change-notifies-the-first-run-only"),
    pytest.param("always", 3, id="always-notifies-every-run"),
]


@pytest.mark.parametrize("policy, expected", CASES)
def test_each_run_of_the_loop_is_compared_with_the_one_before(
    make_fleet, webhook_server, policy, expected
) -> None:
    env = make_fleet("basic", clusters=1)
    run = env.run(
        "--log-format",
        "json",
        "sync",
        *env.args(
            "--every", "0.2s", "--runs", "3", "--notify-webhook", webhook_server.url(), "--notify-on", policy
        ),
    )
    assert run.exit_code == 0, run.stderr
    history = store.Store(env.state_dir).runs()
    assert len(history) == 3
    bodies = webhook_server.bodies()
    assert len(bodies) == expected
    assert [b["run_id"] for b in bodies] == [r.run_id for r in reversed(history)][:expected]
