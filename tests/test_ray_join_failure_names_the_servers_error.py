"""A Ray cluster that answers but refuses the join: the error names what the server said, not
only the line that introduces it, and a session the head failed to start is asked for once more.

Ray Client reports a failed start of its server-side session (a process per client on the head)
as "Initialization failure from server:" followed by the server's traceback; a CI run printed the
first line alone, which told nobody why. On a busy head that start can fail once and work the
next time, so fleet joins again (up to JOIN_ATTEMPTS times in all); any other refusal is reported at once."""

from __future__ import annotations

import pytest
import ray

from fleet import errors, executor

SERVER_TRACEBACK = (
    "Initialization failure from server:\n"
    "Traceback (most recent call last):\n"
    '  File "proxier.py", line 767, in Datapath\n'
    "    raise RuntimeError(\n"
    "RuntimeError: Starting Ray client server failed. See ray_client_server_23000.err for detailed logs.\n"
)


@pytest.mark.parametrize(
    "raised, says, joins",
    [
        pytest.param(
            ConnectionAbortedError(SERVER_TRACEBACK),
            "Initialization failure from server: RuntimeError: Starting Ray client server failed.",
            executor.JOIN_ATTEMPTS,
            id="ray-client-session-not-started",
        ),
        pytest.param(
            ConnectionError(
                "Could not find any running Ray instance.\nPlease specify the one to connect to."
            ),
            "Could not find any running Ray instance.",
            1,
            id="other-refusal",
        ),
    ],
)
def test_a_refused_join_names_the_servers_error(
    monkeypatch: pytest.MonkeyPatch, raised: Exception, says: str, joins: int
) -> None:
    calls: list[dict[str, object]] = []

    def refuse(**kwargs: object) -> None:
        calls.append(kwargs)
        raise raised

    # Ray is the edge here: its address answers (the probe), then its init refuses.
    monkeypatch.setattr(executor, "probe_ray_address", lambda address, timeout=None: ("127.0.0.1", 10001))
    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray, "init", refuse)
    with pytest.raises(errors.ExecutorUnavailable) as caught:
        executor.RayExecutor(address="ray://127.0.0.1:10001")
    message = str(caught.value)
    assert message.startswith("cannot join the Ray cluster at ray://127.0.0.1:10001: ")
    assert says in message
    assert "Please specify" not in message and "Traceback" not in message
    assert len(calls) == joins
    assert all(call["address"] == "ray://127.0.0.1:10001" for call in calls)
