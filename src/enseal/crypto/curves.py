"""Parameters and key encodings of the curves used by the MLS signature schemes and DHKEMs.

The NIST prime curves' group orders and encoding sizes (SEC 2, FIPS 186-5) bound the rejection
sampling of DeriveKeyPair (RFC 9180 section 7.1.3) and the generation of signing keys; their keys
are big-endian scalars and uncompressed points. Edwards and Montgomery keys are raw bytes.
"""

from __future__ import annotations

from enum import Enum

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, x448, x25519


class NistCurve(Enum):
    """``scalar_size`` is Nsk; ``point_size`` the uncompressed point (Npk); ``mask`` the
    bitmask applied to the first candidate byte by DeriveKeyPair."""

    P256 = ("P-256", 32, 65, 0xFF,
            0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551)
    P384 = ("P-384", 48, 97, 0xFF,
            0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973)
    P521 = ("P-521", 66, 133, 0x01,
            0x01FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFA51868783BF2F966B7FCC0148F709A5D03BB5C9B8899C47AEBB6FB71E91386409)

    def __init__(self, label: str, scalar_size: int, point_size: int, mask: int, order: int) -> None:
        self.label = label
        self.scalar_size = scalar_size
        self.point_size = point_size
        self.mask = mask
        self.order = order

    def pyca(self) -> ec.EllipticCurve:
        return _PYCA[self]()

    def private_key(self, scalar: int) -> ec.EllipticCurvePrivateKey:
        return ec.derive_private_key(scalar, _PYCA[self]())

    def private_key_from_bytes(self, raw: bytes) -> ec.EllipticCurvePrivateKey:
        """A big-endian scalar of at most ``scalar_size`` bytes (some implementations drop
        leading zeros); ValueError if it is not a valid scalar."""
        if not 0 < len(raw) <= self.scalar_size:
            raise ValueError(f"{self.label} scalar must be 1..{self.scalar_size} bytes")
        return ec.derive_private_key(int.from_bytes(raw, "big"), _PYCA[self]())

    def public_key(self, data: bytes) -> ec.EllipticCurvePublicKey:
        """An uncompressed point (RFC 8446 UncompressedPointRepresentation) on this curve;
        ValueError otherwise."""
        if len(data) != self.point_size or data[:1] != b"\x04":
            raise ValueError(f"not an uncompressed {self.label} point")
        return ec.EllipticCurvePublicKey.from_encoded_point(_PYCA[self](), data)

    def scalar_from_candidate(self, candidate: bytes) -> int | None:
        """Masked candidate as an integer if it is a valid scalar (0 < sk < order), else None."""
        value = int.from_bytes(bytes((candidate[0] & self.mask,)) + candidate[1:], "big")
        return value if 0 < value < self.order else None


_PYCA: dict[NistCurve, type[ec.EllipticCurve]] = {
    NistCurve.P256: ec.SECP256R1,
    NistCurve.P384: ec.SECP384R1,
    NistCurve.P521: ec.SECP521R1,
}


def public_key_bytes(
    key: ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey
    | x25519.X25519PrivateKey | x448.X448PrivateKey,
) -> bytes:
    """The public key of ``key`` as MLS and HPKE encode it: an uncompressed point for the NIST
    curves, the raw key for the Edwards and Montgomery curves."""
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
