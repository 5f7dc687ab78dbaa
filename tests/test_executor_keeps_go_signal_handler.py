"""Starting Ray must not turn a bad Helm chart into a crash of the whole driver.

helm-python-sdk runs Helm's Go engine in-process; Go recovers a nil dereference in a template
through its own SIGSEGV handler, which ray.init used to replace (absl and faulthandler). Run in a
subprocess: if the regression came back, it would kill the process, not just fail an assertion.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import pathlib, sys, tempfile
    import helm_python
    from fleet import executor

    ex = executor.RayExecutor(actors=1, slots=1, num_cpus=1)
    chart = pathlib.Path(tempfile.mkdtemp())
    (chart / "templates").mkdir()
    (chart / "Chart.yaml").write_text("apiVersion: v2\\nname: p\\nversion: 0.1.0\\n")
    (chart / "templates" / "t.txt").write_text("{{ first .Values.nothing }}")
    try:
        with helm_python.Chart.load(str(chart)) as loaded:
            loaded.render({}, name="r", namespace="n")
        print("rendered")
    except Exception as exc:
        print("render failed cleanly:", type(exc).__name__)
    ex.close()
    """
)


def test_a_go_template_panic_after_ray_init_is_a_render_error_not_a_crash() -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "render failed cleanly: HelmRenderError" in done.stdout
