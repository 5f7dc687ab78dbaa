"""Every fleet command line the chart renders is one fleet's own CLI accepts: the CronJob's and
the Deployment's container arguments and the RayJob's entrypoint, for each mode and value set.

Parsed by the CLI's parser (options, types and their checks), not run. The chart's `fleet serve`
on a KubeRay cluster once passed `--ray-runtime-env none`, which `fleet serve` did not take: the
Deployment would have failed at start with "No such option"."""

from __future__ import annotations

import shlex
from typing import Any

import pytest
import typer.main

# typer (0.29) carries its own copy of click; its parser raises these.
from typer._click import exceptions as click_errors

from fleet.cli import app
from tests.deploy_helpers import MINIMAL, POSTGRES, find, merge, pod_specs, rayjob_template, render_chart

RAY_CLUSTER = {"ray": {"enabled": True}}
RAY_JOB = {"ray": {"enabled": True, "kind": "RayJob"}}
SERVE = {"mode": "serve"}
VALUE_SETS = [
    pytest.param({}, id="cronjob"),
    pytest.param(RAY_CLUSTER, id="cronjob-on-a-raycluster"),
    pytest.param(merge(POSTGRES, RAY_JOB), id="cronjob-starting-a-rayjob"),
    pytest.param(SERVE, id="serve"),
    pytest.param(merge(SERVE, RAY_CLUSTER), id="serve-on-a-raycluster"),
    pytest.param(
        merge(POSTGRES, merge(SERVE, {"serve": {"replicas": 2, "every": "", "schedule": "*/5 * * * *"}})),
        id="serve-on-a-schedule",
    ),
    pytest.param(
        {"fleet": {"selector": "tier=edge", "apps": ["web"], "prune": True, "lockWait": "2m"}},
        id="cronjob-narrowed",
    ),
]


def fleet_command_lines(objects: list[dict[str, Any]]) -> list[tuple[str, list[str]]]:
    """(where, argv after `fleet`) of every fleet command the rendered chart runs: the containers
    whose command is `fleet` in every pod it can start, and the RayJob's entrypoint."""
    found = [
        (f"{where} {container['name']}", list(container["args"]))
        for where, pod in pod_specs(objects)
        for container in pod["containers"]
        if container.get("command") == ["fleet"]
    ]
    if any(o["kind"] == "ConfigMap" and o["metadata"]["name"].endswith("-rayjob") for o in objects):
        entrypoint = shlex.split(rayjob_template(objects)["spec"]["entrypoint"])
        assert entrypoint[0] == "fleet", entrypoint
        found.append(("RayJob entrypoint", entrypoint[1:]))
    return found


def parse(argv: list[str]) -> tuple[str, dict[str, Any]]:
    """The subcommand and its parsed parameters, as fleet's CLI would call it (nothing runs)."""
    root = typer.main.get_command(app)
    with root.make_context("fleet", list(argv)) as context:
        name, *rest = [*context._protected_args, *context.args]
        command = root.get_command(context, name)  # type: ignore[attr-defined]
        assert command is not None, f"no fleet command {name!r}"
        with command.make_context(name, rest, parent=context) as sub:
            return name, dict(sub.params)


@pytest.mark.parametrize("values", VALUE_SETS)
def test_every_rendered_fleet_command_line_is_accepted_by_fleet(values: dict[str, Any]) -> None:
    objects = render_chart(merge(MINIMAL, values))
    lines = fleet_command_lines(objects)
    assert lines, "the chart runs no fleet command"
    for where, argv in lines:
        try:
            name, params = parse(argv)
        except click_errors.ClickException as exc:
            pytest.fail(f"{where}: fleet refuses {shlex.join(argv)}: {exc.format_message()}")
        assert name in ("sync", "serve"), where
        if values.get("ray", {}).get("enabled"):
            assert params["executor"] == "ray" and params["ray_runtime_env"] == "none", where


def test_the_parser_refuses_an_option_a_command_does_not_take() -> None:
    """The check above can fail: an unknown option is refused as fleet refuses it."""
    with pytest.raises(click_errors.NoSuchOption, match="--no-such-flag"):
        parse(["--log-format", "json", "serve", "https://git.example.com/fleet.git", "--no-such-flag"])
    assert find(render_chart(merge(MINIMAL, SERVE)), "Deployment")
