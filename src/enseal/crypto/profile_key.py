"""The key of a client's local profile (ARCHITECTURE.md section 1: "a client's local state
(private keys, group secrets, history) is encrypted too"), derived from a passphrase.

* Key derivation: Argon2id (RFC 9106) with the parameters of its section 4 "second recommended
  option" (t=3 passes, p=4 lanes, m=64 MiB), a 16-byte random salt and a 32-byte output, the
  *passphrase key*. The parameters are stored beside the profile so they can be raised later.
* From the passphrase key, HKDF-SHA256 (RFC 5869) expands two independent keys: the *record
  key* (AES-256-GCM) and the *tag key* (HMAC-SHA256, for look-up tags that must not reveal a
  name, such as which conversation a history row belongs to).
* A sealed record is ``0x01 || nonce(12) || AES-256-GCM(record key, nonce, plaintext, aad)`` with
  ``aad = "enseal profile record v1" || context``; the context names the record, so a record
  cannot be moved to another name unnoticed.
* A *check value* (a sealed constant) tells a wrong passphrase from a damaged profile.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

from enseal.crypto.aead import AeadAlgorithm
from enseal.crypto.hashing import HashAlgorithm
from enseal.crypto.randomness import RandomSource
from enseal.crypto.secret import Secret
from enseal.errors import AuthenticationError, KeyDerivationError, LocalProtocolError

ARGON2_ITERATIONS: Final = 3
ARGON2_LANES: Final = 4
ARGON2_MEMORY_KIB: Final = 64 * 1024
"""RFC 9106 section 4, second recommended option: t=3, p=4, m=64 MiB."""
ARGON2_SALT_SIZE: Final = 16
PASSPHRASE_KEY_SIZE: Final = 32
MIN_ARGON2_MEMORY_KIB: Final = 8 * 1024
"""Stored parameters weaker than these are refused (a tampered header must not downgrade the KDF)."""
MIN_ARGON2_ITERATIONS: Final = 1
MAX_ARGON2_MEMORY_KIB: Final = 4 * 1024 * 1024
"""Parameters above these are refused too (a tampered header must not exhaust the machine)."""
MAX_ARGON2_ITERATIONS: Final = 64
MAX_ARGON2_LANES: Final = 64

RECORD_AEAD: Final = AeadAlgorithm.AES_256_GCM
FORMAT_VERSION: Final = b"\x01"
_RECORD_LABEL: Final = b"enseal profile record v1"
_RECORD_KEY_INFO: Final = b"enseal profile v1 record key"
_TAG_KEY_INFO: Final = b"enseal profile v1 tag key"
_CHECK_CONTEXT: Final = b"passphrase check"
_CHECK_VALUE: Final = b"enseal profile key check v1"
_NONCE: Final = RECORD_AEAD.nonce_size
_OVERHEAD: Final = len(FORMAT_VERSION) + _NONCE + RECORD_AEAD.tag_size


class WrongPassphrase(AuthenticationError):
    """The passphrase does not open this profile."""


@dataclass(frozen=True, slots=True, kw_only=True)
class KdfParameters:
    """Argon2id parameters of one profile (public; stored beside it)."""

    salt: bytes
    iterations: int = ARGON2_ITERATIONS
    lanes: int = ARGON2_LANES
    memory_kib: int = ARGON2_MEMORY_KIB

    @classmethod
    def new(cls, random_bytes: RandomSource) -> KdfParameters:
        return cls(salt=random_bytes(ARGON2_SALT_SIZE))

    def check(self) -> None:
        """Refuse parameters outside the accepted range (:class:`LocalProtocolError`)."""
        if len(self.salt) < ARGON2_SALT_SIZE:
            raise LocalProtocolError(f"an Argon2id salt is at least {ARGON2_SALT_SIZE} bytes")
        if not MIN_ARGON2_ITERATIONS <= self.iterations <= MAX_ARGON2_ITERATIONS:
            raise LocalProtocolError(f"Argon2id iterations must be {MIN_ARGON2_ITERATIONS}-{MAX_ARGON2_ITERATIONS}")
        if not 1 <= self.lanes <= MAX_ARGON2_LANES:
            raise LocalProtocolError(f"Argon2id lanes must be 1-{MAX_ARGON2_LANES}")
        if not max(MIN_ARGON2_MEMORY_KIB, 8 * self.lanes) <= self.memory_kib <= MAX_ARGON2_MEMORY_KIB:
            raise LocalProtocolError(
                f"Argon2id memory must be {MIN_ARGON2_MEMORY_KIB}-{MAX_ARGON2_MEMORY_KIB} KiB (and 8 KiB per lane)"
            )


class ProfileKey(Secret):
    """The record and tag keys of one profile; ``repr`` hides them."""

    __slots__ = ("_tag_key",)

    def __init__(self, passphrase_key: bytes) -> None:
        if len(passphrase_key) != PASSPHRASE_KEY_SIZE:
            raise LocalProtocolError(f"a passphrase key is {PASSPHRASE_KEY_SIZE} bytes")
        prk = HashAlgorithm.SHA256.extract(b"", passphrase_key)
        super().__init__(HashAlgorithm.SHA256.expand(prk, _RECORD_KEY_INFO, RECORD_AEAD.key_size))
        self._tag_key = Secret(HashAlgorithm.SHA256.expand(prk, _TAG_KEY_INFO, 32))

    @classmethod
    def derive(cls, passphrase: str, parameters: KdfParameters) -> ProfileKey:
        """Argon2id(passphrase) with ``parameters``; slow on purpose (about half a second)."""
        parameters.check()
        if not passphrase:
            raise LocalProtocolError("the passphrase is empty")
        try:
            kdf = Argon2id(
                salt=parameters.salt,
                length=PASSPHRASE_KEY_SIZE,
                iterations=parameters.iterations,
                lanes=parameters.lanes,
                memory_cost=parameters.memory_kib,
            )
            return cls(kdf.derive(passphrase.encode("utf-8")))
        except (UnsupportedAlgorithm, ValueError, MemoryError) as exc:
            raise KeyDerivationError("Argon2id failed") from exc

    def seal(self, plaintext: bytes, *, context: bytes, random_bytes: RandomSource) -> bytes:
        """``plaintext`` encrypted and bound to ``context`` (the record's name)."""
        nonce = random_bytes(_NONCE)
        return FORMAT_VERSION + nonce + RECORD_AEAD.seal(self.reveal(), nonce, _RECORD_LABEL + context, plaintext)

    def open(self, sealed: bytes, *, context: bytes) -> bytes:
        """The plaintext of ``sealed``; :class:`AuthenticationError` if it was altered, moved or
        sealed under another key."""
        if len(sealed) < _OVERHEAD or sealed[:1] != FORMAT_VERSION:
            raise AuthenticationError("not a version-1 profile record")
        return RECORD_AEAD.open(self.reveal(), sealed[1 : 1 + _NONCE], _RECORD_LABEL + context, sealed[1 + _NONCE :])

    def tag(self, name: bytes) -> bytes:
        """A keyed look-up tag for ``name`` (HMAC-SHA256): equal names give equal tags, and the
        tag tells nobody without the key what the name is."""
        return HashAlgorithm.SHA256.hmac(self._tag_key.reveal(), name)

    def check_value(self, random_bytes: RandomSource) -> bytes:
        """The sealed constant stored beside a new profile."""
        return self.seal(_CHECK_VALUE, context=_CHECK_CONTEXT, random_bytes=random_bytes)

    def verify_check_value(self, sealed: bytes) -> None:
        """Raise :class:`WrongPassphrase` unless this key sealed ``sealed``."""
        try:
            value = self.open(sealed, context=_CHECK_CONTEXT)
        except AuthenticationError as exc:
            raise WrongPassphrase("the passphrase does not open this profile") from exc
        if value != _CHECK_VALUE:
            raise WrongPassphrase("the passphrase does not open this profile")
