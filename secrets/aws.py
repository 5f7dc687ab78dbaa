"""The AWS Secrets Manager provider: ``ref+awssecrets://<name or ARN>[?query][#/key]`` via boto3.

Called by the resolver (``fleet.secrets.resolver``) inside the per-cluster worker, just before
apply. vals' scheme name (``awssecrets``) and semantics are kept:

- without a fragment the value is the secret's ``SecretString``, or the raw bytes of a binary
  secret (``SecretBinary``, usable as a whole value in a Secret's ``data``);
- with ``#/a/b`` the secret is parsed as YAML or JSON and the key path is selected.

Query parameters (each overriding ``ProviderSettings.options["awssecrets"]``, then the environment):
``region`` (else the ARN's region, ``AWS_REGION``, ``AWS_DEFAULT_REGION``), ``profile``
(``AWS_PROFILE``), ``role_arn`` (assumed through STS), ``version_id``, ``version_stage``
(``AWSCURRENT`` by default, ``AWSPREVIOUS`` or a custom label). Credentials come from boto3's
standard chain. The endpoint can be overridden with ``endpoint_url`` (settings), or the
environment: botocore reads ``AWS_ENDPOINT_URL_SECRETS_MANAGER`` and ``AWS_ENDPOINT_URL``, and we
also honour ``AWS_ENDPOINT_URL_SECRETSMANAGER``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import boto3
import botocore.config
import botocore.exceptions

from fleet import log, redact
from fleet.secrets import providers, refs

logger = log.get_logger(__name__)

RETRY_AFTER = 10.0
ROLE_SESSION_SECONDS = 3600
ROLE_REFRESH_MARGIN = 300.0  # assume the role again this long before its credentials expire
ENDPOINT_ENV = "AWS_ENDPOINT_URL_SECRETSMANAGER"

NOT_FOUND_CODES = frozenset({"ResourceNotFoundException"})
DENIED_CODES = frozenset(
    {
        "AccessDeniedException",
        "AccessDenied",
        "UnrecognizedClientException",
        "InvalidSignatureException",
        "SignatureDoesNotMatch",
        "ExpiredTokenException",
        "InvalidClientTokenId",
        "DecryptionFailure",  # KMS refused to decrypt the secret for these credentials
    }
)
RETRY_CODES = frozenset(
    {"ThrottlingException", "InternalServiceError", "ServiceUnavailable", "RequestTimeout"}
)


@dataclass(frozen=True)
class ClientKey:
    """What identifies one Secrets Manager client."""

    region: str | None
    profile: str | None
    role_arn: str | None
    endpoint_url: str | None


def _region_of_arn(path: str) -> str | None:
    parts = path.split(":")
    if len(parts) >= 4 and parts[0] == "arn" and parts[2] == "secretsmanager" and parts[3]:
        return parts[3]
    return None


class SecretsManagerProvider:
    """``ref+awssecrets://``: one boto3 client per (region, profile, role, endpoint); not pickled."""

    def __init__(self, settings: providers.ProviderSettings | None = None) -> None:
        self.settings = settings or providers.ProviderSettings()
        self._clients: dict[ClientKey, tuple[Any, float | None]] = {}
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        return {"settings": self.settings}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["settings"])  # type: ignore[misc]

    # -- Provider -------------------------------------------------------------------------------

    def get_string(self, ref: refs.Ref) -> str | bytes:
        return self._get(ref)

    def get_document(self, ref: refs.Ref) -> Mapping[str, Any]:
        return providers.parse_document(self._get(ref), ref)

    # -- internals ------------------------------------------------------------------------------

    def _key(self, ref: refs.Ref) -> ClientKey:
        def opt(name: str, *env: str) -> str | None:
            return providers.option(ref, self.settings, name, *env)

        return ClientKey(
            region=opt("region")
            or _region_of_arn(ref.path)
            or opt("region", "AWS_REGION", "AWS_DEFAULT_REGION"),
            profile=opt("profile", "AWS_PROFILE"),
            role_arn=opt("role_arn"),
            endpoint_url=opt("endpoint_url", ENDPOINT_ENV),
        )

    def _client(self, ref: refs.Ref) -> Any:
        key = self._key(ref)
        with self._lock:
            found = self._clients.get(key)
            if found is not None and (found[1] is None or found[1] > time.monotonic()):
                return found[0]
        client, expires = self._new_client(key, ref)
        with self._lock:
            self._clients[key] = (client, expires)
        return client

    def _new_client(self, key: ClientKey, ref: refs.Ref) -> tuple[Any, float | None]:
        config = botocore.config.Config(
            retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=10, read_timeout=30
        )
        with _mapped(ref, key):
            session = boto3.session.Session(profile_name=key.profile, region_name=key.region)
            if session.region_name is None:
                raise refs.BadReference(
                    f"{ref}: no AWS region (set ?region=, an ARN, AWS_REGION or the profile's region)",
                    ref=ref.display(),
                )
            if not key.role_arn:
                return session.client("secretsmanager", endpoint_url=key.endpoint_url, config=config), None
            sts = session.client("sts", config=config)
            credentials = sts.assume_role(
                RoleArn=key.role_arn, RoleSessionName="fleet-secrets", DurationSeconds=ROLE_SESSION_SECONDS
            )["Credentials"]
            redact.register(credentials["SecretAccessKey"])
            redact.register(credentials["SessionToken"])
            client = session.client(
                "secretsmanager",
                endpoint_url=key.endpoint_url,
                config=config,
                aws_access_key_id=credentials["AccessKeyId"],
                aws_secret_access_key=credentials["SecretAccessKey"],
                aws_session_token=credentials["SessionToken"],
            )
            logger.debug("assumed an AWS role", extra={"fields": {"role_arn": key.role_arn}})
            return client, time.monotonic() + ROLE_SESSION_SECONDS - ROLE_REFRESH_MARGIN

    def _get(self, ref: refs.Ref) -> str | bytes:
        request: dict[str, str] = {
            "SecretId": ref.path.strip("/") if not ref.path.startswith("arn:") else ref.path
        }
        version_id = ref.param("version_id")
        version_stage = ref.param("version_stage")
        if version_id:
            request["VersionId"] = version_id
        if version_stage:
            request["VersionStage"] = version_stage
        client = self._client(ref)
        with _mapped(ref, self._key(ref)):
            answer = client.get_secret_value(**request)
        if answer.get("SecretString") is not None:
            return str(answer["SecretString"])
        if answer.get("SecretBinary") is not None:
            return bytes(answer["SecretBinary"])
        raise providers.SecretNotFound(
            f"{ref}: the secret version has neither SecretString nor SecretBinary", ref=ref.display()
        )


