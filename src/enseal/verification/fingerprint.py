"""The iterated-hash fingerprint and the digit encoding behind every security code.

``fingerprint(label, fields, remix)``::

    h_0     = SHA-512(label || for each field: uint16(len(field)) || field)
    h_(i+1) = SHA-512(h_i || remix)            for i in 0 .. FINGERPRINT_ITERATIONS - 1
    result  = h_FINGERPRINT_ITERATIONS          (64 bytes)

The same shape as Signal's numeric fingerprints; the iterations make grinding for a key or epoch
whose code collides with another's cost 5,200 hashes per try. Digits are read from consecutive
5-byte big-endian chunks of the result, each reduced modulo 10^n (bias below 10^-7 per group).
The exact construction is in docs/security-codes.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from enseal.crypto.hashing import HashAlgorithm
from enseal.errors import LocalProtocolError
from enseal.types import UINT16_MAX

FINGERPRINT_ITERATIONS: Final = 5200
FINGERPRINT_HASH: Final = HashAlgorithm.SHA512
QR_FINGERPRINT_SIZE: Final = 32
"""Bytes of the fingerprint carried in a QR payload."""
_CHUNK: Final = 5


def fingerprint(label: bytes, fields: Sequence[bytes], remix: bytes) -> bytes:
    encoded = [label]
    for value in fields:
        if len(value) > UINT16_MAX:
            raise LocalProtocolError(f"fingerprint input of {len(value)} bytes is too long")
        encoded.append(len(value).to_bytes(2, "big") + value)
    digest = FINGERPRINT_HASH.digest(b"".join(encoded))
    for _ in range(FINGERPRINT_ITERATIONS):
        digest = FINGERPRINT_HASH.digest(digest + remix)
    return digest


def digit_groups(digest: bytes, groups: int, digits_per_group: int) -> str:
    """``groups`` groups of ``digits_per_group`` decimal digits from consecutive 5-byte chunks."""
    if groups * _CHUNK > len(digest) or not 0 < digits_per_group <= 12:
        raise LocalProtocolError("not enough fingerprint bytes for that many digits")
    modulus = 10**digits_per_group
    return "".join(
        f"{int.from_bytes(digest[i * _CHUNK : (i + 1) * _CHUNK], 'big') % modulus:0{digits_per_group}d}"
        for i in range(groups)
    )
