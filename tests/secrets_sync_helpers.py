"""The secrets fleet of the sync tests: per-cluster values in Vault and AWS, a SOPS-encrypted
Secret and a sealed delivery, set up on the simulator (shared by the secrets sync test files)."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

from fleet.clusters.sim.controllers import sealedsecrets
from fleet.secrets import sops
from tests.fixtures.sops import AGE_RECIPIENTS

SOPS_PLAIN = b"""\
apiVersion: v1
kind: Secret
metadata:
  name: from-sops
type: Opaque
stringData:
  license: sops-license-Qm93vT7kLp
"""
SOPS_VALUE = "sops-license-Qm93vT7kLp"
SOPS_REF_PLAIN = b"webhook:\n  token: sops-ref-webhook-Zc4mW8qR\n"
SOPS_REF_VALUE = "sops-ref-webhook-Zc4mW8qR"


@dataclass
class SecretFleet:
    env: object
    values: dict[str, dict[str, str]] = field(default_factory=dict)  # cluster -> name -> value

    def plaintexts(self) -> list[str]:
        out = [SOPS_VALUE, SOPS_REF_VALUE]
        for per_cluster in self.values.values():
            out.extend(per_cluster.values())
        return out


def vault_value(cluster: str, what: str) -> str:
    return f"{what}-{cluster}-vault-7Hq2xW9z"


def aws_value(cluster: str) -> str:
    return f"api-key-{cluster}-aws-3Nf8rT1y"


def setup(env, vault, moto) -> SecretFleet:
    """Seed Vault and AWS per cluster, encrypt the SOPS file, install the Sealed Secrets CRD."""
    fleet = SecretFleet(env)
    secrets_manager = moto.client("secretsmanager")
    for cluster in env.cluster_names:
        password, token = vault_value(cluster, "db-password"), vault_value(cluster, "payments-token")
        vault.put_secret("secret", f"{cluster}/db", {"password": password})
        vault.put_secret("secret", f"{cluster}/payments", {"token": token})
        secrets_manager.create_secret(Name=f"shop-{cluster}-api-key", SecretString=aws_value(cluster))
        fleet.values[cluster] = {"password": password, "token": token, "api": aws_value(cluster)}
        env.sim.apply_object(cluster, sealedsecrets.crd())
    rule = sops.CryptRule(sops.RuleKind.ENCRYPTED_REGEX, "^(data|stringData)$")
    encrypted = sops.encrypt_bytes(
        SOPS_PLAIN, sops.EncryptOptions(age=AGE_RECIPIENTS[:1], rule=rule), path="s.yaml"
    )
    (env.root / "apps/shop/sops-secret.yaml").write_bytes(encrypted)
    # Read through ref+sops://secrets/webhook.enc.yaml from apps/shop/webhook-secret.yaml.
    (env.root / "apps/shop/secrets").mkdir()
    (env.root / "apps/shop/secrets/webhook.enc.yaml").write_bytes(
        sops.encrypt_bytes(SOPS_REF_PLAIN, sops.EncryptOptions(age=AGE_RECIPIENTS[:1]), path="w.yaml")
    )
    return fleet


def secret_value(env, cluster: str, name: str, key: str) -> str | None:
    obj = env.sim.get_object(cluster, "v1", "Secret", "shop", name)
    if obj is None:
        return None
    data = obj.get("data") or {}
    return base64.b64decode(data[key]).decode() if key in data else None
