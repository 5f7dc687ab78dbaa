"""Decrypt and encrypt SOPS documents: data key, tree walk, MAC.

Where it sits: the public functions in ``fleet.secrets.sops`` (CLI, render-time decryption, the
``ref+sops://`` provider) call ``decrypt_document`` / ``encrypt_document``; they use a store to
parse and write the file, the keyring to unwrap or wrap the data key, ``cipher`` for the values
and the MAC, and ``shamir`` when a file has several key groups (FORMATS.md A.1, A.5, A.7, A.8).

Every decrypted value is registered with ``fleet.redact`` the moment it exists, and no error or
log line carries a value: errors name the file, the key path or the recipient.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fleet import log, redact
from fleet.secrets.sops import cipher, errors, keys, metadata, shamir, stores, tree

logger = log.get_logger(__name__)

DATA_KEY_SIZE = 32


@dataclass
class Decrypted:
    """A decrypted document: the plaintext tree (per YAML document), its metadata and format."""

    fmt: stores.Format
    branches: list[tree.Branch]
    metadata: metadata.Metadata
    mac_verified: bool

    def emit(self) -> bytes:
        """The plaintext in the file's own format (what ``sops -d`` prints)."""
        return stores.store_for(self.fmt).emit_plain(self.branches)

    def to_plain(self) -> list[Any]:
        """Each document as plain Python data (dicts, lists, scalars)."""
        return [tree.to_plain(branch) for branch in self.branches]


# -- data key ----------------------------------------------------------------------------------


def _try_group(
    group: metadata.KeyGroup, index: int, keyring: keys.Keyring, attempts: list[errors.KeyAttempt]
) -> bytes | None:
    for key in group.decryption_order():
        try:
            part = keyring.decrypt(key)
        except keys.KeySourceError as exc:
            attempts.append(
                errors.KeyAttempt(index, key.key_type.value, key.recipient, exc.reason, exc.transient)
            )
            continue
        except Exception as exc:  # noqa: BLE001 - a backend bug must not hide the other keys
            attempts.append(
                errors.KeyAttempt(index, key.key_type.value, key.recipient, f"failed ({type(exc).__name__})")
            )
            continue
        logger.debug(
            "data key unwrapped",
            extra={"fields": {"key_type": key.key_type.value, "recipient": key.recipient, "group": index}},
        )
        return part
    return None


def get_data_key(meta: metadata.Metadata, keyring: keys.Keyring, *, file: str | None = None) -> bytes:
    """The 32-byte data key: from any key of the single group, or Shamir shares of enough groups.

    Every key is tried (age first, then PGP, then the others) before giving up; the error lists
    each recipient that was tried and why it failed.
    """
    groups = meta.groups()
    attempts: list[errors.KeyAttempt] = []
    parts: list[bytes] = []
    for index, group in enumerate(groups):
        part = _try_group(group, index, keyring, attempts)
        if part is not None:
            parts.append(part)
            if len(groups) > 1 and len(parts) >= meta.threshold():
                break
    usable = [a for a in attempts if a.key_type not in {k.value for k in keys.UNSUPPORTED}]
    if len(groups) == 1:
        if parts:
            key = parts[0]
        elif not usable and attempts:
            raise errors.UnusableKeysError(
                "no key could decrypt the data key: every master key of the file needs a service fleet does not support",
                attempts=attempts,
                file=file,
            )
        else:
            raise errors.NoKeyError("no key could decrypt the data key", attempts=attempts, file=file)
    else:
        threshold = meta.threshold()
        if len(parts) < threshold:
            raise errors.NoKeyError(
                f"no key could decrypt the data key: {len(parts)} of {len(groups)} key groups could be "
                f"decrypted, {threshold} are needed (shamir_threshold)",
                attempts=attempts,
                file=file,
            )
        try:
            key = shamir.combine(parts)
        except ValueError as exc:
            raise errors.NoKeyError(
                f"could not combine the Shamir shares of the data key: {exc}", file=file
            ) from None
    if len(key) != DATA_KEY_SIZE:
        raise errors.NoKeyError(
            f"the unwrapped data key has {len(key)} bytes instead of {DATA_KEY_SIZE}", file=file
        )
    return key


# -- decryption --------------------------------------------------------------------------------


