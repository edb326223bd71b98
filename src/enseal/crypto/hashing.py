"""Hash, HMAC and HKDF (RFC 5869) on pyca/cryptography, the KDF/MAC/Hash of every suite."""

from __future__ import annotations

from enum import Enum

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as pyca_hmac
from cryptography.hazmat.primitives.kdf.hkdf import HKDFExpand

from enseal.errors import LocalProtocolError


class HashAlgorithm(Enum):
    """A hash function and its HKDF/HMAC; ``kdf_id`` is the HPKE KDF code point (RFC 9180 §7.2)."""

    SHA256 = ("SHA-256", 32, 0x0001)
    SHA384 = ("SHA-384", 48, 0x0002)
    SHA512 = ("SHA-512", 64, 0x0003)

    def __init__(self, label: str, size: int, kdf_id: int) -> None:
        self.label = label
        self.size = size
        self.kdf_id = kdf_id

    def pyca(self) -> hashes.HashAlgorithm:
        return _PYCA[self]()

    def digest(self, data: bytes) -> bytes:
        h = hashes.Hash(_PYCA[self]())
        h.update(data)
        return h.finalize()

    def hmac(self, key: bytes, data: bytes) -> bytes:
        mac = pyca_hmac.HMAC(key, _PYCA[self]())
        mac.update(data)
        return mac.finalize()

    def extract(self, salt: bytes, ikm: bytes) -> bytes:
        """HKDF-Extract(salt, IKM) = HMAC-Hash(salt, IKM); an empty salt means Nh zero bytes."""
        return self.hmac(salt or bytes(self.size), ikm)

    def expand(self, prk: bytes, info: bytes, length: int) -> bytes:
        """HKDF-Expand(PRK, info, L); L is at most 255 * Nh (RFC 5869 section 2.3)."""
        if not 0 < length <= 255 * self.size:
            raise LocalProtocolError(f"HKDF-Expand length {length} out of range for {self.label}")
        return HKDFExpand(_PYCA[self](), length, info).derive(prk)


_PYCA: dict[HashAlgorithm, type[hashes.HashAlgorithm]] = {
    HashAlgorithm.SHA256: hashes.SHA256,
    HashAlgorithm.SHA384: hashes.SHA384,
    HashAlgorithm.SHA512: hashes.SHA512,
}
