"""Kubeconfig files as a source of clusters: one ``Cluster`` per context.

The first source a platform engineer has is the kubeconfig they already use with kubectl. This
module reads it the way kubectl does, so the same files work unchanged:

- ``KUBECONFIG`` (or ``--kubeconfig a:b``) is a list of files merged in order; for clusters, users
  and contexts the FIRST file that defines a name wins, as does the first ``current-context``.
  Files of the list that do not exist are skipped; an explicitly named single file must exist.
- Relative file paths inside a kubeconfig (certificate-authority, client-certificate, client-key,
  tokenFile, an exec command containing a slash) are relative to that kubeconfig's folder.
- Files are read now and their contents carried as data, so a Ray worker on another machine needs
  nothing from this machine's disk. Secret values read here are registered with ``fleet.redact``.

The cluster is named after the context; the server URL keeps its path prefix (the simulator serves
many clusters under one port as ``http://127.0.0.1:PORT/clusters/NAME``).
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from fleet import errors, kyaml, log, models, redact
from fleet.clusters import yamlfile

_log = log.get_logger(__name__)

DEFAULT_PATH = Path("~/.kube/config")


@dataclass
class MergedConfig:
    """The merged view of one or more kubeconfig files, remembering which file defined what."""

    files: list[str] = field(default_factory=list)
    clusters: dict[str, tuple[dict[str, Any], Path]] = field(default_factory=dict)
    users: dict[str, tuple[dict[str, Any], Path]] = field(default_factory=dict)
    contexts: dict[str, tuple[dict[str, Any], Path]] = field(default_factory=dict)
    current_context: str = ""

    @property
    def where(self) -> str:
        return ":".join(self.files) or "<no kubeconfig>"


def default_paths(env: Mapping[str, str] | None = None) -> list[Path]:
    """Where kubectl looks: every entry of ``KUBECONFIG``, else ``~/.kube/config``."""
    env = os.environ if env is None else env
    value = env.get("KUBECONFIG", "")
    if value.strip():
        return [Path(p).expanduser() for p in value.split(os.pathsep) if p.strip()]
    return [DEFAULT_PATH.expanduser()]


def _as_paths(
    paths: str | Path | Sequence[str | Path] | None, env: Mapping[str, str] | None
) -> tuple[list[Path], bool]:
    """The files to merge, and whether they were named explicitly (then they must exist)."""
    if paths is None:
        found = default_paths(env)
        # kubectl skips missing entries of KUBECONFIG, and ~/.kube/config may simply be absent.
        return found, False
    if isinstance(paths, (str, Path)):
        text = str(paths)
        parts = [p for p in text.split(os.pathsep) if p.strip()] if os.pathsep in text else [text]
        # One explicit file (kubectl --kubeconfig) must exist; a list behaves like KUBECONFIG.
        return [Path(p).expanduser() for p in parts], len(parts) == 1
    return [Path(p).expanduser() for p in paths], True


def merge(
    paths: str | Path | Sequence[str | Path] | None = None, *, env: Mapping[str, str] | None = None
) -> MergedConfig:
    """Read and merge kubeconfig files with kubectl's rules (see the module docstring)."""
    files, explicit = _as_paths(paths, env)
    merged = MergedConfig()
    seen: set[Path] = set()
    for path in files:
        resolved = path.resolve()
        if resolved in seen:
            continue  # kubectl ignores a file listed twice
        seen.add(resolved)
        if not path.exists():
            if explicit and len(files) == 1:
                raise errors.InputError("does not exist", file=str(path))
            _log.debug("kubeconfig skipped: file does not exist", extra={"fields": {"file": str(path)}})
            continue
        doc = _read(path)
        merged.files.append(str(path))
        if doc.get("current-context") and not merged.current_context:
            merged.current_context = str(doc["current-context"])
        for section, key, target in (
            ("clusters", "cluster", merged.clusters),
            ("users", "user", merged.users),
            ("contexts", "context", merged.contexts),
        ):
            entries = doc.get(section) or []
            if not isinstance(entries, list):
                raise errors.InputError("must be a list", file=str(path), field=section)
            for i, entry in enumerate(entries):
                if not isinstance(entry, dict) or not entry.get("name"):
                    raise errors.InputError("needs a 'name'", file=str(path), field=f"{section}[{i}]")
                body = entry.get(key) or {}
                if not isinstance(body, dict):
                    raise errors.InputError(
                        "must be a mapping",
                        file=str(path),
                        obj=f"{key} {entry['name']}",
                        field=f"{section}[{i}].{key}",
                    )
                target.setdefault(str(entry["name"]), (body, path))  # the first definition wins
    return merged