class _mapped:
    """Context manager: botocore errors become fleet errors naming the reference (never a value)."""

    def __init__(self, ref: refs.Ref, key: ClientKey) -> None:
        self.ref, self.key = ref, key

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> Literal[False]:
        if exc is None or isinstance(exc, refs.SecretError):
            return False
        translated = _translate(exc, self.ref, self.key)
        if translated is None:
            return False
        raise translated from None


def _translate(exc: BaseException, ref: refs.Ref, key: ClientKey) -> refs.SecretError | None:
    shown = ref.display()
    where = f"AWS Secrets Manager ({key.region or 'default region'})"
    if isinstance(exc, botocore.exceptions.ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        message = redact.mask(str(error.get("Message", "")))[:200]
        detail = f"{code}: {message}" if message else code
        if code in NOT_FOUND_CODES:
            return providers.SecretNotFound(f"{shown}: not found in {where} ({detail})", ref=shown)
        if code in DENIED_CODES or status in (401, 403):
            return providers.AccessDenied(f"{shown}: permission denied by {where} ({detail})", ref=shown)
        if code == "InvalidRequestException" and "delet" in message.lower():
            return providers.SecretNotFound(
                f"{shown}: the secret is deleted in {where} ({detail})", ref=shown
            )
        if code == "InvalidParameterException":
            return refs.BadReference(f"{shown}: {where} rejected the reference ({detail})", ref=shown)
        if code in RETRY_CODES or (isinstance(status, int) and status >= 500) or status == 429:
            return providers.ProviderUnavailable(
                f"{shown}: {where} failed ({detail})", ref=shown, retry_after=RETRY_AFTER
            )
        return providers.ProviderError(f"{shown}: {where} refused the request ({detail})", ref=shown)
    if isinstance(exc, botocore.exceptions.NoCredentialsError | botocore.exceptions.PartialCredentialsError):
        return providers.AccessDenied(f"{shown}: no AWS credentials found for {where}", ref=shown)
    if isinstance(exc, botocore.exceptions.ProfileNotFound):
        return refs.BadReference(f"{shown}: AWS profile {key.profile!r} does not exist", ref=shown)
    if isinstance(exc, botocore.exceptions.NoRegionError):
        return refs.BadReference(f"{shown}: no AWS region (set ?region= or AWS_REGION)", ref=shown)
    if isinstance(exc, botocore.exceptions.EndpointConnectionError | botocore.exceptions.ConnectionError):
        return providers.ProviderUnavailable(
            f"{shown}: cannot reach {where} ({type(exc).__name__})", ref=shown, retry_after=RETRY_AFTER
        )
    if isinstance(exc, botocore.exceptions.BotoCoreError):
        return providers.ProviderError(f"{shown}: {where}: {type(exc).__name__}", ref=shown)
    return None
