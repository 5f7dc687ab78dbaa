"""Reading a cluster source file (a ``ClusterList``, Argo CD cluster Secrets, a kubeconfig, a file
whose kind is not known yet) into its YAML documents.

Sits below ``native``, ``argocd``, ``kubeconfig`` and ``registry``, which model the documents; it imports nothing
from fleet but ``errors`` and ``kyaml``. These files hold credentials, so no error quotes them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from fleet import errors, kyaml


def read_text(path: str | Path) -> str:
    """The file's text; an InputError naming the file when it cannot be read or is not UTF-8."""
    try:
        return Path(path).read_text(encoding="utf-8")  # not the locale's encoding
    except OSError as exc:
        raise errors.InputError(f"cannot be read: {exc.strerror}", file=str(path)) from exc
    except UnicodeDecodeError:  # not chained: the decoder's message quotes the bytes it met
        raise errors.InputError("is not UTF-8 text", file=str(path)) from None


def documents(path: str | Path) -> list[Any]:
    """Every document of the file as PyYAML's safe loader reads it (``None`` for an empty one)."""
    text = read_text(path)
    try:
        return list(yaml.safe_load_all(text))
    except yaml.YAMLError as exc:  # not chained: the parser's message quotes the (secret) input
        raise errors.InputError(f"is not valid YAML: {kyaml.error_text(exc)}", file=str(path)) from None
