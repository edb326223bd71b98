"""SFrame key derivation (RFC 9605 section 4.4.2) and nonce formation (section 4.4.3).

::

    sframe_secret = HKDF-Extract("", base_key)
    sframe_key    = HKDF-Expand(sframe_secret, "SFrame 1.0 Secret key "  + KID + cipher_suite, AEAD.Nk)
    sframe_salt   = HKDF-Expand(sframe_secret, "SFrame 1.0 Secret salt " + KID + cipher_suite, AEAD.Nn)

KID is an 8-byte and cipher_suite a 2-byte big-endian integer; HKDF uses the suite's hash.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from enseal.crypto.secret import Secret
from enseal.errors import LocalProtocolError
from enseal.sframe.header import MAX_KID
from enseal.sframe.suites import SFrameCipherSuite

KEY_LABEL: Final = b"SFrame 1.0 Secret key "
SALT_LABEL: Final = b"SFrame 1.0 Secret salt "


@dataclass(frozen=True, slots=True)
class FrameKeyMaterial:
    """``sframe_key`` (a :class:`Secret`) and ``sframe_salt`` for one KID."""

    key: Secret
    salt: bytes

    def __repr__(self) -> str:
        return "FrameKeyMaterial(<hidden>)"


def _kid_and_suite(suite: SFrameCipherSuite, kid: int) -> bytes:
    if not 0 <= kid <= MAX_KID:
        raise LocalProtocolError(f"KID {kid} out of range 0..2^64-1")
    return kid.to_bytes(8, "big") + suite.id.to_bytes(2, "big")


def key_label(suite: SFrameCipherSuite, kid: int) -> bytes:
    return KEY_LABEL + _kid_and_suite(suite, kid)


def salt_label(suite: SFrameCipherSuite, kid: int) -> bytes:
    return SALT_LABEL + _kid_and_suite(suite, kid)


def sframe_secret(suite: SFrameCipherSuite, base_key: bytes) -> Secret:
    return Secret(suite.hash.extract(b"", bytes(base_key)))


def derive_key_salt(suite: SFrameCipherSuite, kid: int, base_key: bytes) -> FrameKeyMaterial:
    """``derive_key_salt(KID, base_key)`` of RFC 9605 section 4.4.2."""
    if not base_key:
        raise LocalProtocolError("SFrame base_key must not be empty")
    secret = sframe_secret(suite, base_key).reveal()
    key = suite.hash.expand(secret, key_label(suite, kid), suite.key_size)
    salt = suite.hash.expand(secret, salt_label(suite, kid), suite.nonce_size)
    return FrameKeyMaterial(Secret(key), salt)


def frame_nonce(salt: bytes, counter: int) -> bytes:
    """``nonce = xor(sframe_salt, encode_big_endian(CTR, AEAD.Nn))`` (section 4.4.3).

    The send and receive paths compute the same expression inline, on the salt held as an integer.
    """
    return (int.from_bytes(salt, "big") ^ counter).to_bytes(len(salt), "big")
