"""Shamir secret sharing over GF(2^8), the way sops splits a data key across key groups.

Where it sits: when a file has more than one key group, encryption splits the 32-byte data key
into one share per group (``split``) and each key of group *i* wraps share *i*; decryption
combines the shares it could unwrap (``combine``). FORMATS.md A.8 gives the share layout: one
y-byte per secret byte, then the x-coordinate (group index + 1) as the last byte.

Written by hand on purpose: the Python Shamir libraries use other fields (GF(2^128) in
PyCryptodome, prime fields elsewhere) or other share layouts, none of which can read or write
sops' shares; the arithmetic below is the AES field (x^8+x^4+x^3+x+1) that sops uses.
"""

from __future__ import annotations

import os
from collections.abc import Sequence


def _mul(a: int, b: int) -> int:
    """Multiplication in GF(2^8) with the AES reduction polynomial (0x11B)."""
    result = 0
    while b:
        if b & 1:
            result ^= a
        a <<= 1
        if a & 0x100:
            a ^= 0x11B
        b >>= 1
    return result


def _inverse(a: int) -> int:
    """a^254 = a^-1 in GF(2^8) (a != 0)."""
    result = 1
    power = a
    exponent = 254
    while exponent:
        if exponent & 1:
            result = _mul(result, power)
        power = _mul(power, power)
        exponent >>= 1
    return result


def _evaluate(coefficients: Sequence[int], x: int) -> int:
    """The polynomial with ``coefficients`` (constant term first) at ``x`` (Horner's rule)."""
    result = 0
    for coefficient in reversed(coefficients):
        result = _mul(result, x) ^ coefficient
    return result


def _interpolate_at_zero(xs: Sequence[int], ys: Sequence[int]) -> int:
    """Lagrange interpolation at x = 0; in GF(2^8) addition and subtraction are both XOR."""
    result = 0
    for i, (xi, yi) in enumerate(zip(xs, ys, strict=True)):
        numerator, denominator = 1, 1
        for j, xj in enumerate(xs):
            if i == j:
                continue
            numerator = _mul(numerator, xj)
            denominator = _mul(denominator, xi ^ xj)
        result ^= _mul(yi, _mul(numerator, _inverse(denominator)))
    return result


def split(secret: bytes, parts: int, threshold: int) -> list[bytes]:
    """``parts`` shares of ``secret``, any ``threshold`` of which rebuild it.

    Share *i* (0-based) has x-coordinate ``i + 1``, written as its last byte.
    """
    if parts < threshold:
        raise ValueError("parts cannot be less than threshold")
    if parts > 255:
        raise ValueError("parts cannot exceed 255")
    if threshold < 2:
        raise ValueError("threshold must be at least 2")
    if not secret:
        raise ValueError("cannot split an empty secret")
    shares = [bytearray(len(secret) + 1) for _ in range(parts)]
    for index, share in enumerate(shares):
        share[-1] = index + 1
    for position, byte in enumerate(secret):
        coefficients = [byte, *os.urandom(threshold - 1)]
        for index, share in enumerate(shares):
            share[position] = _evaluate(coefficients, index + 1)
    return [bytes(share) for share in shares]


def combine(shares: Sequence[bytes]) -> bytes:
    """The secret behind ``shares`` (at least two, same length, distinct x-coordinates)."""
    if len(shares) < 2:
        raise ValueError("less than two parts cannot be used to reconstruct the secret")
    length = len(shares[0])
    if length < 2:
        raise ValueError("parts must be at least two bytes")
    if any(len(share) != length for share in shares):
        raise ValueError("all parts must be the same length")
    xs = [share[-1] for share in shares]
    if len(set(xs)) != len(xs):
        raise ValueError("duplicate part detected")
    if 0 in xs:
        raise ValueError("a part has x-coordinate 0")
    return bytes(
        _interpolate_at_zero(xs, [share[position] for share in shares]) for position in range(length - 1)
    )
