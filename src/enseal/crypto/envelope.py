"""Envelope encryption of data at rest (ARCHITECTURE.md section 1: "what the server stores is
encrypted (envelope encryption: per-record data keys wrapped by a key-encryption key the operator
holds)").

Each record is sealed with its own AES-256-GCM data key; the data key is stored wrapped
(AES-256-GCM) by the key-encryption key (KEK). Rotating the KEK rewraps the data keys and never
touches the records. Every ciphertext binds, as associated data, what it belongs to, so a sealed
value cannot be moved to another row or a wrapped key to another KEK unnoticed.

Layouts (all byte strings):

* wrapped data key: ``0x01 || nonce(12) || AES-256-GCM(KEK, nonce, data key, aad)`` with
  ``aad = "enseal data key v1" || kek_id``;
* sealed record: ``0x01 || nonce(12) || AES-256-GCM(data key, nonce, plaintext, aad)`` with
  ``aad = "enseal record v1" || caller's context``.
"""

from __future__ import annotations

import base64
import binascii
from typing import Final

from enseal.crypto.aead import AeadAlgorithm
from enseal.crypto.randomness import RandomSource
from enseal.crypto.secret import Secret
from enseal.errors import AuthenticationError, CryptoError, LocalProtocolError

ENVELOPE_AEAD: Final = AeadAlgorithm.AES_256_GCM
KEY_SIZE: Final = 32
"""Size of a KEK and of a data key (AES-256)."""
KEK_ID_SIZE: Final = 8
"""Random bytes in a KEK's public identifier."""
FORMAT_VERSION: Final = b"\x01"
_WRAP_LABEL: Final = b"enseal data key v1"
_RECORD_LABEL: Final = b"enseal record v1"
_KEK_FILE_MAGIC: Final = "enseal-kek-v1"
_NONCE: Final = ENVELOPE_AEAD.nonce_size
_OVERHEAD: Final = len(FORMAT_VERSION) + _NONCE + ENVELOPE_AEAD.tag_size


class KeyEncryptionKey(Secret):
    """The operator's key-encryption key; ``kek_id`` (public) names it in every wrapped key."""

    __slots__ = ("kek_id",)

    def __init__(self, value: bytes, *, kek_id: str) -> None:
        if len(value) != KEY_SIZE:
            raise LocalProtocolError(f"a key-encryption key is {KEY_SIZE} bytes")
        super().__init__(value)
        self.kek_id = kek_id

    @classmethod
    def generate(cls, random_bytes: RandomSource) -> KeyEncryptionKey:
        return cls(random_bytes(KEY_SIZE), kek_id=random_bytes(KEK_ID_SIZE).hex())

    def to_file(self) -> Secret:
        """The text of a KEK file: ``enseal-kek-v1 <kek_id> <base64 key>``."""
        key = base64.b64encode(self.reveal()).decode()
        return Secret(f"{_KEK_FILE_MAGIC} {self.kek_id} {key}\n".encode())

    @classmethod
    def from_file(cls, text: bytes) -> KeyEncryptionKey:
        """Parse what :meth:`to_file` wrote; :class:`CryptoError` for anything else."""
        try:
            magic, kek_id, key = text.decode("ascii").split()
            value = base64.b64decode(key, validate=True)
            bytes.fromhex(kek_id)
        except (UnicodeDecodeError, ValueError, binascii.Error) as exc:
            raise CryptoError("not a key-encryption key file") from exc
        if magic != _KEK_FILE_MAGIC or len(value) != KEY_SIZE or len(kek_id) != 2 * KEK_ID_SIZE:
            raise CryptoError("not a key-encryption key file")
        return cls(value, kek_id=kek_id)

    def __repr__(self) -> str:
        return f"KeyEncryptionKey(kek_id={self.kek_id}, <hidden>)"

    __str__ = __repr__


class DataKey(Secret):
    """A per-record AES-256-GCM key."""

    __slots__ = ()

    @classmethod
    def generate(cls, random_bytes: RandomSource) -> DataKey:
        return cls(random_bytes(KEY_SIZE))


def _seal(key: bytes, aad: bytes, plaintext: bytes, random_bytes: RandomSource) -> bytes:
    nonce = random_bytes(_NONCE)
    return FORMAT_VERSION + nonce + ENVELOPE_AEAD.seal(key, nonce, aad, plaintext)


def _open(key: bytes, aad: bytes, sealed: bytes, what: str) -> bytes:
    if len(sealed) < _OVERHEAD or sealed[:1] != FORMAT_VERSION:
        raise AuthenticationError(f"{what}: not a version-1 envelope")
    return ENVELOPE_AEAD.open(key, sealed[1 : 1 + _NONCE], aad, sealed[1 + _NONCE :])


def wrap_data_key(kek: KeyEncryptionKey, data_key: DataKey, random_bytes: RandomSource) -> bytes:
    """``data_key`` encrypted under ``kek``, bound to the KEK's id."""
    return _seal(kek.reveal(), _WRAP_LABEL + kek.kek_id.encode(), data_key.reveal(), random_bytes)


def unwrap_data_key(kek: KeyEncryptionKey, wrapped: bytes) -> DataKey:
    """The data key in ``wrapped``; :class:`AuthenticationError` if ``kek`` did not wrap it."""
    raw = _open(kek.reveal(), _WRAP_LABEL + kek.kek_id.encode(), wrapped, "wrapped data key")
    if len(raw) != KEY_SIZE:
        raise AuthenticationError("wrapped data key has the wrong size")
    return DataKey(raw)


def seal_record(data_key: DataKey, plaintext: bytes, *, context: bytes, random_bytes: RandomSource) -> bytes:
    """``plaintext`` encrypted under ``data_key``, bound to ``context`` (e.g. table and row)."""
    return _seal(data_key.reveal(), _RECORD_LABEL + context, plaintext, random_bytes)


def open_record(data_key: DataKey, sealed: bytes, *, context: bytes) -> bytes:
    """The plaintext of ``sealed``; :class:`AuthenticationError` on any tampering or wrong context."""
    return _open(data_key.reveal(), _RECORD_LABEL + context, sealed, "sealed record")