def _comment_aads(path: tuple[str, ...]) -> list[str]:
    """The comment's own mapping path first, then its ancestors (robust to comment placement)."""
    return [":".join(path[:length]) + ":" for length in range(len(path), -1, -1)]


def decrypt_branches(
    branches: list[tree.Branch],
    meta: metadata.Metadata,
    data_key: bytes,
    *,
    file: str | None = None,
    ignore_mac: bool = False,
) -> bool:
    """Decrypt the tree in place and verify the MAC; returns whether the MAC was verified.

    Raises ``DecryptionError`` for a value that does not decrypt (naming its key path) and
    ``MacMismatchError`` when the MAC does not match (unless ``ignore_mac``).
    """
    rule = meta.crypt_rule()
    mac = cipher.Mac(only_encrypted=meta.mac_only_encrypted)
    kept_comments = 0

    def on_leaf(leaf: tree.Leaf) -> Any:
        nonlocal kept_comments
        value = leaf.value
        if leaf.encrypt:
            if leaf.is_comment:
                kept = False
                for aad in _comment_aads(leaf.path):
                    try:
                        value = cipher.decrypt_value(leaf.value.value, data_key, aad)
                        break
                    except cipher.CipherError:
                        continue
                else:
                    kept, kept_comments = True, kept_comments + 1
                    value = tree.Comment(leaf.value.value, leaf.value.inline)
                if isinstance(value, str):  # an old file's comment that happened to decrypt as a string
                    value = tree.Comment(value)
                if not kept:
                    # an encrypted comment may hold anything (a commented-out password): mask it too
                    redact.register(value.value.strip().encode("utf-8", "surrogateescape"))
                return value
            if not isinstance(value, str):
                raise errors.DecryptionError(
                    f"expected an encrypted value (a string) at {leaf.aad.rstrip(':') or '<root>'}, "
                    f"but found a {type(value).__name__}",
                    file=file,
                )
            try:
                value = cipher.decrypt_value(value, data_key, leaf.aad)
            except cipher.CipherError as exc:
                raise errors.DecryptionError(
                    f"could not decrypt the value at {leaf.aad.rstrip(':') or '<root>'}: {exc}", file=file
                ) from None
            _register(value)
        mac.add(value, encrypted=leaf.encrypt)
        return value

    try:
        tree.walk(branches, rule, on_leaf)
    except tree.TreeError as exc:
        raise errors.FormatError(f"error walking tree: {exc}", file=file) from None
    if kept_comments:
        logger.warning(
            "found possibly unencrypted comments; kept as they are (expected for files from older sops versions)",
            extra={"fields": {"file": file, "comments": kept_comments}},
        )
    computed = mac.hexdigest()
    if ignore_mac:
        return False
    if not meta.mac:
        raise errors.MacMismatchError("MAC mismatch: the file has no MAC", file=file)
    try:
        stored = cipher.decrypt_value(meta.mac, data_key, tree.rfc3339(meta.lastmodified))
    except (cipher.CipherError, ValueError):
        raise errors.MacMismatchError(
            "cannot decrypt the MAC: the metadata (lastmodified or mac) was altered", file=file
        ) from None
    if stored != computed:
        raise errors.MacMismatchError(
            "MAC mismatch: the file's values do not match its MAC (the file was altered or corrupted)",
            file=file,
        )
    return True


def _register(value: Any) -> None:
    if isinstance(value, tree.Comment):
        return
    if isinstance(value, str):
        redact.register(value.encode("utf-8", "surrogateescape"))
    elif isinstance(value, bytes):
        redact.register(value)
    elif isinstance(value, bool):
        return
    elif value is not None:
        redact.register(str(cipher.to_bytes(value).decode("utf-8", "replace")))


def load_encrypted(
    data: bytes, *, fmt: stores.Format | str | None = None, file: str | None = None
) -> tuple[stores.Format, list[tree.Branch], metadata.Metadata]:
    """Parse an encrypted file: its format, documents (still encrypted) and metadata."""
    resolved = stores.resolve_format(file, fmt)
    branches, raw = stores.store_for(resolved).load_encrypted(data, file=file)
    return resolved, branches, metadata.validate(raw, file=file)


