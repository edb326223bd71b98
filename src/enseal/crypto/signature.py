"""Signature schemes of the MLS cipher suites (RFC 9420 section 5.1.2).

EdDSA keys and signatures are raw (RFC 8032: R || S). ECDSA public keys are uncompressed points
(RFC 8446 UncompressedPointRepresentation), private keys big-endian scalars, and signatures DER.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from functools import lru_cache
from typing import NoReturn

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519

from enseal.crypto.curves import NistCurve, public_key_bytes
from enseal.crypto.hashing import HashAlgorithm
from enseal.crypto.secret import Secret
from enseal.errors import CryptoError, LocalProtocolError, SignatureError

PUBLIC_KEY_CACHE_SIZE = 4096
"""Bound on parsed verification keys kept for reuse (one group of 1,000 needs 1,000)."""


class SignatureScheme(Enum):
    """TLS SignatureScheme code points (RFC 8446) for the schemes MLS uses."""

    ED25519 = ("Ed25519", 0x0807, None, None, 32)
    ED448 = ("Ed448", 0x0808, None, None, 57)
    ECDSA_P256_SHA256 = ("ecdsa_secp256r1_sha256", 0x0403, NistCurve.P256, HashAlgorithm.SHA256, 32)
    ECDSA_P384_SHA384 = ("ecdsa_secp384r1_sha384", 0x0503, NistCurve.P384, HashAlgorithm.SHA384, 48)
    ECDSA_P521_SHA512 = ("ecdsa_secp521r1_sha512", 0x0603, NistCurve.P521, HashAlgorithm.SHA512, 66)

    def __init__(
        self, label: str, code: int, curve: NistCurve | None, hash_alg: HashAlgorithm | None, sk_size: int
    ) -> None:
        self.label = label
        self.code = code
        self.curve = curve
        self.hash_alg = hash_alg
        self.private_key_size = sk_size

    def generate(self, random_bytes: Callable[[int], bytes]) -> SignaturePrivateKey:
        """A new key from ``random_bytes`` (rejection-sampled for ECDSA)."""
        if self.curve is None:
            return SignaturePrivateKey.from_bytes(self, random_bytes(self.private_key_size))
        while True:
            scalar = self.curve.scalar_from_candidate(random_bytes(self.private_key_size))
            if scalar is not None:
                return SignaturePrivateKey.from_bytes(self, scalar.to_bytes(self.private_key_size, "big"))

    def verify(self, public_key: bytes, message: bytes, signature: bytes) -> None:
        """Raise :class:`SignatureError` unless ``signature`` is valid for ``message``."""
        key = _load_public(self, bytes(public_key))
        try:
            if isinstance(key, ec.EllipticCurvePublicKey):
                assert self.hash_alg is not None
                key.verify(signature, message, ec.ECDSA(self.hash_alg.pyca()))
            else:
                key.verify(signature, message)
        except InvalidSignature as exc:
            raise SignatureError(f"{self.label}: signature does not verify") from exc

    def check_public_key(self, public_key: bytes) -> None:
        """Raise :class:`CryptoError` if ``public_key`` is not a valid key of this scheme."""
        _load_public(self, bytes(public_key))


_PublicKey = ed25519.Ed25519PublicKey | ed448.Ed448PublicKey | ec.EllipticCurvePublicKey
_PrivateKey = ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey | ec.EllipticCurvePrivateKey


@lru_cache(maxsize=PUBLIC_KEY_CACHE_SIZE)
def _load_public(scheme: SignatureScheme, data: bytes) -> _PublicKey:
    try:
        if scheme is SignatureScheme.ED25519:
            return ed25519.Ed25519PublicKey.from_public_bytes(data)
        if scheme is SignatureScheme.ED448:
            return ed448.Ed448PublicKey.from_public_bytes(data)
        assert scheme.curve is not None
        return scheme.curve.public_key(data)
    except ValueError as exc:
        raise CryptoError(f"{scheme.label}: invalid public key ({exc})") from exc


class SignaturePrivateKey:
    """A signing key. ``repr`` hides it; ``private_bytes()`` is a :class:`Secret`."""

    __slots__ = ("_key", "_public", "_raw", "scheme")

    def __init__(self, scheme: SignatureScheme, key: _PrivateKey, raw: bytes) -> None:
        self.scheme = scheme
        self._key = key
        self._raw = raw
        self._public = public_key_bytes(key)

    @classmethod
    def from_bytes(cls, scheme: SignatureScheme, raw: bytes) -> SignaturePrivateKey:
        """Load a private key in the MLS encoding (raw EdDSA key or big-endian ECDSA scalar,
        leading zeros optional)."""
        if len(raw) != scheme.private_key_size and (scheme.curve is None or not 0 < len(raw) < scheme.private_key_size):
            raise LocalProtocolError(f"{scheme.label} private key must be {scheme.private_key_size} bytes")
        try:
            key: _PrivateKey
            if scheme is SignatureScheme.ED25519:
                key = ed25519.Ed25519PrivateKey.from_private_bytes(raw)
            elif scheme is SignatureScheme.ED448:
                key = ed448.Ed448PrivateKey.from_private_bytes(raw)
            else:
                assert scheme.curve is not None
                key = scheme.curve.private_key_from_bytes(raw)
                raw = raw.rjust(scheme.private_key_size, b"\x00")
        except ValueError as exc:
            raise CryptoError(f"{scheme.label}: invalid private key") from exc
        return cls(scheme, key, bytes(raw))

    @property
    def public_key(self) -> bytes:
        return self._public

    def private_bytes(self) -> Secret:
        return Secret(self._raw)

    def sign(self, message: bytes) -> bytes:
        if isinstance(self._key, ec.EllipticCurvePrivateKey):
            assert self.scheme.hash_alg is not None
            return self._key.sign(message, ec.ECDSA(self.scheme.hash_alg.pyca()))
        return self._key.sign(message)

    def __repr__(self) -> str:
        public = self._public.hex()[:16]
        return f"SignaturePrivateKey({self.scheme.label}, public={public}..., <private hidden>)"

    def __reduce__(self) -> NoReturn:
        raise TypeError("SignaturePrivateKey cannot be pickled; persist private_bytes() encrypted")
