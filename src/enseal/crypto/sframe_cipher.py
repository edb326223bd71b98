"""Frame ciphers for SFrame (RFC 9605 section 4.5): cached-key AEAD callables for the per-frame path.

Two AEAD shapes serve the SFrame cipher suites:

* AES-GCM (suites 0x0004, 0x0005): pyca's ``AESGCM`` with the key object built once per key, so a
  frame costs one call into pyca and nothing else.
* The compound AES-CTR + HMAC AEAD of RFC 9605 section 4.5.1 (suites 0x0001-0x0003, and 0x0006-0x0008
  of draft-barnes-sframe-iana-256 with AES-256 and HMAC-SHA-512), which pyca does not offer.

Both are handed out as a pair of plain callables with pyca's argument order,
``seal(nonce, plaintext, aad) -> ciphertext || tag`` and ``open(nonce, ciphertext || tag, aad) ->
plaintext``. ``open`` signals a bad tag by raising one of :data:`AUTHENTICATION_FAILURES`; the
caller maps it to its own error with ``raise ... from exc``. The AES-GCM callables are pyca's bound
methods themselves: wrapping them to translate the exception would add a Python frame to every
media frame (docs/decisions/0303-sframe-hot-path.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from enseal.crypto.hashing import HashAlgorithm
from enseal.crypto.secret import constant_time_equal
from enseal.errors import AuthenticationError, LocalProtocolError

FrameSeal = Callable[[bytes, bytes, bytes], bytes]
"""``seal(nonce, plaintext, aad)`` returns the ciphertext with the tag appended."""

FrameOpen = Callable[[bytes, bytes, bytes], bytes]
"""``open(nonce, ciphertext_and_tag, aad)`` returns the plaintext or raises an authentication failure."""

AUTHENTICATION_FAILURES: Final[tuple[type[Exception], ...]] = (InvalidTag, AuthenticationError)
"""What a :data:`FrameOpen` raises when the tag does not verify (and nothing else does)."""

NONCE_SIZE: Final = 12
"""Nn of every SFrame cipher suite (RFC 9605 section 4.5)."""

_CTR_BLOCK_SUFFIX: Final = bytes(4)
"""``initial_counter = nonce + 0x00000000`` (RFC 9605 section 4.5.1)."""


def aes_gcm_frame_cipher(key: bytes) -> tuple[FrameSeal, FrameOpen]:
    """``(seal, open)`` for AES-GCM with a 16- or 32-byte ``key``, the key object built once."""
    if len(key) not in (16, 32):
        raise LocalProtocolError(f"AES-GCM key must be 16 or 32 bytes, got {len(key)}")
    cipher = AESGCM(bytes(key))
    return cipher.encrypt, cipher.decrypt


def derive_subkeys(key: bytes, aes_key_size: int) -> tuple[bytes, bytes]:
    """``derive_subkeys`` of RFC 9605 section 4.5.1: ``(enc_key, auth_key)`` = the first Nka bytes
    and the remaining Nh bytes of the AEAD key."""
    return key[:aes_key_size], key[aes_key_size:]


class AesCtrHmac:
    """The AES-CTR + HMAC AEAD of RFC 9605 section 4.5.1 under one key (encrypt-then-MAC).

    ``key`` is Nka + Nh bytes; ``tag_size`` is Nt, the HMAC output truncated to its first Nt bytes.
    """

    __slots__ = ("_aes", "_auth_key", "_hash", "_tag_len_field", "tag_size")

    def __init__(self, key: bytes, *, aes_key_size: int, hash_alg: HashAlgorithm, tag_size: int) -> None:
        if aes_key_size not in (16, 32):
            raise LocalProtocolError(f"AES key size must be 16 or 32 bytes, got {aes_key_size}")
        if len(key) != aes_key_size + hash_alg.size:
            raise LocalProtocolError(
                f"AES-CTR+HMAC key must be {aes_key_size + hash_alg.size} bytes, got {len(key)}"
            )
        if not 0 < tag_size <= hash_alg.size:
            raise LocalProtocolError(f"tag size {tag_size} out of range for {hash_alg.label}")
        enc_key, auth_key = derive_subkeys(bytes(key), aes_key_size)
        self._aes = algorithms.AES(enc_key)
        self._auth_key = auth_key
        self._hash = hash_alg
        self._tag_len_field = tag_size.to_bytes(8, "big")
        self.tag_size = tag_size

    def _ctr(self, nonce: bytes, data: bytes) -> bytes:
        # AES-CTR.Encrypt(enc_key, initial_counter, pt) with initial_counter = nonce || 0x00000000;
        # CTR is its own inverse, so this is also AES-CTR.Decrypt.
        ctx = Cipher(self._aes, modes.CTR(nonce + _CTR_BLOCK_SUFFIX)).encryptor()
        return ctx.update(data) + ctx.finalize()

    def _tag(self, nonce: bytes, aad: bytes, ct: bytes) -> bytes:
        # compute_tag: auth_data = len(aad) || len(ct) || Nt (8-byte big-endian each) || nonce || aad || ct
        auth_data = b"".join((
            len(aad).to_bytes(8, "big"), len(ct).to_bytes(8, "big"), self._tag_len_field, nonce, aad, ct,
        ))
        return self._hash.hmac(self._auth_key, auth_data)[: self.tag_size]

    @staticmethod
    def _check_nonce(nonce: bytes) -> None:
        if len(nonce) != NONCE_SIZE:
            raise LocalProtocolError(f"AES-CTR+HMAC nonce must be {NONCE_SIZE} bytes")

    def seal(self, nonce: bytes, plaintext: bytes, aad: bytes) -> bytes:
        """AEAD.Encrypt(key, nonce, aad, pt) = ct || tag."""
        self._check_nonce(nonce)
        ct = self._ctr(nonce, plaintext)
        return ct + self._tag(nonce, aad, ct)

    def open(self, nonce: bytes, ciphertext: bytes, aad: bytes) -> bytes:
        """AEAD.Decrypt(key, nonce, aad, ct); :class:`AuthenticationError` if the tag is wrong."""
        self._check_nonce(nonce)
        if len(ciphertext) < self.tag_size:
            raise AuthenticationError("AES-CTR+HMAC: ciphertext shorter than the tag")
        inner, tag = ciphertext[: -self.tag_size], ciphertext[-self.tag_size :]
        # "if !constant_time_equal(tag, candidate_tag): raise Exception("Authentication Failure")"
        if not constant_time_equal(tag, self._tag(nonce, aad, inner)):
            raise AuthenticationError("AES-CTR+HMAC: authentication tag mismatch")
        return self._ctr(nonce, inner)

    def __repr__(self) -> str:
        return f"AesCtrHmac({self._hash.label}, Nt={self.tag_size}, <keys hidden>)"
