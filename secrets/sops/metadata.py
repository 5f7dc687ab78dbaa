"""The ``sops:`` metadata block: its model, how it is read from a tree and written back.

Where it sits: a store parses a file into a tree, ``extract`` takes the metadata out of it
(already unflattened for dotenv and INI) and validates it into ``Metadata``; encryption builds a
``Metadata`` and ``to_branch`` turns it into the tree sops writes, keys sorted alphabetically and
empty fields left out the way upstream's struct tags do (FORMATS.md A.6).

Reading is lenient like upstream's weakly-typed decoding: flattened stores hold every value as a
string (``shamir_threshold=2``, ``mac_only_encrypted=true``), very old files carry a numeric
``version``, and ``kms: null`` / ``kms: []`` both mean "no KMS keys". Unknown keys are ignored.
"""

from __future__ import annotations

from collections.abc import Iterator
from enum import StrEnum
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

from fleet.secrets.sops import errors, tree
from fleet.secrets.sops.cipher import format_float_f

METADATA_KEY = "sops"
SOPS_VERSION = "3.13.2"  # the upstream version whose file layout fleet writes (FORMATS.md snapshot)


class KeyType(StrEnum):
    """The kinds of master key a file can list, by their metadata field name."""

    AGE = "age"  # X25519 / ssh age recipients (offline, pyrage)
    PGP = "pgp"  # OpenPGP keys from the GnuPG keyring (offline, gpg)
    KMS = "kms"  # AWS KMS (boto3)
    GCP_KMS = "gcp_kms"  # Google Cloud KMS (not supported by fleet)
    AZURE_KV = "azure_kv"  # Azure Key Vault (not supported by fleet)
    HC_VAULT = "hc_vault"  # HashiCorp Vault transit engine (hvac)
    HCKMS = "hckms"  # Huawei Cloud KMS (not supported by fleet)


# upstream DefaultDecryptionOrder: age first, then pgp, then everything else in file order
DECRYPTION_ORDER = (KeyType.AGE, KeyType.PGP)
# upstream internalGroupFrom: the order the key types are collected in within a group
GROUP_ORDER = (
    KeyType.KMS,
    KeyType.GCP_KMS,
    KeyType.HCKMS,
    KeyType.AZURE_KV,
    KeyType.HC_VAULT,
    KeyType.PGP,
    KeyType.AGE,
)


