"""Run the `run:` steps of a GitHub Actions job and the `script:` of a GitLab CI job on this machine.

A CI runner is an edge this machine cannot have, so this stands in for the part of it the
examples rely on, and nothing more:

- GitHub Actions: steps run in order with `bash --noprofile --norc -eo pipefail`, as `run:` does by
  default; environment from the workflow, job and step `env:` blocks, with `${{ ... }}`
  expressions replaced from a table the test gives (an expression not in the table fails the
  test); `$GITHUB_ENV` and `$GITHUB_PATH` lines carried to later steps; after a failure only
  `if: always()` steps run. `uses:` steps are listed, not run (they are third-party actions).
- GitLab CI: `before_script` and `script` lines joined into one `bash -eo pipefail` script (each
  line a command, as the runner's shell does), with global and job `variables:`.

``ApiRecorder`` is a loopback HTTP server that answers like the forges' comment APIs and keeps the
requests, so the posting steps run for real.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

_EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def load(path: Path) -> dict[str, Any]:
    # GitHub's `on:` is YAML 1.1's boolean True for PyYAML; nothing below reads it.
    loaded: dict[str, Any] = yaml.safe_load(path.read_text())
    return loaded


def substitute(text: str, expressions: Mapping[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        expression = match.group(1)
        if expression not in expressions:
            raise AssertionError(f"the test has no stand-in for ${{{{ {expression} }}}}")
        return expressions[expression]

    return _EXPRESSION.sub(one, text)


@dataclass
class StepRun:
    name: str
    returncode: int
    stdout: str
    stderr: str


@dataclass
class JobRun:
    steps: list[StepRun] = field(default_factory=list)
    not_run: list[str] = field(default_factory=list)  # uses: steps and skipped ids

    @property
    def ok(self) -> bool:
        return all(step.returncode == 0 for step in self.steps)

    def log(self) -> str:
        return "\n".join(
            f"--- {s.name} ({s.returncode})\n{s.stdout[-3000:]}\n{s.stderr[-3000:]}" for s in self.steps
        )


def _env_file(path: Path) -> dict[str, str]:
    found: dict[str, str] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            if "=" in line:
                name, _, value = line.partition("=")
                found[name] = value
    return found


def run_github_job(
    workflow: Mapping[str, Any],
    job: str,
    *,
    base_env: Mapping[str, str],
    expressions: Mapping[str, str],
    cwd: Path,
    runner_temp: Path,
    skip_ids: tuple[str, ...] = (),
    timeout: float = 300,
) -> JobRun:
    files = {
        name: runner_temp / f"_{name.lower()}"
        for name in ("GITHUB_ENV", "GITHUB_PATH", "GITHUB_STEP_SUMMARY", "GITHUB_OUTPUT")
    }
    for path in files.values():
        path.touch()
    env = {**base_env, **{k: str(v) for k, v in files.items()}, "RUNNER_TEMP": str(runner_temp)}
    for scope in (workflow.get("env") or {}, workflow["jobs"][job].get("env") or {}):
        env.update({k: substitute(str(v), expressions) for k, v in scope.items()})
    result = JobRun()
    failed = False
    for index, step in enumerate(workflow["jobs"][job]["steps"]):
        name = step.get("name") or step.get("id") or step.get("uses") or f"step {index}"
        if "uses" in step or step.get("id") in skip_ids:
            result.not_run.append(str(step.get("id") or step.get("uses")))
            continue
        if failed and step.get("if") != "always()":
            continue
        step_env = dict(env)
        step_env.update({k: substitute(str(v), expressions) for k, v in (step.get("env") or {}).items()})
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", substitute(step["run"], expressions)],
            env=step_env,
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        result.steps.append(StepRun(name, done.returncode, done.stdout, done.stderr))
        failed = failed or done.returncode != 0
        env.update(_env_file(files["GITHUB_ENV"]))
        paths = [p for p in files["GITHUB_PATH"].read_text().splitlines() if p]
        if paths:
            env["PATH"] = os.pathsep.join([*reversed(paths), base_env["PATH"]])
    return result


def run_gitlab_job(
    config: Mapping[str, Any], job: str, *, base_env: Mapping[str, str], cwd: Path, timeout: float = 300
) -> JobRun:
    spec = config[job]
    env = dict(base_env)
    for scope in (config.get("variables") or {}, spec.get("variables") or {}):
        for name, value in scope.items():
            env.setdefault(name, str(value))  # CI/CD settings (the test's stand-ins) win over the file's
    lines = [
        *(spec.get("before_script") or config.get("default", {}).get("before_script") or []),
        *spec["script"],
    ]
    done = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", "\n".join(lines)],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return JobRun(steps=[StepRun(job, done.returncode, done.stdout, done.stderr)])


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class ApiRecorder:
    """A loopback server that answers every POST with 201 and a JSON object, keeping the requests."""

    def __init__(self) -> None:
        self.requests: list[Request] = []

    @contextmanager
    def serve(self) -> Iterator[str]:
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server hook's name
                length = int(self.headers.get("Content-Length") or 0)
                recorder.requests.append(
                    Request("POST", self.path, dict(self.headers), self.rfile.read(length))
                )
                body = json.dumps({"id": len(recorder.requests)}).encode()
                self.send_response(201)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}"
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=10)
