"""age master keys through pyrage: identities from where sops looks, armored age files.

Identity sources, in sops' order (FORMATS.md A.7): ``SOPS_AGE_SSH_PRIVATE_KEY_FILE``,
``SOPS_AGE_SSH_PRIVATE_KEY_CMD``, ``~/.ssh/id_ed25519`` and ``~/.ssh/id_rsa``, then ``SOPS_AGE_KEY``
(several keys, whitespace-separated), ``SOPS_AGE_KEY_FILE``, ``SOPS_AGE_KEY_CMD`` and
``<user config dir>/sops/age/keys.txt`` (``$XDG_CONFIG_HOME`` or ``~/.config``). An identity file
may itself be age-encrypted with a passphrase; sops asks for it interactively, fleet reads it from
``FLEET_SOPS_AGE_PASSPHRASE`` (``KeyOptions.age_passphrase_env``) since it runs unattended.
Identities are loaded once per source and never logged.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import threading
from pathlib import Path
from typing import Any

import pyrage
from pyrage import ssh as age_ssh
from pyrage import x25519

from fleet import log
from fleet.secrets.sops import metadata
from fleet.secrets.sops.keys import KeyOptions, KeySourceError

logger = log.get_logger(__name__)

SOPS_AGE_KEY = "SOPS_AGE_KEY"
SOPS_AGE_KEY_FILE = "SOPS_AGE_KEY_FILE"
SOPS_AGE_KEY_CMD = "SOPS_AGE_KEY_CMD"
SOPS_AGE_SSH_PRIVATE_KEY_FILE = "SOPS_AGE_SSH_PRIVATE_KEY_FILE"
SOPS_AGE_SSH_PRIVATE_KEY_CMD = "SOPS_AGE_SSH_PRIVATE_KEY_CMD"
USER_CONFIG_PATH = ("sops", "age", "keys.txt")


def user_config_dir() -> Path | None:
    """Go's ``os.UserConfigDir`` on Linux: ``$XDG_CONFIG_HOME`` if absolute, else ``~/.config``."""
    xdg = os.environ.get("XDG_CONFIG_HOME", "")
    if xdg and os.path.isabs(xdg):
        return Path(xdg)
    home = os.environ.get("HOME") or str(Path.home())
    return Path(home) / ".config" if home else None


def parse_identity(text: str) -> Any:
    """One identity line; raises KeySourceError (without the key) for unknown or bad keys."""
    if text.startswith("AGE-SECRET-KEY-PQ-1"):
        raise KeySourceError(
            "post-quantum age identities (AGE-SECRET-KEY-PQ-1...) are not supported by pyrage"
        )
    if text.startswith("AGE-PLUGIN-"):
        raise KeySourceError("age plugin identities are not supported")
    if text.startswith("AGE-SECRET-KEY-1"):
        try:
            return x25519.Identity.from_str(text)
        except Exception:  # noqa: BLE001 - pyrage's message would echo the key
            raise KeySourceError("malformed age X25519 identity") from None
    raise KeySourceError("unknown identity type")


def parse_identities(text: str, *, several_per_line: bool, location: str) -> list[Any]:
    """Identities of a key file: one per line (or per word), blank lines and ``#`` lines skipped."""
    found = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        words = line.split() if several_per_line else [line]
        for word in words:
            try:
                found.append(parse_identity(word))
            except KeySourceError as exc:
                raise KeySourceError(f"failed to parse {location} age identities: {exc.reason}") from None
    return found


def parse_recipient(recipient: str) -> Any:
    recipient = recipient.strip()
    try:
        if recipient.startswith("age1pq1"):
            raise KeySourceError("post-quantum age recipients are not supported by pyrage")
        if recipient.startswith("age1") and recipient.count("1") > 1:
            raise KeySourceError("age plugin recipients are not supported")
        if recipient.startswith("age1"):
            return x25519.Recipient.from_str(recipient)
        if recipient.startswith("ssh-"):
            return age_ssh.Recipient.from_str(recipient)
    except KeySourceError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise KeySourceError(f"failed to parse age recipient {recipient!r}: {exc}", malformed=True) from None
    raise KeySourceError(f"unknown age recipient type: {recipient!r}", malformed=True)