def _weak_str(value: Any) -> Any:
    """mapstructure's weakly typed string conversion."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format_float_f(value)
    if isinstance(value, tree.GoTime):
        return value.text
    return value


def _weak_bool(value: Any) -> Any:
    if value is None or value == "":
        return False
    if isinstance(value, str):
        if value in ("1", "t", "T", "TRUE", "true", "True"):
            return True
        if value in ("0", "f", "F", "FALSE", "false", "False"):
            return False
        raise ValueError(f"cannot parse {value!r} as a boolean")
    if isinstance(value, int | float):
        return value != 0
    return value


def _weak_int(value: Any) -> Any:
    if value is None or value == "":
        return 0
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float):
        return int(value)
    if isinstance(value, str):
        return int(value.strip(), 0)
    return value


def _list_or_empty(value: Any) -> Any:
    return [] if value is None else value


WeakStr = Annotated[str, BeforeValidator(_weak_str)]
WeakBool = Annotated[bool, BeforeValidator(_weak_bool)]
WeakInt = Annotated[int, BeforeValidator(_weak_int)]


class _Key(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    key_type: ClassVar[KeyType]  # which metadata list the key belongs in
    enc: WeakStr = ""

    @property
    def recipient(self) -> str:  # pragma: no cover - overridden
        """What names the key in messages (never secret)."""
        raise NotImplementedError


class PgpKey(_Key):
    key_type: ClassVar[KeyType] = KeyType.PGP
    fp: WeakStr = ""
    created_at: WeakStr = ""

    @property
    def recipient(self) -> str:
        return self.fp


class AgeKey(_Key):
    key_type: ClassVar[KeyType] = KeyType.AGE
    recipient_: WeakStr = Field("", alias="recipient")
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    @property
    def recipient(self) -> str:
        return self.recipient_


class KmsKey(_Key):
    key_type: ClassVar[KeyType] = KeyType.KMS
    arn: WeakStr = ""
    role: WeakStr = ""
    context: dict[str, WeakStr] | None = None
    created_at: WeakStr = ""
    aws_profile: WeakStr = ""

    @property
    def recipient(self) -> str:
        return self.arn + (f"+{self.role}" if self.role else "")


class GcpKmsKey(_Key):
    key_type: ClassVar[KeyType] = KeyType.GCP_KMS
    resource_id: WeakStr = ""
    created_at: WeakStr = ""

    @property
    def recipient(self) -> str:
        return self.resource_id


class AzureKvKey(_Key):
    key_type: ClassVar[KeyType] = KeyType.AZURE_KV
    vault_url: WeakStr = ""
    name: WeakStr = ""
    version: WeakStr = ""
    created_at: WeakStr = ""

    @property
    def recipient(self) -> str:
        return f"{self.vault_url}/keys/{self.name}/{self.version}"


class VaultKey(_Key):
    key_type: ClassVar[KeyType] = KeyType.HC_VAULT
    vault_address: WeakStr = ""
    engine_path: WeakStr = ""
    key_name: WeakStr = ""
    created_at: WeakStr = ""

    @property
    def recipient(self) -> str:
        return f"{self.vault_address}/v1/{self.engine_path}/keys/{self.key_name}"


class HcKmsKey(_Key):
    key_type: ClassVar[KeyType] = KeyType.HCKMS
    key_id: WeakStr = ""
    created_at: WeakStr = ""

    @property
    def recipient(self) -> str:
        return self.key_id


MasterKey = PgpKey | AgeKey | KmsKey | GcpKmsKey | AzureKvKey | VaultKey | HcKmsKey


class KeyGroup(BaseModel):
    """One key group: every key in it wraps the same data key (or the same Shamir share)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    pgp: list[PgpKey] = Field(default_factory=list)
    age: list[AgeKey] = Field(default_factory=list)
    kms: list[KmsKey] = Field(default_factory=list)
    gcp_kms: list[GcpKmsKey] = Field(default_factory=list)
    azure_kv: list[AzureKvKey] = Field(default_factory=list)
    hc_vault: list[VaultKey] = Field(default_factory=list)
    hckms: list[HcKmsKey] = Field(default_factory=list)

    @field_validator("*", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return _list_or_empty(value)

    def keys(self) -> list[MasterKey]:
        """The keys in upstream's group order (KMS, GCP, HCKMS, Azure, Vault, PGP, age)."""
        found: list[MasterKey] = []
        for key_type in GROUP_ORDER:
            found.extend(getattr(self, key_type.value))
        return found

    def decryption_order(self) -> list[MasterKey]:
        """The keys in the order they are tried: age, then PGP, then the rest (stable)."""
        rank = {key_type: index for index, key_type in enumerate(DECRYPTION_ORDER)}
        return sorted(self.keys(), key=lambda key: rank.get(key.key_type, len(rank)))

    def is_empty(self) -> bool:
        return not self.keys()


CRYPT_RULE_FIELDS = tuple(kind.value for kind in tree.RuleKind)


class Metadata(BaseModel):
    """The ``sops`` block of one file."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    lastmodified: WeakStr = ""
    mac: WeakStr = ""
    version: WeakStr = ""
    unencrypted_suffix: WeakStr = ""
    encrypted_suffix: WeakStr = ""
    unencrypted_regex: WeakStr = ""
    encrypted_regex: WeakStr = ""
    unencrypted_comment_regex: WeakStr = ""
    encrypted_comment_regex: WeakStr = ""
    mac_only_encrypted: WeakBool = False
    shamir_threshold: WeakInt = 0
    key_groups: list[KeyGroup] = Field(default_factory=list)
    # keys of a single group, written at the top level
    pgp: list[PgpKey] = Field(default_factory=list)
    age: list[AgeKey] = Field(default_factory=list)
    kms: list[KmsKey] = Field(default_factory=list)
    gcp_kms: list[GcpKmsKey] = Field(default_factory=list)
    azure_kv: list[AzureKvKey] = Field(default_factory=list)
    hc_vault: list[VaultKey] = Field(default_factory=list)
    hckms: list[HcKmsKey] = Field(default_factory=list)

    @field_validator(
        "key_groups", "pgp", "age", "kms", "gcp_kms", "azure_kv", "hc_vault", "hckms", mode="before"
    )
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return _list_or_empty(value)

    def groups(self) -> list[KeyGroup]:
        """The key groups: the top-level keys as one group when there are any (upstream order)."""
        top = KeyGroup(**{key_type.value: getattr(self, key_type.value) for key_type in KeyType})
        if not top.is_empty():
            return [top]
        return list(self.key_groups)

    def threshold(self) -> int:
        """Shares needed: ``shamir_threshold``, or every group when it is 0 or missing."""
        groups = self.groups()
        return self.shamir_threshold or len(groups)

    def crypt_rule(self) -> tree.CryptRule:
        """The file's single crypt rule; the default ``_unencrypted`` suffix when it has none."""
        for kind in tree.RuleKind:
            value = getattr(self, kind.value)
            if value:
                return tree.CryptRule(kind, value)
        return tree.CryptRule()

    def all_keys(self) -> Iterator[tuple[int, MasterKey]]:
        for index, group in enumerate(self.groups()):
            for key in group.keys():  # noqa: SIM118 - KeyGroup.keys() lists its keys; it is not a dict
                yield index, key


def _plain(value: Any) -> Any:
    """Upstream ``sopsToGo``: the metadata tree as plain data, comments dropped."""
    if isinstance(value, tree.Branch):
        return {item.key: _plain(item.value) for item in value if isinstance(item.key, str)}
    if isinstance(value, list):
        return [_plain(element) for element in value if not isinstance(element, tree.Comment)]
    return value


def validate(raw: tree.Branch, *, file: str | None = None) -> Metadata:
    """Check and model a metadata branch (already unflattened)."""
    data = _plain(raw)
    try:
        metadata = Metadata.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        location = ".".join(str(part) for part in first["loc"])
        raise errors.MetadataError(
            f"invalid sops metadata: {first['msg']}", file=file, field=f"sops.{location}"
        ) from None
    rules = [name for name in CRYPT_RULE_FIELDS if getattr(metadata, name)]
    if len(rules) > 1:
        raise errors.MetadataError(
            "cannot use more than one of encrypted_suffix, unencrypted_suffix, encrypted_regex, "
            f"unencrypted_regex, encrypted_comment_regex, or unencrypted_comment_regex (found {', '.join(rules)})",
            file=file,
            field="sops",
        )
    try:
        tree.rfc3339(metadata.lastmodified)
    except ValueError:
        raise errors.MetadataError(
            f"lastmodified {metadata.lastmodified!r} is not an RFC 3339 timestamp",
            file=file,
            field="sops.lastmodified",
        ) from None
    if not metadata.groups():
        raise errors.MetadataError("no keys found in file", file=file, field="sops")
    try:
        metadata.crypt_rule()
    except Exception as exc:  # noqa: BLE001 - the regex engine's error: a regex it cannot compile
        raise errors.MetadataError(f"invalid crypt rule: {exc}", file=file, field="sops") from None
    return metadata


def extract(branches: list[tree.Branch], *, file: str | None = None) -> tuple[list[tree.Branch], tree.Branch]:
    """Take the ``sops`` entry out of every document; return (documents, raw metadata branch).

    The metadata is read from the first document; ``sops`` keys in later documents are dropped
    (YAML multi-document files carry a copy in each). ``NotEncryptedError`` when there is none.
    """
    found: tree.Branch | None = None
    seen = False
    for index, branch in enumerate(branches):
        kept = tree.Branch()
        for item in branch:
            if item.key == METADATA_KEY:
                if index == 0:
                    if seen:
                        raise errors.MetadataError("found duplicate sops entry", file=file, field="sops")
                    seen = True
                    if not isinstance(item.value, tree.Branch):
                        raise errors.MetadataError(
                            "found sops entry that is not a mapping", file=file, field="sops"
                        )
                    found = item.value
                continue
            kept.append(item)
        branches[index] = kept
    if found is None:
        raise errors.NotEncryptedError(
            "sops metadata not found: the file is not encrypted with SOPS", file=file
        )
    return branches, found


def has_metadata(branches: list[tree.Branch]) -> bool:
    return bool(branches) and any(item.key == METADATA_KEY for item in branches[0])


# -- writing -----------------------------------------------------------------------------------

_KEY_FIELDS: dict[type[_Key], tuple[tuple[str, bool], ...]] = {
    # (field name as written, always written even when empty) in alphabetical order
    PgpKey: (("created_at", True), ("enc", True), ("fp", True)),
    AgeKey: (("enc", True), ("recipient", True)),
    KmsKey: (
        ("arn", True),
        ("aws_profile", True),
        ("context", False),
        ("created_at", True),
        ("enc", True),
        ("role", False),
    ),
    GcpKmsKey: (("created_at", True), ("enc", True), ("resource_id", True)),
    AzureKvKey: (("created_at", True), ("enc", True), ("name", True), ("vault_url", True), ("version", True)),
    VaultKey: (
        ("created_at", True),
        ("enc", True),
        ("engine_path", True),
        ("key_name", True),
        ("vault_address", True),
    ),
    HcKmsKey: (("created_at", True), ("enc", True), ("key_id", True)),
}


def _key_branch(key: _Key) -> tree.Branch:
    branch = tree.Branch()
    for name, always in _KEY_FIELDS[type(key)]:
        value = key.recipient if (name == "recipient" and isinstance(key, AgeKey)) else getattr(key, name)
        if not value and not always:
            continue
        if isinstance(value, dict):
            value = tree.Branch(tree.Item(k, v) for k, v in sorted(value.items()))
        branch.append(tree.Item(name, value))
    return branch


def _group_branch(group: KeyGroup) -> tree.Branch:
    """A key group as upstream writes it inside ``key_groups`` (``age`` and ``hc_vault`` always)."""
    branch = tree.Branch()
    for key_type in sorted(KeyType, key=lambda kind: kind.value):
        keys = getattr(group, key_type.value)
        if not keys and key_type not in (KeyType.AGE, KeyType.HC_VAULT):
            continue
        branch.append(tree.Item(key_type.value, [_key_branch(key) for key in keys]))
    return branch


def to_branch(metadata: Metadata) -> tree.Branch:
    """The metadata as sops writes it: keys sorted, empty optional fields omitted."""
    entries: dict[str, Any] = {
        "lastmodified": metadata.lastmodified,
        "mac": metadata.mac,
        "version": metadata.version,
    }
    for name in CRYPT_RULE_FIELDS:
        if getattr(metadata, name):
            entries[name] = getattr(metadata, name)
    if metadata.mac_only_encrypted:
        entries["mac_only_encrypted"] = True
    if metadata.shamir_threshold:
        entries["shamir_threshold"] = metadata.shamir_threshold
    groups = metadata.groups()
    if len(groups) == 1:
        for key_type in KeyType:
            keys = getattr(groups[0], key_type.value)
            if keys:
                entries[key_type.value] = [_key_branch(key) for key in keys]
    else:
        entries["key_groups"] = [_group_branch(group) for group in groups]
    return tree.Branch(tree.Item(name, entries[name]) for name in sorted(entries))
