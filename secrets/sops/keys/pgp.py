"""PGP master keys through the GnuPG keyring (``gpg`` driven by python-gnupg).

Decryption uses the secret keys of ``GNUPGHOME`` (or ``~/.gnupg``, or ``KeyOptions.gnupg_home``)
the way sops falls back to ``gpg -d``; encryption wraps the data key for a fingerprint whose
public key is in the keyring, like sops' ``gpg --encrypt -a -r FPR`` path. gpg runs in batch mode,
so a passphrase-protected secret key that the agent has not unlocked simply fails to decrypt.
"""

from __future__ import annotations

import os
import shutil
import threading
from typing import Any

from fleet.secrets.sops import metadata, tree
from fleet.secrets.sops.keys import KeyOptions, KeySourceError


class PgpSource:
    """Unwraps and wraps data keys with the GnuPG keyring."""

    def __init__(self, options: KeyOptions | None = None) -> None:
        self.options = options or KeyOptions()
        self._gpg: Any = None
        self._lock = threading.Lock()

    def home(self) -> str | None:
        if self.options.gnupg_home:
            return self.options.gnupg_home
        if self.options.use_environment:
            return os.environ.get("GNUPGHOME") or None
        return None

    def gpg(self) -> Any:
        with self._lock:
            if self._gpg is None:
                if shutil.which("gpg") is None:
                    raise KeySourceError("the gpg program is not installed (install gnupg to use PGP keys)")
                import gnupg

                try:
                    self._gpg = gnupg.GPG(gnupghome=self.home())
                except (OSError, ValueError) as exc:
                    raise KeySourceError(f"cannot start gpg: {exc}") from None
                self._gpg.encoding = "utf-8"
            return self._gpg

    def decrypt(self, key: metadata.PgpKey) -> bytes:
        gpg = self.gpg()
        result = gpg.decrypt(key.enc)
        if not result.ok:
            status = (result.status or "").strip()
            if "no secret key" in status or "decryption failed" in status:
                raise KeySourceError("no secret key for it in the GnuPG keyring")
            raise KeySourceError(f"gpg could not decrypt it ({status or 'unknown error'})")
        return bytes(result.data)

    def encrypt(self, recipient: str, data_key: bytes, **options: Any) -> metadata.PgpKey:
        fingerprint = recipient.replace(" ", "")
        gpg = self.gpg()
        result = gpg.encrypt(
            data_key, [fingerprint], armor=True, always_trust=True, extra_args=["--no-encrypt-to"]
        )
        if not result.ok:
            raise KeySourceError(
                f"gpg could not encrypt to {fingerprint} ({(result.status or 'unknown error').strip()}; "
                "is its public key in the keyring?)"
            )
        return metadata.PgpKey(fp=fingerprint, created_at=tree.now_rfc3339(), enc=str(result).strip())