class AgeSource:
    """Unwraps and wraps data keys with age (X25519 and SSH identities)."""

    def __init__(self, options: KeyOptions | None = None) -> None:
        self.options = options or KeyOptions()
        self._identities: list[Any] | None = None
        self._problems: list[str] = []
        self._lock = threading.Lock()

    # -- identities ------------------------------------------------------------------------------

    def _ssh_identity(self, content: bytes, location: str) -> Any | None:
        try:
            return age_ssh.Identity.from_buffer(content)
        except Exception:  # noqa: BLE001 - encrypted or unsupported SSH keys
            self._problems.append(f"{location}: not a usable (unencrypted ed25519/RSA) SSH private key")
            return None

    def _run(self, command: str, recipient: str | None) -> bytes | None:
        env = dict(os.environ)
        if recipient:
            env["SOPS_AGE_RECIPIENT"] = recipient
        try:
            return subprocess.run(
                shlex.split(command), capture_output=True, check=True, env=env, timeout=60
            ).stdout
        except (OSError, subprocess.SubprocessError, ValueError) as exc:
            self._problems.append(f"failed to execute command {command!r}: {type(exc).__name__}")
            return None

    def _identity_file(self, content: bytes, location: str, *, several_per_line: bool) -> list[Any]:
        head = content[:14]
        if head in (b"age-encryption", b"-----BEGIN AGE"):
            passphrase = os.environ.get(self.options.age_passphrase_env)
            if not passphrase:
                self._problems.append(
                    f"{location} is passphrase-protected; set {self.options.age_passphrase_env} to use it"
                )
                return []
            try:
                content = pyrage.passphrase.decrypt(content, passphrase)
            except Exception:  # noqa: BLE001
                self._problems.append(f"{location}: incorrect passphrase")
                return []
        try:
            return parse_identities(
                content.decode("utf-8"), several_per_line=several_per_line, location=f"'{location}'"
            )
        except (KeySourceError, UnicodeDecodeError) as exc:
            self._problems.append(getattr(exc, "reason", f"{location}: not a text file"))
            return []

    def _load(self) -> list[Any]:
        found: list[Any] = []
        env = os.environ if self.options.use_environment else {}
        home = Path(os.environ.get("HOME") or Path.home())
        if self.options.use_environment:
            path = env.get(SOPS_AGE_SSH_PRIVATE_KEY_FILE)
            if path:
                try:
                    identity = self._ssh_identity(Path(path).read_bytes(), path)
                    if identity is not None:
                        found.append(identity)
                except OSError as exc:
                    self._problems.append(f"cannot read {SOPS_AGE_SSH_PRIVATE_KEY_FILE}: {exc.strerror}")
            command = env.get(SOPS_AGE_SSH_PRIVATE_KEY_CMD)
            if command:
                output = self._run(command, None)
                if output is not None:
                    identity = self._ssh_identity(output, SOPS_AGE_SSH_PRIVATE_KEY_CMD)
                    if identity is not None:
                        found.append(identity)
            for name in ("id_ed25519", "id_rsa"):
                ssh_path = home / ".ssh" / name
                if ssh_path.is_file():
                    identity = self._ssh_identity(ssh_path.read_bytes(), str(ssh_path))
                    if identity is not None:
                        found.append(identity)
            if env.get(SOPS_AGE_KEY) is not None:
                found.extend(
                    self._identity_file(env[SOPS_AGE_KEY].encode(), SOPS_AGE_KEY, several_per_line=True)
                )
            if env.get(SOPS_AGE_KEY_FILE):
                try:
                    content = Path(env[SOPS_AGE_KEY_FILE]).read_bytes()
                    found.extend(self._identity_file(content, env[SOPS_AGE_KEY_FILE], several_per_line=False))
                except OSError as exc:
                    self._problems.append(f"failed to open {SOPS_AGE_KEY_FILE} file: {exc.strerror}")
            if env.get(SOPS_AGE_KEY_CMD):
                output = self._run(env[SOPS_AGE_KEY_CMD], None)
                if output is not None:
                    found.extend(self._identity_file(output, SOPS_AGE_KEY_CMD, several_per_line=False))
            config = user_config_dir()
            if config is not None:
                keys_file = config.joinpath(*USER_CONFIG_PATH)
                if keys_file.is_file():
                    found.extend(
                        self._identity_file(keys_file.read_bytes(), str(keys_file), several_per_line=False)
                    )
        for path in self.options.age_identity_files:
            try:
                found.extend(self._identity_file(Path(path).read_bytes(), path, several_per_line=False))
            except OSError as exc:
                self._problems.append(f"cannot read {path}: {exc.strerror}")
        logger.debug("age identities loaded", extra={"fields": {"count": len(found)}})
        return found

    def identities(self) -> list[Any]:
        with self._lock:
            if self._identities is None:
                self._identities = self._load()
            return self._identities

    # -- the key source ---------------------------------------------------------------------------

    def decrypt(self, key: metadata.AgeKey) -> bytes:
        identities = self.identities()
        if not identities:
            detail = ("; " + "; ".join(self._problems)) if self._problems else ""
            raise KeySourceError(
                f"no age identity found (looked in {SOPS_AGE_KEY}, {SOPS_AGE_KEY_FILE}, {SOPS_AGE_KEY_CMD}, "
                f"~/.config/sops/age/keys.txt and SSH keys){detail}"
            )
        try:
            return pyrage.decrypt(key.enc.encode(), identities)
        except pyrage.DecryptError as exc:
            reason = "no matching age identity" if "No matching keys" in str(exc) else "age decryption failed"
            raise KeySourceError(reason) from None
        except Exception:  # noqa: BLE001 - a malformed armored file
            raise KeySourceError("the encrypted data key is not a valid age file") from None

    def encrypt(self, recipient: str, data_key: bytes, **options: Any) -> metadata.AgeKey:
        parsed = parse_recipient(recipient)
        armored = pyrage.encrypt(data_key, [parsed], armored=True).decode()
        if not armored.endswith("\n"):
            armored += "\n"
        return metadata.AgeKey(recipient=recipient.strip(), enc=armored)