def _read(path: Path) -> dict[str, Any]:
    text = yamlfile.read_text(path)
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:  # not chained: the parser's message quotes the (secret) input
        raise errors.InputError(f"is not valid YAML: {kyaml.error_text(exc)}", file=str(path)) from None
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise errors.InputError("must be a YAML mapping (a kubeconfig)", file=str(path))
    return doc


def load(
    paths: str | Path | Sequence[str | Path] | None = None,
    *,
    contexts: Sequence[str] | None = None,
    env: Mapping[str, str] | None = None,
) -> list[models.Cluster]:
    """One ``Cluster`` per context of the merged kubeconfig.

    Parameters:
        paths: a file, an ``os.pathsep``-separated list, or a sequence; None: ``KUBECONFIG`` or
            ``~/.kube/config``, as kubectl.
        contexts: only these contexts, in this order (each must exist); None: every context.
    """
    merged = merge(paths, env=env)
    if contexts is not None:
        missing = [name for name in contexts if name not in merged.contexts]
        if missing:
            raise errors.InputError(
                f"has no context named {', '.join(repr(m) for m in missing)}"
                f" (known: {', '.join(sorted(merged.contexts)) or 'none'})",
                file=merged.where,
                field="contexts",
            )
        names = list(dict.fromkeys(contexts))
    else:
        names = list(merged.contexts)
    return [cluster_for_context(merged, name) for name in names]


def cluster_for_context(merged: MergedConfig, name: str) -> models.Cluster:
    """The ``Cluster`` that kubectl would talk to with ``--context NAME``."""
    context, ctx_file = merged.contexts[name]
    obj = f"context {name}"
    cluster_name = context.get("cluster")
    if not cluster_name:
        raise errors.InputError("is missing", file=str(ctx_file), obj=obj, field="context.cluster")
    if cluster_name not in merged.clusters:
        raise errors.InputError(
            f"names cluster {cluster_name!r}, which no kubeconfig defines",
            file=str(ctx_file),
            obj=obj,
            field="context.cluster",
        )
    cluster, cluster_file = merged.clusters[cluster_name]
    user: dict[str, Any] = {}
    user_file = ctx_file
    user_name = context.get("user")
    if user_name:
        if user_name not in merged.users:
            raise errors.InputError(
                f"names user {user_name!r}, which no kubeconfig defines",
                file=str(ctx_file),
                obj=obj,
                field="context.user",
            )
        user, user_file = merged.users[user_name]
    server = str(cluster.get("server") or "").strip()
    if not server:
        raise errors.InputError(
            "is missing", file=str(cluster_file), obj=f"cluster {cluster_name}", field="cluster.server"
        )

    cluster_reader = _Reader(cluster_file, f"cluster {cluster_name}", "cluster")
    user_reader = _Reader(user_file, f"user {user_name}", "user")
    ca = cluster_reader.pem("certificate-authority-data", "certificate-authority", cluster)
    cert = user_reader.pem("client-certificate-data", "client-certificate", user)
    key = user_reader.pem("client-key-data", "client-key", user, secret=True)
    token = user.get("token") or None
    if not token and user.get("tokenFile"):
        token = user_reader.file_text(str(user["tokenFile"]), "tokenFile").strip() or None
    if not token and isinstance(user.get("auth-provider"), dict):
        # Legacy auth providers (oidc, gcp, azure) keep a usable token in their config.
        config = user["auth-provider"].get("config") or {}
        token = config.get("id-token") or config.get("access-token") or None
    if token:
        redact.register(str(token))
    password = user.get("password") or None
    if password:
        redact.register(str(password))
    insecure = cluster.get("insecure-skip-tls-verify")
    if insecure is not None and not isinstance(insecure, bool):
        # kubectl refuses a string here; bool("false") would silently turn certificate checks off
        raise errors.InputError(
            "must be true or false (a YAML boolean, not a string)",
            file=str(cluster_file),
            obj=f"cluster {cluster_name}",
            field="cluster.insecure-skip-tls-verify",
        )
    if user.get("as") or user.get("as-groups") or user.get("as-uid"):
        _log.warning(
            "kubeconfig impersonation is not supported; the user's own credentials are used",
            extra={"fields": {"file": str(user_file), "user": user_name, "context": name}},
        )
    try:
        credentials = models.ClusterCredentials(
            bearer_token=str(token) if token else None,
            username=user.get("username") or None,
            password=str(password) if password else None,
            client_cert_data=cert,
            client_key_data=key,
            ca_data=ca,
            insecure=bool(insecure),
            server_name=cluster.get("tls-server-name") or None,
            exec=user_reader.exec_config(user.get("exec")),
            proxy_url=cluster.get("proxy-url") or None,
        )
    except (TypeError, ValueError) as exc:
        # pydantic's message would quote the input, which may be a credential.
        raise errors.InputError(
            f"has a field of the wrong type ({type(exc).__name__})", file=str(user_file), obj=obj
        ) from None
    return models.Cluster(
        name=name,
        server=server,
        credentials=credentials,
        source=f"kubeconfig:{ctx_file}:{name}",
    )


