"""AEAD algorithms (RFC 5116 interface) as MLS and HPKE use them: AES-GCM and ChaCha20-Poly1305."""

from __future__ import annotations

from enum import Enum

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

from enseal.errors import AuthenticationError, LocalProtocolError


class AeadAlgorithm(Enum):
    """``aead_id`` is the HPKE code point (RFC 9180 §7.3); Nk key, Nn nonce, Nt tag sizes."""

    AES_128_GCM = ("AES-128-GCM", 0x0001, 16)
    AES_256_GCM = ("AES-256-GCM", 0x0002, 32)
    CHACHA20_POLY1305 = ("ChaCha20Poly1305", 0x0003, 32)

    def __init__(self, label: str, aead_id: int, key_size: int) -> None:
        self.label = label
        self.aead_id = aead_id
        self.key_size = key_size
        self.nonce_size = 12
        self.tag_size = 16

    def _cipher(self, key: bytes) -> AESGCM | ChaCha20Poly1305:
        if len(key) != self.key_size:
            raise LocalProtocolError(f"{self.label} key must be {self.key_size} bytes, got {len(key)}")
        if self is AeadAlgorithm.CHACHA20_POLY1305:
            return ChaCha20Poly1305(key)
        return AESGCM(key)

    def seal(self, key: bytes, nonce: bytes, aad: bytes, plaintext: bytes) -> bytes:
        """Ciphertext with the tag appended."""
        if len(nonce) != self.nonce_size:
            raise LocalProtocolError(f"{self.label} nonce must be {self.nonce_size} bytes")
        return self._cipher(key).encrypt(nonce, plaintext, aad)

    def open(self, key: bytes, nonce: bytes, aad: bytes, ciphertext: bytes) -> bytes:
        """Plaintext, or :class:`AuthenticationError` if the tag does not verify."""
        if len(nonce) != self.nonce_size:
            raise LocalProtocolError(f"{self.label} nonce must be {self.nonce_size} bytes")
        if len(ciphertext) < self.tag_size:
            raise AuthenticationError(f"{self.label}: ciphertext shorter than the tag")
        try:
            return self._cipher(key).decrypt(nonce, ciphertext, aad)
        except InvalidTag as exc:
            raise AuthenticationError(f"{self.label}: authentication tag mismatch") from exc
