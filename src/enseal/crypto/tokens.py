"""Bearer tokens, one-time codes and their at-rest digests.

A token or code is random (from a :data:`~enseal.crypto.randomness.RandomSource`), handed to its
holder once, and stored only as a digest: SHA-256 over a label naming its kind and the token.
Because every token carries at least 100 bits of entropy, a plain hash is as strong as a slow
password hash here and lets the server look a token up by its digest (decision record 0503).
"""

from __future__ import annotations

import base64
from typing import Final

from enseal.crypto.hashing import HashAlgorithm
from enseal.crypto.randomness import RandomSource
from enseal.crypto.secret import Secret

TOKEN_BYTES: Final = 32
"""Random bytes in a bearer token (256 bits)."""

ENROLLMENT_CODE_LENGTH: Final = 20
"""Characters of an enrollment code (Crockford base32: 100 bits)."""

_CROCKFORD: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_CROCKFORD_ALIASES: Final = str.maketrans({"O": "0", "I": "1", "L": "1"})
_DIGEST_LABEL: Final = b"enseal token digest v1\x00"


class BearerToken(Secret):
    """A bearer token (ASCII). ``text()`` is the one way to get it as a string."""

    __slots__ = ()

    def text(self) -> str:
        return self.reveal().decode("ascii")


def new_bearer_token(prefix: str, random_bytes: RandomSource) -> BearerToken:
    """``<prefix>_<43 base64url characters>``; the prefix says what the token is for."""
    body = base64.urlsafe_b64encode(random_bytes(TOKEN_BYTES)).rstrip(b"=")
    return BearerToken(prefix.encode("ascii") + b"_" + body)


def new_enrollment_code(random_bytes: RandomSource) -> BearerToken:
    """A human-typable one-time code, ``XXXXX-XXXXX-XXXXX-XXXXX`` (Crockford base32)."""
    value = int.from_bytes(random_bytes((ENROLLMENT_CODE_LENGTH * 5 + 7) // 8), "big")
    chars = [_CROCKFORD[(value >> (5 * i)) & 31] for i in range(ENROLLMENT_CODE_LENGTH)]
    groups = ["".join(chars[i : i + 5]) for i in range(0, ENROLLMENT_CODE_LENGTH, 5)]
    return BearerToken("-".join(groups).encode("ascii"))


def normalise_enrollment_code(text: str) -> str:
    """Upper case, without separators, with the Crockford look-alikes (O, I, L) mapped."""
    return "".join(ch for ch in text.upper() if ch not in "- ").translate(_CROCKFORD_ALIASES)


def token_digest(kind: str, token: str) -> bytes:
    """The digest under which a token of ``kind`` is stored and looked up."""
    return HashAlgorithm.SHA256.digest(_DIGEST_LABEL + kind.encode("ascii") + b"\x00" + token.encode("utf-8"))
