"""SFrame cipher suites (RFC 9605 section 4.5 and the IANA "SFrame Cipher Suites" registry).

0x0001-0x0005 are RFC 9605's; 0x0006-0x0008 (AES-256-CTR with HMAC-SHA-512) were registered by
draft-barnes-sframe-iana-256. Every suite has Nn = 12. Enseal's default is AES_128_GCM_SHA256_128
(ARCHITECTURE.md section 2).
"""

from __future__ import annotations

from enum import Enum
from typing import Final

from enseal.crypto.hashing import HashAlgorithm
from enseal.crypto.sframe_cipher import NONCE_SIZE, AesCtrHmac, FrameOpen, FrameSeal, aes_gcm_frame_cipher
from enseal.errors import LocalProtocolError
from enseal.sframe.errors import UnsupportedSFrameCipherSuite


class SFrameCipherSuite(Enum):
    """``(value, hash, aes_key_size, ctr_hmac, tag_size)``; Nh, Nka, Nk, Nn, Nt as in RFC 9605 section 4.5."""

    AES_128_CTR_HMAC_SHA256_80 = (0x0001, HashAlgorithm.SHA256, 16, True, 10)
    AES_128_CTR_HMAC_SHA256_64 = (0x0002, HashAlgorithm.SHA256, 16, True, 8)
    AES_128_CTR_HMAC_SHA256_32 = (0x0003, HashAlgorithm.SHA256, 16, True, 4)
    AES_128_GCM_SHA256_128 = (0x0004, HashAlgorithm.SHA256, 16, False, 16)
    AES_256_GCM_SHA512_128 = (0x0005, HashAlgorithm.SHA512, 32, False, 16)
    AES_256_CTR_HMAC_SHA512_80 = (0x0006, HashAlgorithm.SHA512, 32, True, 10)
    AES_256_CTR_HMAC_SHA512_64 = (0x0007, HashAlgorithm.SHA512, 32, True, 8)
    AES_256_CTR_HMAC_SHA512_32 = (0x0008, HashAlgorithm.SHA512, 32, True, 4)

    def __init__(self, value: int, hash_alg: HashAlgorithm, aes_key_size: int, ctr_hmac: bool, tag_size: int) -> None:
        self.id = value
        self.hash = hash_alg
        self.aes_key_size = aes_key_size
        """Nka for the AES-CTR + HMAC suites; the AES-GCM key size otherwise."""
        self.ctr_hmac = ctr_hmac
        self.key_size = aes_key_size + hash_alg.size if ctr_hmac else aes_key_size
        """Nk: the AEAD key size, and the length of the MLS-exported base key (section 5.2)."""
        self.nonce_size = NONCE_SIZE
        self.tag_size = tag_size

    @property
    def hash_size(self) -> int:
        """Nh."""
        return self.hash.size

    def frame_cipher(self, sframe_key: bytes) -> tuple[FrameSeal, FrameOpen]:
        """``(seal, open)`` under ``sframe_key`` (Nk bytes), key set-up done once."""
        if len(sframe_key) != self.key_size:
            raise LocalProtocolError(f"{self.name} key must be {self.key_size} bytes, got {len(sframe_key)}")
        if not self.ctr_hmac:
            return aes_gcm_frame_cipher(sframe_key)
        aead = AesCtrHmac(sframe_key, aes_key_size=self.aes_key_size, hash_alg=self.hash, tag_size=self.tag_size)
        return aead.seal, aead.open


DEFAULT_SFRAME_SUITE: Final = SFrameCipherSuite.AES_128_GCM_SHA256_128

_BY_ID: Final[dict[int, SFrameCipherSuite]] = {suite.id: suite for suite in SFrameCipherSuite}


def sframe_cipher_suite(value: int) -> SFrameCipherSuite:
    """The suite with registry value ``value``; :class:`UnsupportedSFrameCipherSuite` otherwise."""
    try:
        return _BY_ID[value]
    except KeyError:
        raise UnsupportedSFrameCipherSuite("unsupported SFrame cipher suite", f"0x{value:04x}") from None
