"""Binary values in JSON bodies: unpadded base64url (RFC 4648 section 5) strings with a bounded
decoded size. Models declare them with the aliases below; the OpenAPI schema shows the pattern
and the maximum length so that clients and fuzzers see the rule.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any, Final

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

B64URL_PATTERN: Final = r"^[A-Za-z0-9_-]*$"


def encode_b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def decode_b64url(text: str) -> bytes:
    """Decode unpadded base64url; ``ValueError`` (pydantic reports it) for anything else."""
    if len(text) % 4 == 1 or not all(c.isascii() and (c.isalnum() or c in "-_") for c in text):
        raise ValueError("not unpadded base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not unpadded base64url") from exc


def _decoder(max_bytes: int, min_bytes: int) -> Any:
    def decode(value: object) -> bytes:
        if isinstance(value, bytes):
            data = value
        elif isinstance(value, str):
            data = decode_b64url(value)
        else:
            raise ValueError("must be a base64url string")
        if not min_bytes <= len(data) <= max_bytes:
            raise ValueError(f"must decode to {min_bytes}-{max_bytes} bytes, got {len(data)}")
        return data

    return BeforeValidator(decode)


def _schema(max_bytes: int, min_bytes: int) -> Any:
    return WithJsonSchema(
        {
            "type": "string",
            "contentEncoding": "base64url",
            "pattern": B64URL_PATTERN,
            "minLength": (min_bytes * 4 + 2) // 3,
            "maxLength": (max_bytes * 4 + 2) // 3,
        }
    )


_SERIALISE: Final = PlainSerializer(encode_b64url, return_type=str, when_used="always")

PublicKeyB64 = Annotated[bytes, _decoder(133, 32), _SERIALISE, _schema(133, 32)]
"""A signature public key (Ed25519 32 bytes .. P-521 uncompressed 133 bytes)."""
SignatureB64 = Annotated[bytes, _decoder(144, 64), _SERIALISE, _schema(144, 64)]
"""A signature (Ed25519 64 bytes .. DER ECDSA P-521 up to 139 bytes, Ed448 114)."""
NonceB64 = Annotated[bytes, _decoder(32, 32), _SERIALISE, _schema(32, 32)]
KeyPackageB64 = Annotated[bytes, _decoder(16384, 1), _SERIALISE, _schema(16384, 1)]
"""A serialized MLSMessage carrying a KeyPackage (bounded at 16 KiB)."""
CredentialB64 = Annotated[bytes, _decoder(1024, 1), _SERIALISE, _schema(1024, 1)]

MAX_HANDSHAKE_BYTES: Final = 768 * 1024
"""Largest MLS handshake message, GroupInfo or Welcome (a ratchet tree of about 2,000 members);
three of them in base64 fit one request body."""
MAX_APPLICATION_MESSAGE_BYTES: Final = 256 * 1024
"""Largest MLS application message (a PrivateMessage)."""

HandshakeB64 = Annotated[bytes, _decoder(MAX_HANDSHAKE_BYTES, 1), _SERIALISE, _schema(MAX_HANDSHAKE_BYTES, 1)]
"""An MLSMessage carrying a PublicMessage, GroupInfo or Welcome."""
ApplicationMessageB64 = Annotated[
    bytes, _decoder(MAX_APPLICATION_MESSAGE_BYTES, 1), _SERIALISE, _schema(MAX_APPLICATION_MESSAGE_BYTES, 1)
]
"""An MLSMessage carrying a PrivateMessage of application data."""
