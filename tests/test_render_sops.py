"""Render-time SOPS decryption with the real secret layer: an encrypted Secret in a directory
source comes out decrypted, while the render cache (memory and disk) keeps only ciphertext."""

from __future__ import annotations

from pathlib import Path

from fleet import render
from fleet.render import cache
from fleet.secrets import sops
from tests.fixtures.sops import AGE_RECIPIENTS, SopsEnv

MANIFEST = b"""\
apiVersion: v1
kind: Secret
metadata:
  name: db
  namespace: apps
type: Opaque
stringData:
  password: render-cache-s3cret-value
"""


def test_encrypted_manifest_is_decrypted_after_the_cache(sops_env: SopsEnv, tmp_path: Path) -> None:
    rule = sops.CryptRule(sops.RuleKind.ENCRYPTED_REGEX, "^(data|stringData)$")
    encrypted = sops.encrypt_bytes(
        MANIFEST, sops.EncryptOptions(age=AGE_RECIPIENTS[:1], rule=rule), path="secret.yaml"
    )
    (tmp_path / "repo" / "app").mkdir(parents=True)
    (tmp_path / "repo" / "app" / "secret.yaml").write_bytes(encrypted)
    (tmp_path / "repo" / "app" / "config.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"
    )
    store = cache.TieredCache(cache.MemoryCache(), cache.DiskCache(tmp_path / "cache"))
    for _ in range(2):
        objs = render.render_source(
            {"path": "app"},
            source_dir=tmp_path / "repo",
            app_name="db",
            namespace="apps",
            revision="f" * 40,
            cache=store,
        )
        secret = next(o for o in objs if o["kind"] == "Secret")
        assert secret["stringData"] == {"password": "render-cache-s3cret-value"}
        assert "sops" not in secret
    assert store.memory.hits == 1
    on_disk = "".join(p.read_text() for p in (tmp_path / "cache").rglob("*.json"))
    assert "ENC[AES256_GCM" in on_disk and "render-cache-s3cret-value" not in on_disk
