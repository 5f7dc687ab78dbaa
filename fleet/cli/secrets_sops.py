"""CLI: ``fleet secrets decrypt`` and ``fleet secrets encrypt`` (SOPS, no sops binary needed).

A thin shell over ``fleet.secrets.sops``. ``decrypt`` prints the plaintext on stdout (or writes it
to ``--output``) only because the user asked for exactly that; ``encrypt`` writes ciphertext.
Keys come from where sops reads them: ``SOPS_AGE_KEY_FILE``, ``SOPS_AGE_KEY``,
``~/.config/sops/age/keys.txt``, SSH keys, the GnuPG keyring (``GNUPGHOME``), AWS and Vault
credentials. Errors are one line on stderr and exit 1 (2 for bad input).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from fleet import errors
from fleet.cli import common
from fleet.secrets import sops
from fleet.secrets.sops import stores


def _split(values: list[str] | None) -> tuple[str, ...]:
    """``--age a,b --age c`` -> (a, b, c)."""
    out: list[str] = []
    for value in values or []:
        out.extend(part.strip() for part in value.split(",") if part.strip())
    return tuple(out)


def _read(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise errors.InputError("no such file", file=path) from None
    except OSError as exc:
        raise errors.InputError(f"cannot be read: {exc.strerror}", file=path) from None


def _write(path: str, data: bytes, *, private: bool) -> None:
    """Write atomically (a temporary file renamed over the target), 0600 for plaintext."""
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    try:
        handle, temporary = tempfile.mkstemp(dir=directory, prefix=f".{target.name}.", suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as stream:
                stream.write(data)
            mode = 0o600 if private else (target.stat().st_mode & 0o777 if target.exists() else 0o644)
            os.chmod(temporary, mode)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise errors.InputError(f"cannot be written: {exc.strerror}", file=path) from None


def _input_type(value: str | None, path: str) -> stores.Format | None:
    if value is None:
        if path == "-":
            raise errors.InputError(
                "reading from stdin needs --input-type (yaml, json, dotenv, ini or binary)"
            )
        return None
    return stores.resolve_format(path, value)


def decrypt(
    file: Annotated[
        str, typer.Argument(metavar="FILE", help="The SOPS file ('-' for stdin, with --input-type).")
    ],
    input_type: Annotated[
        str | None,
        typer.Option("--input-type", help="yaml, json, dotenv, ini or binary (default: by extension)."),
    ] = None,
    output: Annotated[
        str | None, typer.Option("--output", help="Write the plaintext here instead of stdout.")
    ] = None,
    ignore_mac: Annotated[
        bool, typer.Option("--ignore-mac", help="Do not verify the MAC (recovery only).")
    ] = False,
) -> None:
    """Decrypt a SOPS file, like `sops -d`, and print it in its own format."""
    try:
        fmt = _input_type(input_type, file)
        plaintext = sops.decrypt_bytes(
            _read(file), path=file if file != "-" else None, fmt=fmt, ignore_mac=ignore_mac
        )
        if output:
            _write(output, plaintext, private=True)
        else:
            sys.stdout.buffer.write(plaintext)
            sys.stdout.buffer.flush()
    except errors.FleetError as exc:
        raise common.fail(exc) from None


def _key_groups(specs: list[str] | None) -> tuple[sops.KeyGroupSpec, ...]:
    """``--key-group age:AGE1...,pgp:FPR,kms:ARN,hc_vault:URI`` (one option per group)."""
    groups = []
    for spec in specs or []:
        found: dict[str, list[str]] = {"age": [], "pgp": [], "kms": [], "hc_vault_transit": []}
        for entry in (part.strip() for part in spec.split(",")):
            if not entry:
                continue
            kind, sep, recipient = entry.partition(":")
            kind = {"hc_vault": "hc_vault_transit", "hc-vault-transit": "hc_vault_transit"}.get(kind, kind)
            if not sep or kind not in found or not recipient:
                raise errors.InputError(
                    f"--key-group entry {entry!r} is not TYPE:RECIPIENT (TYPE: age, pgp, kms, hc_vault)"
                )
            found[kind].append(recipient)
        groups.append(sops.KeyGroupSpec(**{k: tuple(v) for k, v in found.items()}))
    return tuple(groups)


def _rule(
    encrypted_regex: str | None,
    unencrypted_regex: str | None,
    encrypted_suffix: str | None,
    unencrypted_suffix: str | None,
    encrypted_comment_regex: str | None,
    unencrypted_comment_regex: str | None,
) -> sops.CryptRule | None:
    given = {
        sops.RuleKind.ENCRYPTED_REGEX: encrypted_regex,
        sops.RuleKind.UNENCRYPTED_REGEX: unencrypted_regex,
        sops.RuleKind.ENCRYPTED_SUFFIX: encrypted_suffix,
        sops.RuleKind.UNENCRYPTED_SUFFIX: unencrypted_suffix,
        sops.RuleKind.ENCRYPTED_COMMENT_REGEX: encrypted_comment_regex,
        sops.RuleKind.UNENCRYPTED_COMMENT_REGEX: unencrypted_comment_regex,
    }
    chosen = {kind: value for kind, value in given.items() if value is not None}
    if len(chosen) > 1:
        raise errors.InputError(
            "give at most one of --encrypted-regex, --unencrypted-regex, --encrypted-suffix, "
            "--unencrypted-suffix, --encrypted-comment-regex, --unencrypted-comment-regex"
        )
    if not chosen:
        return None
    kind, value = next(iter(chosen.items()))
    if not value:
        raise errors.InputError(f"--{kind.value.replace('_', '-')} must not be empty")
    try:
        return sops.CryptRule(kind, value)
    except Exception as exc:  # noqa: BLE001 - the regex engine's error, whichever engine compiles it
        raise errors.InputError(
            f"--{kind.value.replace('_', '-')}: invalid regular expression: {exc}"
        ) from None


def _context(values: list[str] | None) -> dict[str, str]:
    context: dict[str, str] = {}
    for entry in _split(values):
        key, sep, value = entry.partition(":")
        if not sep or not key:
            raise errors.InputError(f"--encryption-context entry {entry!r} is not KEY:VALUE")
        context[key] = value
    return context


def encrypt(
    file: Annotated[
        str, typer.Argument(metavar="FILE", help="The plaintext file ('-' for stdin, with --input-type).")
    ],
    age: Annotated[list[str] | None, typer.Option("--age", help="age recipient(s), comma-separated.")] = None,
    pgp: Annotated[
        list[str] | None, typer.Option("--pgp", help="PGP fingerprint(s) in the GnuPG keyring.")
    ] = None,
    kms: Annotated[
        list[str] | None, typer.Option("--kms", help="AWS KMS key ARN(s) (ARN+ROLE_ARN to assume a role).")
    ] = None,
    hc_vault_transit: Annotated[
        list[str] | None,
        typer.Option(
            "--hc-vault-transit", help="Vault transit key URI(s): https://vault:8200/v1/transit/keys/NAME."
        ),
    ] = None,
    key_group: Annotated[
        list[str] | None,
        typer.Option(
            "--key-group",
            help="One key group per option: TYPE:RECIPIENT,... with TYPE age, pgp, kms or hc_vault (instead of --age/...).",
        ),
    ] = None,
    shamir_threshold: Annotated[
        int,
        typer.Option(
            "--shamir-secret-sharing-threshold", help="Key groups needed to decrypt (default: all)."
        ),
    ] = 0,
    encrypted_regex: Annotated[
        str | None, typer.Option("--encrypted-regex", help="Encrypt only keys matching it.")
    ] = None,
    unencrypted_regex: Annotated[
        str | None, typer.Option("--unencrypted-regex", help="Leave keys matching it in clear.")
    ] = None,
    encrypted_suffix: Annotated[
        str | None, typer.Option("--encrypted-suffix", help="Encrypt only keys ending with it.")
    ] = None,
    unencrypted_suffix: Annotated[
        str | None,
        typer.Option(
            "--unencrypted-suffix", help="Leave keys ending with it in clear (default _unencrypted)."
        ),
    ] = None,
    encrypted_comment_regex: Annotated[
        str | None,
        typer.Option("--encrypted-comment-regex", help="Encrypt values after a comment matching it."),
    ] = None,
    unencrypted_comment_regex: Annotated[
        str | None,
        typer.Option(
            "--unencrypted-comment-regex", help="Leave values after a comment matching it in clear."
        ),
    ] = None,
    mac_only_encrypted: Annotated[
        bool, typer.Option("--mac-only-encrypted", help="Compute the MAC over encrypted values only.")
    ] = False,
    encryption_context: Annotated[
        list[str] | None, typer.Option("--encryption-context", help="KMS encryption context KEY:VALUE,...")
    ] = None,
    aws_profile: Annotated[str, typer.Option("--aws-profile", help="AWS profile for the KMS keys.")] = "",
    input_type: Annotated[
        str | None,
        typer.Option("--input-type", help="yaml, json, dotenv, ini or binary (default: by extension)."),
    ] = None,
    output: Annotated[str | None, typer.Option("--output", help="Write the encrypted file here.")] = None,
    in_place: Annotated[
        bool, typer.Option("--in-place", "-i", help="Replace FILE with the encrypted file.")
    ] = False,
) -> None:
    """Encrypt a file with SOPS, so that sops (and fleet) can decrypt it."""
    try:
        if in_place and (output or file == "-"):
            raise errors.InputError("--in-place cannot be combined with --output or stdin")
        options = sops.EncryptOptions(
            age=_split(age),
            pgp=_split(pgp),
            kms=_split(kms),
            hc_vault_transit=_split(hc_vault_transit),
            key_groups=_key_groups(key_group),
            shamir_threshold=shamir_threshold,
            kms_context=_context(encryption_context),
            aws_profile=aws_profile,
            rule=_rule(
                encrypted_regex,
                unencrypted_regex,
                encrypted_suffix,
                unencrypted_suffix,
                encrypted_comment_regex,
                unencrypted_comment_regex,
            ),
            mac_only_encrypted=mac_only_encrypted,
        )
        fmt = _input_type(input_type, file)
        encrypted = sops.encrypt_bytes(_read(file), options, path=file if file != "-" else None, fmt=fmt)
        if in_place:
            _write(file, encrypted, private=False)
        elif output:
            _write(output, encrypted, private=False)
        else:
            sys.stdout.buffer.write(encrypted)
            sys.stdout.buffer.flush()
    except errors.FleetError as exc:
        raise common.fail(exc) from None


def register(app: typer.Typer) -> None:
    """Add ``decrypt`` and ``encrypt`` to the ``fleet secrets`` app."""
    app.command("decrypt")(decrypt)
    app.command("encrypt")(encrypt)
