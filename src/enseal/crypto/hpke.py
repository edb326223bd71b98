"""HPKE base mode (RFC 9180 section 5): key schedule, encryption contexts and the exporter.

pyca/cryptography's ``hpke.Suite`` offers single-shot seal/open only; MLS also needs the
exporter (external joins, RFC 9420 section 8.3) and DeriveKeyPair (in :mod:`enseal.crypto.kem`),
so the key schedule is built here on pyca's HKDF, AEAD and DH. Tests cross-check it against
``hpke.Suite`` in both directions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from enseal.crypto.aead import AeadAlgorithm
from enseal.crypto.hashing import HashAlgorithm
from enseal.crypto.kem import HPKE_VERSION, DhKem, HpkePrivateKey
from enseal.errors import LimitExceeded

MODE_BASE = 0x00


@dataclass(frozen=True, slots=True)
class HpkeSuite:
    """One (KEM, KDF, AEAD) combination; ``suite_id`` = "HPKE" || kem || kdf || aead ids."""

    kem: DhKem
    kdf: HashAlgorithm
    aead: AeadAlgorithm

    @property
    def suite_id(self) -> bytes:
        return (
            b"HPKE"
            + self.kem.kem_id.to_bytes(2, "big")
            + self.kdf.kdf_id.to_bytes(2, "big")
            + self.aead.aead_id.to_bytes(2, "big")
        )

    def labeled_extract(self, salt: bytes, label: bytes, ikm: bytes) -> bytes:
        return self.kdf.extract(salt, HPKE_VERSION + self.suite_id + label + ikm)

    def labeled_expand(self, prk: bytes, label: bytes, info: bytes, length: int) -> bytes:
        labeled_info = length.to_bytes(2, "big") + HPKE_VERSION + self.suite_id + label + info
        return self.kdf.expand(prk, labeled_info, length)

    def _key_schedule(self, shared_secret: bytes, info: bytes) -> HpkeContext:
        # Base mode: psk = "" and psk_id = "" (RFC 9180 section 5.1).
        psk_id_hash = self.labeled_extract(b"", b"psk_id_hash", b"")
        info_hash = self.labeled_extract(b"", b"info_hash", info)
        key_schedule_context = bytes((MODE_BASE,)) + psk_id_hash + info_hash
        secret = self.labeled_extract(shared_secret, b"secret", b"")
        return HpkeContext(
            suite=self,
            key=self.labeled_expand(secret, b"key", key_schedule_context, self.aead.key_size),
            base_nonce=self.labeled_expand(secret, b"base_nonce", key_schedule_context, self.aead.nonce_size),
            exporter_secret=self.labeled_expand(secret, b"exp", key_schedule_context, self.kdf.size),
        )

    def setup_base_s(
        self, public_key: bytes, info: bytes, random_bytes: Callable[[int], bytes]
    ) -> tuple[bytes, HpkeContext]:
        """SetupBaseS: ``(enc, context)`` for sending to ``public_key``."""
        shared_secret, enc = self.kem.encap(public_key, random_bytes)
        return enc, self._key_schedule(shared_secret, info)

    def setup_base_r(self, enc: bytes, private_key: HpkePrivateKey, info: bytes) -> HpkeContext:
        """SetupBaseR: the receiving context for ``enc``."""
        return self._key_schedule(self.kem.decap(enc, private_key), info)

    def seal(
        self, public_key: bytes, info: bytes, aad: bytes, plaintext: bytes,
        random_bytes: Callable[[int], bytes],
    ) -> tuple[bytes, bytes]:
        """Single-shot SealBase: ``(enc, ciphertext)``."""
        enc, ctx = self.setup_base_s(public_key, info, random_bytes)
        return enc, ctx.seal(aad, plaintext)

    def open(
        self, enc: bytes, private_key: HpkePrivateKey, info: bytes, aad: bytes, ciphertext: bytes
    ) -> bytes:
        """Single-shot OpenBase; :class:`~enseal.errors.AuthenticationError` on a bad tag."""
        return self.setup_base_r(enc, private_key, info).open(aad, ciphertext)


class HpkeContext:
    """An HPKE encryption context (RFC 9180 section 5.2): AEAD with a sequence number, and
    the secret exporter (section 5.3). Keys are hidden from ``repr``."""

    __slots__ = ("_base_nonce", "_exporter_secret", "_key", "_seq", "suite")

    def __init__(self, *, suite: HpkeSuite, key: bytes, base_nonce: bytes, exporter_secret: bytes) -> None:
        self.suite = suite
        self._key = key
        self._base_nonce = base_nonce
        self._exporter_secret = exporter_secret
        self._seq = 0

    def _next_nonce(self) -> bytes:
        # "the sequence number ... MUST NOT overflow": refuse at 2^(8*Nn) - 1.
        if self._seq >= (1 << (8 * self.suite.aead.nonce_size)) - 1:
            raise LimitExceeded("HPKE context sequence number exhausted")
        nonce = (int.from_bytes(self._base_nonce, "big") ^ self._seq).to_bytes(len(self._base_nonce), "big")
        self._seq += 1
        return nonce

    def seal(self, aad: bytes, plaintext: bytes) -> bytes:
        return self.suite.aead.seal(self._key, self._next_nonce(), aad, plaintext)

    def open(self, aad: bytes, ciphertext: bytes) -> bytes:
        # The sequence number advances only on success (RFC 9180 section 5.2, ContextR.Open).
        nonce = (int.from_bytes(self._base_nonce, "big") ^ self._seq).to_bytes(len(self._base_nonce), "big")
        plaintext = self.suite.aead.open(self._key, nonce, aad, ciphertext)
        self._seq += 1
        return plaintext

    def export(self, exporter_context: bytes, length: int) -> bytes:
        """Context.Export(exporter_context, L) = LabeledExpand(exporter_secret, "sec", ...)."""
        return self.suite.labeled_expand(self._exporter_secret, b"sec", exporter_context, length)

    def __repr__(self) -> str:
        return f"HpkeContext({self.suite.kem.label}, seq={self._seq}, <keys hidden>)"
