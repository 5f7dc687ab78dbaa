"""What a Ray cluster's workers run fleet from: the runtime environment the executor joins with.

Sits beside the Ray executor (``fleet.executor.RayExecutor``), which passes ``runtime_env(...)`` to
``ray.init``. Two modes (``--ray-runtime-env``):

- ``wheel`` (the default on a named Ray cluster): this checkout's fleet, built as a wheel and
  unpacked, goes to the workers in ``runtime_env.py_modules``. Everything is keyed by a digest of
  the sources, so a second run of the same code ships nothing new:

  1. the digest of every file the wheel is built from (``source_digest``);
  2. the unpacked wheel in ``$FLEET_CACHE_DIR/ray-modules/<digest>/fleet``, built only when that
     directory is missing (``fleet_modules``): no rebuild on the driver;
  3. Ray names the directory by a hash of its contents (``gcs://_ray_pkg_<hash>.zip``), uploads
     it only when the cluster lacks that name, and each node unpacks a name once and keeps it in
     its runtime-env cache: no reinstall on the nodes.

  An unpacked directory rather than the ``.whl`` itself: Ray installs a wheel in ``py_modules``
  with ``pip install --target`` and so with all its dependencies (Ray itself among them) on every
  node, which took about 40 s per node and shadowed the node's own Ray (issue 12).
- ``none``: nothing is shipped; the nodes run the fleet installed in their image (the same
  version as the driver's; the chart's KubeRay mode runs fleet's own image).

On the private local Ray, the default ships nothing: its workers run this installation.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from enum import StrEnum
from pathlib import Path
from typing import Any

from fleet import errors, log

_log = log.get_logger(__name__)

CACHE_ENV = "FLEET_CACHE_DIR"
RUNTIME_ENV_FLAG = "--ray-runtime-env"
_WHEEL_SOURCES = ("pyproject.toml", "setup.py", "fleet", "generators", "secrets", "clusters")
_SKIP = ("__pycache__", "*.pyc")


class RuntimeEnvMode(StrEnum):
    """How fleet reaches the workers of a Ray cluster (``--ray-runtime-env``)."""

    WHEEL = "wheel"  # ship this checkout's fleet (a wheel, unpacked, cached per content digest) in py_modules
    NONE = "none"  # ship nothing: the nodes have the same fleet installed (their image)


def parse_mode(text: str) -> RuntimeEnvMode:
    try:
        return RuntimeEnvMode(text)
    except ValueError:
        choices = ", ".join(m.value for m in RuntimeEnvMode)
        raise errors.InputError(f"{text!r}: want one of {choices}", field=RUNTIME_ENV_FLAG) from None


def project_root() -> Path | None:
    """The source checkout fleet runs from (where pyproject.toml is), if it runs from one."""
    root = Path(__file__).resolve().parent.parent
    return root if (root / "pyproject.toml").is_file() else None


def cache_root() -> Path:
    """``$FLEET_CACHE_DIR/ray-modules``, or ``~/.cache/fleet/ray-modules``."""
    base = os.environ.get(CACHE_ENV)
    return (Path(base) if base else Path.home() / ".cache" / "fleet") / "ray-modules"


def _require_root() -> Path:
    root = project_root()
    if root is None:
        raise errors.PermanentError(
            "fleet does not run from a source checkout, so there is no wheel to ship; install the "
            f"same fleet version on the Ray cluster's nodes and pass {RUNTIME_ENV_FLAG} none"
        )
    return root


def _source_files(root: Path) -> list[Path]:
    """Every file the wheel is built from, in a stable order (the top-level folders' links to
    each other are followed, as setuptools follows them)."""
    found: list[Path] = []
    for name in _WHEEL_SOURCES:
        path = root / name
        if path.is_file():
            found.append(path)
        elif path.is_dir():
            for dirpath, dirnames, filenames in os.walk(path, followlinks=True):
                dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
                found.extend(Path(dirpath) / f for f in sorted(filenames) if not f.endswith(".pyc"))
    return found


def source_digest(root: Path | None = None) -> str:
    """A sha256 over the relative path and bytes of every source file of the wheel: equal digests,
    equal wheels. Reading the sources (a few MB) takes a fraction of a second; a build takes
    seconds to a minute."""
    root = root or _require_root()
    digest = hashlib.sha256()
    for path in _source_files(root):
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()


def build_wheel(dest: Path) -> Path:
    """A wheel of this checkout in ``dest``: what a remote Ray cluster's workers import, so they
    need nothing from the driver's disk.

    The sources are copied first, so the build never writes into the checkout (and setuptools'
    ``build/`` directory cannot carry stale modules into the wheel).
    """
    root = _require_root()
    source = dest / "src"
    for name in _WHEEL_SOURCES:
        if (root / name).is_dir():
            shutil.copytree(root / name, source / name, ignore=shutil.ignore_patterns(*_SKIP))
        elif (root / name).is_file():
            source.mkdir(parents=True, exist_ok=True)
            shutil.copy2(root / name, source / name)
    # An isolated build: pip installs what pyproject.toml's build-system asks for, as for any wheel.
    try:
        subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dest), str(source)],
            check=True,
            capture_output=True,
            timeout=600,
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        raise errors.PermanentError(
            f"building the fleet wheel failed: {detail.decode(errors='replace')[-400:]}"
        ) from exc
    wheels = sorted(dest.glob("*.whl"))
    if not wheels:
        raise errors.PermanentError(f"pip wheel produced no wheel in {dest}")
    return wheels[-1]


def fleet_modules(cache: Path | None = None) -> tuple[Path, bool]:
    """The ``fleet`` package directory to ship, and whether it was built now (False: it came from
    the cache). Built as a wheel, unpacked, and kept under the sources' digest; parallel runs may
    both build it, and the first to rename its copy into place wins."""
    root = _require_root()
    cache = cache or cache_root()
    digest = source_digest(root)
    target = cache / digest[:32]
    package = target / "fleet"
    if package.is_dir():
        return package, False
    cache.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".build-", dir=cache))
    try:
        wheel = build_wheel(work / "wheel")
        unpacked = work / "unpacked"
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(unpacked)  # our own wheel, just built: no foreign member names
        for extra in unpacked.glob("*.dist-info"):
            shutil.rmtree(extra)  # metadata only; py_modules puts the package itself on sys.path
        try:
            os.replace(unpacked, target)
        except OSError:
            if not package.is_dir():  # not a parallel run's copy already in place
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return package, True


def runtime_env(mode: RuntimeEnvMode, *, cache: Path | None = None) -> dict[str, Any] | None:
    """The ``runtime_env`` for ``ray.init`` in this mode (None: nothing to ship)."""
    if mode is RuntimeEnvMode.NONE:
        return None
    package, built = fleet_modules(cache)
    _log.info(
        "shipping fleet to the Ray cluster" + (" (built now)" if built else " (cached: nothing rebuilt)"),
        extra={"fields": {"modules": str(package), "built": built}},
    )
    return {"py_modules": [str(package)]}
