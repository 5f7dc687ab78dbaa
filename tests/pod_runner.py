"""Run a pod's container the way a kubelet would, on this machine (a test edge, like the simulator).

No kubelet or container runtime can run here, and the simulator runs no CronJob controller. To
prove that a chart's pod actually works, this module does a kubelet's part for one container of a
pod spec read back from a (simulated) cluster:

1. volumes: each volume becomes a directory under ``root``: emptyDir and PVC empty, configMap and
   secret filled from the cluster (``items`` honoured), projected combining configMaps, secrets and
   a ``serviceAccountToken`` (the token the test hands in, as the kubelet would request one);
2. mounts: each ``mountPath`` maps to its volume's directory;
3. environment: ``value``, and ``valueFrom`` secretKeyRef / configMapKeyRef read from the cluster;
   ``$(VAR)`` references expanded as Kubernetes does (``$$(VAR)`` stays literal);
4. command and args: ``$(VAR)`` expanded, then any argument or variable that is a path under a
   mount point rewritten to the mapped directory; the command runs from this machine's PATH
   (the test's virtual environment first).

What it does not do: images, users and security contexts (the process runs as the test does),
resource limits, probes and restarts.
"""

from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fleet.clusters.sim import SimServer

_VAR = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")


def expand(text: str, env: Mapping[str, str]) -> str:
    """Kubernetes' $(VAR) expansion: defined variables expand, undefined ones stay, $$ escapes."""

    def one(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1)
        return env[name] if name in env else match.group(0)

    return _VAR.sub(one, text)


@dataclass
class PodRun:
    """A pod's container prepared on this machine: its argv, environment and mounted directories."""

    argv: list[str]
    env: dict[str, str]
    mounts: dict[str, Path]  # mountPath -> directory on this machine

    def local(self, container_path: str) -> Path:
        """Where a path inside the container lives on this machine."""
        mapped = _map_path(container_path, self.mounts)
        if mapped == container_path:
            raise AssertionError(f"{container_path} is not under any mount")
        return Path(mapped)

    def run(self, *, timeout: float = 180, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.argv, env=self.env, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
        )

    def start(self, *, cwd: Path | None = None) -> subprocess.Popen[str]:
        return subprocess.Popen(
            self.argv, env=self.env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )


def _map_path(value: str, mounts: Mapping[str, Path]) -> str:
    """A container path under a mount point (alone, as ``--flag=PATH`` or as a ``sqlite://`` store
    URL) as the path on this machine."""
    if value.startswith("sqlite://"):
        local = _map_path("/" + value.removeprefix("sqlite://").lstrip("/"), mounts)
        return f"sqlite://{local}" if local.startswith("/") else value
    flag, equals, path = value.rpartition("=") if value.startswith("--") else ("", "", value)
    for mount in sorted(mounts, key=len, reverse=True):  # the deepest mount point wins
        if path == mount or path.startswith(mount.rstrip("/") + "/"):
            return f"{flag}{equals}{mounts[mount]}{path[len(mount) :]}"
    return value


class PodRunner:
    """Prepares containers of pods read from one simulated cluster (see the module docstring)."""

    def __init__(self, sim: SimServer, cluster: str, namespace: str, root: Path, *, token: str) -> None:
        self.sim = sim
        self.cluster = cluster
        self.namespace = namespace
        self.root = root
        self.token = token

    def _data(self, kind: str, name: str) -> dict[str, bytes]:
        obj = self.sim.get_object(self.cluster, "v1", kind, self.namespace, name)
        if obj is None:
            raise AssertionError(f"the pod needs {kind} {self.namespace}/{name}, which does not exist")
        if kind == "Secret":
            return {k: base64.b64decode(v) for k, v in (obj.get("data") or {}).items()}
        return {k: v.encode() for k, v in (obj.get("data") or {}).items()}

    def _fill(self, directory: Path, data: Mapping[str, bytes], items: list[dict[str, Any]] | None) -> None:
        chosen = [(i["key"], i["path"]) for i in items] if items else [(k, k) for k in data]
        for key, path in chosen:
            if key not in data:
                raise AssertionError(f"key {key} is missing")
            target = directory / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data[key])

    def _volume(self, volume: Mapping[str, Any]) -> Path:
        directory = self.root / "volumes" / volume["name"]
        directory.mkdir(parents=True, exist_ok=True)
        if "emptyDir" in volume:
            pass
        elif "persistentVolumeClaim" in volume:
            claim = volume["persistentVolumeClaim"]["claimName"]
            found = self.sim.get_object(self.cluster, "v1", "PersistentVolumeClaim", self.namespace, claim)
            assert found is not None, f"the pod needs PersistentVolumeClaim {claim}, which does not exist"
        elif "configMap" in volume:
            source = volume["configMap"]
            self._fill(directory, self._data("ConfigMap", source["name"]), source.get("items"))
        elif "secret" in volume:
            source = volume["secret"]
            self._fill(directory, self._data("Secret", source["secretName"]), source.get("items"))
        elif "projected" in volume:
            for source in volume["projected"]["sources"]:
                if "configMap" in source:
                    self._fill(
                        directory,
                        self._data("ConfigMap", source["configMap"]["name"]),
                        source["configMap"].get("items"),
                    )
                elif "secret" in source:
                    self._fill(
                        directory,
                        self._data("Secret", source["secret"]["name"]),
                        source["secret"].get("items"),
                    )
                elif "serviceAccountToken" in source:
                    (directory / source["serviceAccountToken"]["path"]).write_text(self.token)
                else:
                    raise AssertionError(f"projected source {sorted(source)} is not supported here")
        else:
            raise AssertionError(f"volume {volume['name']}: {sorted(volume)} is not supported here")
        return directory

    def _env(self, container: Mapping[str, Any]) -> dict[str, str]:
        env: dict[str, str] = {}
        for entry in container.get("env", []):
            if "value" in entry:
                env[entry["name"]] = expand(str(entry["value"]), env)
                continue
            source = entry["valueFrom"]
            if "secretKeyRef" in source:
                ref = source["secretKeyRef"]
                env[entry["name"]] = self._data("Secret", ref["name"])[ref["key"]].decode()
            elif "configMapKeyRef" in source:
                ref = source["configMapKeyRef"]
                env[entry["name"]] = self._data("ConfigMap", ref["name"])[ref["key"]].decode()
            else:
                raise AssertionError(f"env {entry['name']}: {sorted(source)} is not supported here")
        return env

    def prepare(self, pod: Mapping[str, Any], container_name: str) -> PodRun:
        container = next(c for c in pod["containers"] if c["name"] == container_name)
        volumes = {v["name"]: self._volume(v) for v in pod.get("volumes", [])}
        mounts = {m["mountPath"]: volumes[m["name"]] for m in container.get("volumeMounts", [])}
        declared = self._env(container)
        words = [expand(w, declared) for w in [*container.get("command", []), *container.get("args", [])]]
        assert words, "the container must name its command (the chart never relies on the image's entrypoint)"
        env = {
            # What the image provides: its PATH (here: the test's virtual environment first).
            "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
            **{name: _map_path(value, mounts) for name, value in declared.items()},
        }
        return PodRun(argv=[_map_path(w, mounts) for w in words], env=env, mounts=mounts)