@dataclass
class _Reader:
    """Reads data-or-file fields of one kubeconfig entry, with errors that name where they are."""

    file: Path
    obj: str
    section: str

    def path(self, value: str) -> Path:
        path = Path(value).expanduser()
        return path if path.is_absolute() else self.file.parent / path

    def file_text(self, value: str, field_name: str) -> str:
        path = self.path(value)
        try:
            return path.read_text()
        except OSError as exc:
            raise errors.InputError(
                f"names {str(path)!r}, which cannot be read: {exc.strerror}",
                file=str(self.file),
                obj=self.obj,
                field=f"{self.section}.{field_name}",
            ) from exc

    def pem(
        self, data_key: str, file_key: str, entry: Mapping[str, Any], *, secret: bool = False
    ) -> str | None:
        text: str | None = None
        if entry.get(data_key):
            try:
                text = base64.b64decode(str(entry[data_key]), validate=True).decode()
            except (binascii.Error, UnicodeDecodeError) as exc:
                raise errors.InputError(
                    "is not valid base64 PEM",
                    file=str(self.file),
                    obj=self.obj,
                    field=f"{self.section}.{data_key}",
                ) from exc
        elif entry.get(file_key):
            text = self.file_text(str(entry[file_key]), file_key)
        if text and secret:
            redact.register(text)
        return text or None

    def exec_config(self, value: Any) -> models.ExecConfig | None:
        if not value:
            return None
        here = f"{self.section}.exec"
        if not isinstance(value, dict) or not value.get("command"):
            raise errors.InputError("needs a 'command'", file=str(self.file), obj=self.obj, field=here)
        command = str(value["command"])
        if os.sep in command and not os.path.isabs(command):
            command = str(self.file.parent / command)  # client-go resolves such commands like file paths
        env: dict[str, str] = {}
        for i, item in enumerate(value.get("env") or []):
            if not isinstance(item, dict) or "name" not in item:
                raise errors.InputError(
                    "needs 'name' and 'value'", file=str(self.file), obj=self.obj, field=f"{here}.env[{i}]"
                )
            env[str(item["name"])] = str(item.get("value", ""))
        extra = {
            k: v for k, v in value.items() if k not in {"command", "args", "env", "apiVersion", "installHint"}
        }
        return models.ExecConfig.model_validate(
            {
                "command": command,
                "args": tuple(str(a) for a in value.get("args") or ()),
                "env": env,
                "apiVersion": value.get("apiVersion") or "client.authentication.k8s.io/v1beta1",
                "installHint": value.get("installHint"),
                **extra,
            }
        )