def decrypt_document(
    data: bytes,
    *,
    fmt: stores.Format | str | None = None,
    file: str | None = None,
    keyring: keys.Keyring | None = None,
    ignore_mac: bool = False,
) -> Decrypted:
    """Decrypt a SOPS file's bytes (format from ``fmt`` or the extension of ``file``)."""
    resolved, branches, meta = load_encrypted(data, fmt=fmt, file=file)
    data_key = get_data_key(meta, keyring or keys.Keyring(), file=file)
    verified = decrypt_branches(branches, meta, data_key, file=file, ignore_mac=ignore_mac)
    logger.debug("sops file decrypted", extra={"fields": {"file": file, "format": resolved.value}})
    return Decrypted(resolved, branches, meta, verified)


# -- encryption --------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeyGroupSpec:
    """The recipients of one key group."""

    age: tuple[str, ...] = ()
    pgp: tuple[str, ...] = ()
    kms: tuple[str, ...] = ()  # ARN, or ARN+ROLE_ARN
    hc_vault_transit: tuple[str, ...] = ()  # https://vault:8200/v1/transit/keys/name

    def is_empty(self) -> bool:
        return not (self.age or self.pgp or self.kms or self.hc_vault_transit)


@dataclass(frozen=True)
class EncryptOptions:
    """What ``encrypt_document`` needs: recipients (one group or several), rule and MAC mode."""

    age: tuple[str, ...] = ()
    pgp: tuple[str, ...] = ()
    kms: tuple[str, ...] = ()
    hc_vault_transit: tuple[str, ...] = ()
    key_groups: tuple[KeyGroupSpec, ...] = ()  # several groups (Shamir); the flat lists must be empty
    shamir_threshold: int = 0  # 0: every group is needed
    kms_context: Mapping[str, str] = field(default_factory=dict)
    aws_profile: str = ""
    rule: tree.CryptRule | None = None  # None: the default unencrypted suffix "_unencrypted"
    mac_only_encrypted: bool = False
    version: str = metadata.SOPS_VERSION

    def groups(self) -> list[KeyGroupSpec]:
        flat = KeyGroupSpec(self.age, self.pgp, self.kms, self.hc_vault_transit)
        if self.key_groups:
            if not flat.is_empty():
                raise errors.SopsInputError("give recipients either as key groups or as flat lists, not both")
            return list(self.key_groups)
        return [flat]


def _wrap(
    spec: KeyGroupSpec, secret: bytes, keyring: keys.Keyring, options: EncryptOptions, index: int
) -> metadata.KeyGroup:
    wrapped: dict[str, list[Any]] = {"age": [], "pgp": [], "kms": [], "hc_vault": []}
    plan: tuple[tuple[metadata.KeyType, str, Any, dict[str, Any]], ...] = (
        (metadata.KeyType.AGE, "age", spec.age, {}),
        (metadata.KeyType.PGP, "pgp", spec.pgp, {}),
        (
            metadata.KeyType.KMS,
            "kms",
            spec.kms,
            {"context": dict(options.kms_context) or None, "aws_profile": options.aws_profile},
        ),
        (metadata.KeyType.HC_VAULT, "hc_vault", spec.hc_vault_transit, {}),
    )
    for key_type, name, recipients, extra in plan:
        for recipient in recipients:
            try:
                wrapped[name].append(keyring.encrypt(key_type, recipient, secret, **extra))
            except keys.KeySourceError as exc:
                message = f"could not encrypt the data key for {key_type.value} {recipient} (group {index}): {exc.reason}"
                if exc.malformed:  # a recipient that does not parse is a bad flag or .sops.yaml entry
                    raise errors.SopsInputError(message) from None
                raise errors.EncryptionError(message) from None
    return metadata.KeyGroup(**wrapped)


def wrap_data_key(
    data_key: bytes, options: EncryptOptions, keyring: keys.Keyring
) -> tuple[list[metadata.KeyGroup], int]:
    """Every group's keys wrapping the data key (or its Shamir share); returns (groups, threshold)."""
    specs = options.groups()
    if any(spec.is_empty() for spec in specs):
        raise errors.SopsInputError(
            "no recipients: give at least one --age, --pgp, --kms or --hc-vault-transit key"
            + (" in every key group" if len(specs) > 1 else "")
        )
    if len(specs) == 1:
        if options.shamir_threshold > 1:
            raise errors.SopsInputError("a Shamir threshold needs more than one key group")
        return [_wrap(specs[0], data_key, keyring, options, 0)], 0
    threshold = options.shamir_threshold or len(specs)
    if not 2 <= threshold <= len(specs):
        raise errors.SopsInputError(
            f"the Shamir threshold must be between 2 and the number of key groups ({len(specs)}), got {threshold}"
        )
    shares = shamir.split(data_key, len(specs), threshold)
    return [
        _wrap(spec, share, keyring, options, index)
        for index, (spec, share) in enumerate(zip(specs, shares, strict=False))
    ], threshold


