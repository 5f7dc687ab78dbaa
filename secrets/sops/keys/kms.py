"""AWS KMS master keys through boto3.

The region comes from the key's ARN, credentials from the standard chain (or the key's
``aws_profile``), a ``role`` is assumed through STS first, and the encryption context is passed
as written in the file. ``KeyOptions.kms_endpoint_url`` or ``AWS_ENDPOINT_URL_KMS`` points the
client at another endpoint (tests use moto's server).
"""

from __future__ import annotations

import base64
import binascii
import re
import socket
from typing import Any

from fleet.secrets.sops import metadata, tree
from fleet.secrets.sops.keys import KeyOptions, KeySourceError

ARN_PATTERN = re.compile(r"^arn:aws[\w-]*:kms:(.+):[0-9]+:(key|alias)/.+$")
_TRANSIENT_CODES = {
    "ThrottlingException",
    "KMSInternalException",
    "DependencyTimeoutException",
    "RequestLimitExceeded",
}


def split_arn(text: str) -> tuple[str, str]:
    """``ARN`` or ``ARN+ROLE_ARN`` (sops' syntax) as (arn, role)."""
    text = text.replace(" ", "")
    index = text.find("+arn:")
    if index > 0:
        return text[:index], text[index + 1 :]
    return text, ""


def region_of(arn: str) -> str:
    match = ARN_PATTERN.match(arn)
    if match is None:
        raise KeySourceError(f"no valid ARN found in {arn!r}", malformed=True)
    return match.group(1)


class KmsSource:
    """Unwraps and wraps data keys with AWS KMS."""

    def __init__(self, options: KeyOptions | None = None) -> None:
        self.options = options or KeyOptions()

    def _client(self, arn: str, role: str, profile: str) -> Any:
        import boto3
        import botocore.exceptions

        region = region_of(arn)
        try:
            session = boto3.session.Session(profile_name=profile or None, region_name=region)
            endpoint = self.options.kms_endpoint_url or None
            if role:
                sts = session.client("sts", region_name=region)
                name = "sops@" + re.sub(r"[^\w+=,.@-]", "", socket.gethostname())
                credentials = sts.assume_role(RoleArn=role, RoleSessionName=name[:64])["Credentials"]
                session = boto3.session.Session(
                    aws_access_key_id=credentials["AccessKeyId"],
                    aws_secret_access_key=credentials["SecretAccessKey"],
                    aws_session_token=credentials["SessionToken"],
                    region_name=region,
                )
            return session.client("kms", region_name=region, endpoint_url=endpoint)
        except botocore.exceptions.ProfileNotFound:
            raise KeySourceError(f"AWS profile {profile!r} not found") from None
        except botocore.exceptions.ClientError as exc:
            raise KeySourceError(
                f"failed to assume role {role!r}: {exc.response['Error'].get('Code')}"
            ) from None
        except botocore.exceptions.BotoCoreError as exc:
            raise KeySourceError(f"AWS client error: {type(exc).__name__}", transient=True) from None

    def _call(self, action: str, function: Any, **kwargs: Any) -> dict[str, Any]:
        import botocore.exceptions

        try:
            response: dict[str, Any] = function(**kwargs)
            return response
        except botocore.exceptions.ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "error")
            raise KeySourceError(f"KMS {action} failed: {code}", transient=code in _TRANSIENT_CODES) from None
        except botocore.exceptions.NoCredentialsError:
            raise KeySourceError("no AWS credentials found") from None
        except (botocore.exceptions.EndpointConnectionError, botocore.exceptions.ConnectionError) as exc:
            raise KeySourceError(f"cannot reach KMS: {type(exc).__name__}", transient=True) from None
        except botocore.exceptions.BotoCoreError as exc:
            raise KeySourceError(f"KMS {action} failed: {type(exc).__name__}") from None

    def decrypt(self, key: metadata.KmsKey) -> bytes:
        try:
            blob = base64.b64decode(key.enc, validate=True)
        except (binascii.Error, ValueError):
            raise KeySourceError("error base64-decoding the encrypted data key") from None
        client = self._client(key.arn, key.role, key.aws_profile)
        kwargs: dict[str, Any] = {"CiphertextBlob": blob, "KeyId": key.arn}
        if key.context:
            kwargs["EncryptionContext"] = dict(key.context)
        response = self._call("decrypt", client.decrypt, **kwargs)
        return bytes(response["Plaintext"])

    def encrypt(
        self,
        recipient: str,
        data_key: bytes,
        *,
        context: dict[str, str] | None = None,
        aws_profile: str = "",
        **options: Any,
    ) -> metadata.KmsKey:
        arn, role = split_arn(recipient)
        client = self._client(arn, role, aws_profile)
        kwargs: dict[str, Any] = {"KeyId": arn, "Plaintext": data_key}
        if context:
            kwargs["EncryptionContext"] = dict(context)
        response = self._call("encrypt", client.encrypt, **kwargs)
        return metadata.KmsKey(
            arn=arn,
            role=role,
            context=dict(context) if context else None,
            created_at=tree.now_rfc3339(),
            enc=base64.b64encode(response["CiphertextBlob"]).decode(),
            aws_profile=aws_profile,
        )
