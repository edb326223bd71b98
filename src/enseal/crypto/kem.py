"""DH-based KEMs of HPKE (RFC 9180 section 4.1): DHKEM over X25519, X448, P-256, P-384, P-521.

Includes DeriveKeyPair (RFC 9180 section 7.1.3), which MLS uses to turn path and node secrets
into tree key pairs, and the labelled HKDF of the KEM (suite_id = "KEM" || I2OSP(kem_id, 2)).
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from functools import lru_cache
from typing import NoReturn

from cryptography.hazmat.primitives.asymmetric import ec, x448, x25519

from enseal.crypto.curves import NistCurve, public_key_bytes
from enseal.crypto.hashing import HashAlgorithm
from enseal.crypto.secret import Secret
from enseal.errors import CryptoError, KeyDerivationError, LocalProtocolError

HPKE_VERSION = b"HPKE-v1"
PUBLIC_KEY_CACHE_SIZE = 4096
"""Bound on parsed HPKE public keys kept for reuse (encryption to a copath resolution)."""
DERIVE_KEY_PAIR_MAX_TRIES = 256
"""RFC 9180 section 7.1.3: "if counter > 255: raise DeriveKeyPairError"."""


class DhKem(Enum):
    """``Nsecret``, ``Nenc`` = ``Npk`` and ``Nsk`` as in RFC 9180 table 2."""

    P256 = ("DHKEM(P-256, HKDF-SHA256)", 0x0010, HashAlgorithm.SHA256, 32, 65, 32, NistCurve.P256)
    P384 = ("DHKEM(P-384, HKDF-SHA384)", 0x0011, HashAlgorithm.SHA384, 48, 97, 48, NistCurve.P384)
    P521 = ("DHKEM(P-521, HKDF-SHA512)", 0x0012, HashAlgorithm.SHA512, 64, 133, 66, NistCurve.P521)
    X25519 = ("DHKEM(X25519, HKDF-SHA256)", 0x0020, HashAlgorithm.SHA256, 32, 32, 32, None)
    X448 = ("DHKEM(X448, HKDF-SHA512)", 0x0021, HashAlgorithm.SHA512, 64, 56, 56, None)

    def __init__(
        self,
        label: str,
        kem_id: int,
        kdf: HashAlgorithm,
        secret_size: int,
        public_key_size: int,
        private_key_size: int,
        curve: NistCurve | None,
    ) -> None:
        self.label = label
        self.kem_id = kem_id
        self.kdf = kdf
        self.secret_size = secret_size
        self.public_key_size = public_key_size
        self.enc_size = public_key_size
        self.private_key_size = private_key_size
        self.curve = curve
        self.suite_id = b"KEM" + kem_id.to_bytes(2, "big")

    # -- labelled HKDF (RFC 9180 section 4) -------------------------------------------------

    def labeled_extract(self, salt: bytes, label: bytes, ikm: bytes) -> bytes:
        return self.kdf.extract(salt, HPKE_VERSION + self.suite_id + label + ikm)

    def labeled_expand(self, prk: bytes, label: bytes, info: bytes, length: int) -> bytes:
        labeled_info = length.to_bytes(2, "big") + HPKE_VERSION + self.suite_id + label + info
        return self.kdf.expand(prk, labeled_info, length)

    # -- key pairs ------------------------------------------------------------------------------

    def derive_key_pair(self, ikm: bytes) -> HpkePrivateKey:
        """DeriveKeyPair(ikm) of RFC 9180 section 7.1.3."""
        dkp_prk = self.labeled_extract(b"", b"dkp_prk", ikm)
        if self.curve is None:
            sk = self.labeled_expand(dkp_prk, b"sk", b"", self.private_key_size)
            return HpkePrivateKey.from_bytes(self, sk)
        for counter in range(DERIVE_KEY_PAIR_MAX_TRIES):
            candidate = self.labeled_expand(
                dkp_prk, b"candidate", counter.to_bytes(1, "big"), self.private_key_size
            )
            scalar = self.curve.scalar_from_candidate(candidate)
            if scalar is not None:
                return HpkePrivateKey.from_bytes(self, scalar.to_bytes(self.private_key_size, "big"))
        raise KeyDerivationError(f"{self.label}: DeriveKeyPair found no valid scalar")

    def generate_key_pair(self, random_bytes: Callable[[int], bytes]) -> HpkePrivateKey:
        """GenerateKeyPair() as DeriveKeyPair(random(Nsk)) (RFC 9180 section 7.1.3)."""
        return self.derive_key_pair(random_bytes(self.private_key_size))

    def check_public_key(self, public_key: bytes) -> None:
        """Raise :class:`CryptoError` unless ``public_key`` deserializes (RFC 9180 §7.1.1)."""
        _load_public(self, bytes(public_key))

    # -- encapsulation (RFC 9180 section 4.1) ---------------------------------------------------

    def _extract_and_expand(self, dh: bytes, kem_context: bytes) -> bytes:
        eae_prk = self.labeled_extract(b"", b"eae_prk", dh)
        return self.labeled_expand(eae_prk, b"shared_secret", kem_context, self.secret_size)

    def encap(self, public_key: bytes, random_bytes: Callable[[int], bytes]) -> tuple[bytes, bytes]:
        """``(shared_secret, enc)`` for the recipient ``public_key``."""
        ephemeral = self.generate_key_pair(random_bytes)
        dh = ephemeral.exchange(public_key)
        enc = ephemeral.public_key
        return self._extract_and_expand(dh, enc + public_key), enc

    def decap(self, enc: bytes, private_key: HpkePrivateKey) -> bytes:
        """The shared secret for ``enc`` (the sender's ephemeral public key)."""
        if private_key.kem is not self:
            raise LocalProtocolError(f"{private_key.kem.label} key used with {self.label}")
        dh = private_key.exchange(enc)
        return self._extract_and_expand(dh, bytes(enc) + private_key.public_key)


_PublicKey = x25519.X25519PublicKey | x448.X448PublicKey | ec.EllipticCurvePublicKey
_PrivateKey = x25519.X25519PrivateKey | x448.X448PrivateKey | ec.EllipticCurvePrivateKey


@lru_cache(maxsize=PUBLIC_KEY_CACHE_SIZE)
def _load_public(kem: DhKem, data: bytes) -> _PublicKey:
    if len(data) != kem.public_key_size:
        raise CryptoError(f"{kem.label}: public key must be {kem.public_key_size} bytes, got {len(data)}")
    try:
        if kem is DhKem.X25519:
            return x25519.X25519PublicKey.from_public_bytes(data)
        if kem is DhKem.X448:
            return x448.X448PublicKey.from_public_bytes(data)
        assert kem.curve is not None
        return kem.curve.public_key(data)
    except ValueError as exc:
        raise CryptoError(f"{kem.label}: invalid public key") from exc


class HpkePrivateKey:
    """An HPKE (KEM) private key with its public key. ``repr`` hides the private part."""

    __slots__ = ("_key", "_raw", "kem", "public_key")

    def __init__(self, kem: DhKem, key: _PrivateKey, raw: bytes) -> None:
        self.kem = kem
        self._key = key
        self._raw = raw
        self.public_key = public_key_bytes(key)

    @classmethod
    def from_bytes(cls, kem: DhKem, raw: bytes) -> HpkePrivateKey:
        """DeserializePrivateKey (RFC 9180 section 7.1.2)."""
        try:
            key: _PrivateKey
            if kem is DhKem.X25519:
                key = x25519.X25519PrivateKey.from_private_bytes(raw)
            elif kem is DhKem.X448:
                key = x448.X448PrivateKey.from_private_bytes(raw)
            else:
                assert kem.curve is not None
                key = kem.curve.private_key_from_bytes(raw)
                raw = raw.rjust(kem.private_key_size, b"\x00")
        except ValueError as exc:
            raise CryptoError(f"{kem.label}: invalid private key") from exc
        return cls(kem, key, bytes(raw))

    def private_bytes(self) -> Secret:
        return Secret(self._raw)

    def exchange(self, peer_public_key: bytes) -> bytes:
        """DH(sk, pk); RFC 9180 section 7.1.4: an all-zero X25519/X448 output is an error."""
        peer = _load_public(self.kem, bytes(peer_public_key))
        try:
            if isinstance(self._key, ec.EllipticCurvePrivateKey):
                assert isinstance(peer, ec.EllipticCurvePublicKey)
                return self._key.exchange(ec.ECDH(), peer)
            return self._key.exchange(peer)  # type: ignore[arg-type]
        except ValueError as exc:
            raise CryptoError(f"{self.kem.label}: DH failed (low-order or invalid point)") from exc

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, HpkePrivateKey):
            return NotImplemented
        return self.kem is other.kem and self.private_bytes() == other.private_bytes()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"HpkePrivateKey({self.kem.label}, public={self.public_key.hex()[:16]}..., <private hidden>)"

    def __reduce__(self) -> NoReturn:
        raise TypeError("HpkePrivateKey cannot be pickled; persist private_bytes() encrypted")