@dataclass(frozen=True)
class EncryptedTree:
    """The result of ``encrypt_branches``: the tree now holds ENC values."""

    mac: str  # upper-case hex of the plaintext MAC
    lastmodified: str
    encrypted_mac: str


def encrypt_branches(
    branches: list[tree.Branch],
    data_key: bytes,
    *,
    rule: tree.CryptRule,
    mac_only_encrypted: bool = False,
    lastmodified: str | None = None,
    file: str | None = None,
) -> EncryptedTree:
    """Encrypt the leaves the rule selects (fresh 32-byte IVs), in place, and compute the MAC."""
    mac = cipher.Mac(only_encrypted=mac_only_encrypted)

    def on_leaf(leaf: tree.Leaf) -> Any:
        mac.add(leaf.value, encrypted=leaf.encrypt)
        if not leaf.encrypt:
            return leaf.value
        _register(leaf.value)
        try:
            encrypted = cipher.encrypt_value(leaf.value, data_key, leaf.aad)
        except cipher.CipherError as exc:
            raise errors.EncryptionError(
                f"could not encrypt the value at {leaf.aad.rstrip(':')}: {exc}", file=file
            ) from None
        if (
            leaf.is_comment
            and rule.kind is tree.RuleKind.UNENCRYPTED_COMMENT_REGEX
            and rule._matches(encrypted)
        ):
            raise errors.SopsInputError(
                "an encrypted comment matches unencrypted_comment_regex; choose a regex that cannot match "
                "ENC[AES256_GCM,...] text",
                file=file,
            )
        return encrypted

    try:
        tree.walk(branches, rule, on_leaf)
    except tree.TreeError as exc:
        raise errors.FormatError(f"error walking tree: {exc}", file=file) from None
    stamp = lastmodified or tree.now_rfc3339()
    digest = mac.hexdigest()
    return EncryptedTree(digest, stamp, cipher.encrypt_value(digest, data_key, tree.rfc3339(stamp)))


def encrypt_document(
    data: bytes,
    options: EncryptOptions,
    *,
    fmt: stores.Format | str | None = None,
    file: str | None = None,
    keyring: keys.Keyring | None = None,
    data_key: bytes | None = None,
) -> bytes:
    """Encrypt a plaintext file's bytes; returns the encrypted file in the same format."""
    resolved = stores.resolve_format(file, fmt)
    store = stores.store_for(resolved)
    branches = store.load(data, file=file)
    if resolved is not stores.Format.BINARY and store.has_metadata(branches):
        raise errors.SopsInputError("the file is already encrypted (it has sops metadata)", file=file)
    key = data_key if data_key is not None else os.urandom(DATA_KEY_SIZE)
    if len(key) != DATA_KEY_SIZE:
        raise errors.SopsInputError(f"a data key has {DATA_KEY_SIZE} bytes")
    groups, threshold = wrap_data_key(key, options, keyring or keys.Keyring())
    rule = options.rule or tree.CryptRule()
    result = encrypt_branches(
        branches, key, rule=rule, mac_only_encrypted=options.mac_only_encrypted, file=file
    )
    fields: dict[str, Any] = {
        "lastmodified": result.lastmodified,
        "mac": result.encrypted_mac,
        "version": options.version,
        rule.kind.value: rule.value,
        "mac_only_encrypted": options.mac_only_encrypted,
        "shamir_threshold": threshold,
    }
    if len(groups) == 1:
        fields.update({name: list(getattr(groups[0], name)) for name in ("age", "pgp", "kms", "hc_vault")})
    else:
        fields["key_groups"] = groups
    meta = metadata.Metadata(**fields)
    logger.debug(
        "sops file encrypted",
        extra={
            "fields": {"file": file, "format": resolved.value, "groups": len(groups), "rule": rule.kind.value}
        },
    )
    return store.emit_encrypted(branches, metadata.to_branch(meta))
