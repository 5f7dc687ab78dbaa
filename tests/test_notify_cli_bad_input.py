"""Bad --notify-* flags are bad input (exit 2) naming the flag, before any cluster is contacted, and
the message never repeats a URL (it is a credential)."""

from __future__ import annotations

import pytest

SECRETISH = "s3cr3t-path-Zq"

CASES = [
    pytest.param(
        ("sync", "--notify-webhook", f"ftp://hooks.example.com/{SECRETISH}"),
        "--notify-webhook",
        id="webhook-not-http",
    ),
    pytest.param(
        ("sync", "--notify-slack", f"hooks.example.com/{SECRETISH}"), "--notify-slack", id="slack-no-scheme"
    ),
    pytest.param(
        ("sync", "--notify-webhook", f"http:///{SECRETISH}"), "--notify-webhook", id="webhook-no-host"
    ),
    pytest.param(
        ("sync", "--notify-webhook", f"http://example.com:port/{SECRETISH}"),
        "--notify-webhook",
        id="webhook-port-not-a-number",
    ),
    pytest.param(
        ("sync", "--notify-webhook", "ref+nosuchscheme://kv/hook#/url"),
        "no provider for scheme",
        id="reference-unknown-scheme",
    ),
    pytest.param(
        ("sync", "--notify-webhook", "http://example.com/x", "--notify-on", "sometimes"),
        "--notify-on",
        id="unknown-policy",
    ),
    pytest.param(("diff", "--notify-on", "failure"), "--notify-on", id="policy-without-a-target"),
    pytest.param(("sync", "--notify-include-diffs"), "--notify-include-diffs", id="diffs-without-a-target"),
    pytest.param(("sync", "--notify-markdown", " "), "--notify-markdown", id="markdown-without-a-file"),
    pytest.param(
        ("sync", "--every", "1s", "--runs", "1", "--notify-webhook", f"ftp://x/{SECRETISH}"),
        "--notify-webhook",
        id="long-running-mode-too",
    ),
]


@pytest.mark.parametrize("argv, flag", CASES)
def test_bad_notify_flags_are_bad_input_naming_the_flag(make_fleet, argv, flag) -> None:
    # (a reference is not a secret: its error may show it; a URL's may not)
    env = make_fleet("basic", clusters=1)
    command, *flags = argv
    run = env.run(command, *env.args(*flags))
    assert run.exit_code == 2, run.stderr
    assert flag in run.stderr
    assert SECRETISH not in run.stderr + run.stdout
    assert env.sim.request_counts("c001")["total"] == 0
