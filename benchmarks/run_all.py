"""``make bench``: the benchmark suite in one go (under 20 minutes on the 2-core development
machine), writing ``benchmarks/results/latest.json`` and ``latest.md``: every scenario with the
baseline it was measured against in the same run, the ratio, the date and the machine.

Each benchmark below records its ratios through ``benchmarks/record.py`` (the file named by
``FLEET_BENCH_RESULTS``) and prints its own detail, kept in ``latest.md`` too. The other
``benchmarks/bench_*.py`` scripts still run one by one, as the README says.
Run: ``.venv/bin/python benchmarks/run_all.py`` (or ``make bench``).
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
# (script and arguments, what it shows); sizes chosen so the whole suite fits in 20 minutes.
SUITE: list[tuple[list[str], str]] = [
    (["bench_startup.py", "--repeat", "7"], "CLI start-up against the interpreter's"),
    (["bench_generate.py", "100"], "50,000 Applications generated in-process"),
    (["bench_e2e.py", "50"], "the whole `fleet sync` process at 50 clusters against a kubectl loop"),
    (
        ["bench_scale.py", "200", "--reference", "50"],
        "time per cluster as the fleet grows; no-op bytes of a small and a realistic fleet",
    ),
]


def user_environment() -> dict[str, str]:
    """This environment as a user's shell has it: a sandbox that sets PYTHONDONTWRITEBYTECODE makes
    every new process compile fleet's modules from source again (seconds per `fleet` start on a
    loaded machine), which no installed fleet pays."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def machine() -> dict[str, object]:
    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def main() -> int:
    started = time.monotonic()
    date = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    where = machine()
    rows: list[dict[str, object]] = []
    outputs: list[tuple[str, str, float, int]] = []
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        sink = Path(tmp) / "results.jsonl"
        for args, what in SUITE:
            command = [sys.executable, str(HERE / args[0]), *args[1:]]
            print(f"== {' '.join(args)}: {what}", flush=True)
            began = time.monotonic()
            done = subprocess.run(
                command,
                capture_output=True,
                text=True,
                env={**user_environment(), "FLEET_BENCH_RESULTS": str(sink)},
                check=False,
            )
            seconds = time.monotonic() - began
            print(done.stdout[-3000:], flush=True)
            if done.returncode != 0:
                failed = True
                print(f"exit {done.returncode}: {done.stderr[-2000:]}", flush=True)
            outputs.append((" ".join(args), done.stdout, seconds, done.returncode))
        if sink.exists():
            rows = [json.loads(line) for line in sink.read_text().splitlines() if line.strip()]
    total = time.monotonic() - started
    RESULTS.mkdir(exist_ok=True)
    doc = {"date": date, "machine": where, "seconds": round(total, 1), "results": rows}
    (RESULTS / "latest.json").write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    lines = [
        "# Benchmark results (`make bench`)",
        "",
        f"{date}; {where['platform']}, Python {where['python']}, {where['cpus']} CPUs, load average "
        f"{where['load_average']} at the start; the whole suite took {total / 60:.1f} minutes.",
        "Ratios are against a baseline measured in the same run (lower is better).",
        "",
        "| benchmark | scenario | baseline | ratio |",
        "| --- | --- | --- | --- |",
    ]
    for row in rows:
        lines.append(
            f"| {row['benchmark']} | {row['scenario']} | {row['baseline']} | {float(row['ratio']):.3f}x |"
        )
    lines += ["", "## Output of each benchmark", ""]
    for name, stdout, seconds, code in outputs:
        lines += [f"### `{name}` ({seconds:.0f} s, exit {code})", "", "```", stdout.strip(), "```", ""]
    (RESULTS / "latest.md").write_text("\n".join(lines))
    print(f"wrote {RESULTS / 'latest.md'} and latest.json ({total / 60:.1f} minutes)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
