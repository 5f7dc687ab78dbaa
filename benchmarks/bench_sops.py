"""Benchmark: native SOPS decryption and encryption of a large YAML file (age key).

Baseline, measured in the same run: the floor of the work, i.e. PyYAML (pure Python) parsing of
the same encrypted file plus one AES-GCM open per value (no tree, no MAC, no key unwrapping).
Prints absolute times and the ratio fleet / baseline, for several file sizes.

    .venv/bin/python benchmarks/bench_sops.py
"""

from __future__ import annotations

import base64
import os
import re
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pyrage import x25519

from fleet.secrets import sops

ENC = re.compile(r"ENC\[AES256_GCM,data:([^,]*),iv:([^,]+),tag:([^,]+),type:\w+\]")


def _document(values: int) -> bytes:
    lines = ["# generated for the benchmark"]
    for group in range(values // 10):
        lines.append(f"service{group}:")
        for index in range(10):
            lines.append(f"    key{index}: value-{group}-{index}-{'x' * 24}")
    return ("\n".join(lines) + "\n").encode()


def _best(function: Callable[[], object], runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    identity = x25519.Identity.generate()
    with tempfile.TemporaryDirectory() as folder:
        keys = Path(folder) / "keys.txt"
        keys.write_text(f"{identity}\n")
        os.environ["SOPS_AGE_KEY_FILE"] = str(keys)
        os.environ.pop("SOPS_AGE_KEY", None)
        options = sops.EncryptOptions(age=(str(identity.to_public()),))
        print(
            f"{'values':>7} {'encrypt':>9} {'decrypt':>9} {'baseline':>9} {'decrypt/baseline':>17} {'encrypt/baseline':>17}"
        )
        for values in (100, 1000, 5000):
            plain = _document(values)
            encrypted = sops.encrypt_bytes(plain, options, path="bench.yaml")
            assert sops.decrypt_bytes(encrypted, path="bench.yaml") == plain
            key = _unwrap(encrypted, identity)

            # The closures below run within this iteration, so they see this iteration's values.
            def baseline() -> None:
                doc = yaml.safe_load(encrypted)  # noqa: B023
                for section, entries in doc.items():
                    if section == "sops":
                        continue
                    for name, value in entries.items():
                        data, iv, tag = (base64.b64decode(part) for part in ENC.match(value).groups())  # type: ignore[union-attr]
                        AESGCM(key).decrypt(iv, data + tag, f"{section}:{name}:".encode())  # noqa: B023

            t_encrypt = _best(lambda: sops.encrypt_bytes(plain, options, path="bench.yaml"))  # noqa: B023
            t_decrypt = _best(lambda: sops.decrypt_bytes(encrypted, path="bench.yaml"))  # noqa: B023
            t_base = _best(baseline)
            print(
                f"{values:>7} {t_encrypt * 1000:>7.1f}ms {t_decrypt * 1000:>7.1f}ms {t_base * 1000:>7.1f}ms "
                f"{t_decrypt / t_base:>16.2f}x {t_encrypt / t_base:>16.2f}x"
            )


def _unwrap(encrypted: bytes, identity: x25519.Identity) -> bytes:
    import pyrage

    enc = yaml.safe_load(encrypted)["sops"]["age"][0]["enc"]
    return pyrage.decrypt(enc.encode(), [identity])


if __name__ == "__main__":
    main()
