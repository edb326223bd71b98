"""The safety number of a pair of users, from their user ids and identity keys.

Each user has a 30-digit half (six groups of five) from an iterated hash of their own user id and
identity key; the safety number is the two halves in ascending order, so both users see the same 60
digits whoever computes it. It changes only when one of the two identity keys (or ids) changes.

Construction (docs/security-codes.md)::

    h_user = fingerprint("Enseal 1.0 safety number", [identity_key, utf8(user_id)], remix=identity_key)
    half   = six 5-digit groups from h_user[0:30]
    number = min(half_a, half_b) || max(half_a, half_b)                (60 digits, groups of 5)
    QR     = 0x01 (version) || 0x02 (safety number) || h_first[0:32] || h_second[0:32]
             (first/second in the same order as the halves)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from enseal.crypto.secret import constant_time_equal
from enseal.errors import LocalProtocolError
from enseal.verification.errors import MalformedVerificationPayload, SecurityCodeMismatch
from enseal.verification.fingerprint import QR_FINGERPRINT_SIZE, digit_groups, fingerprint
from enseal.verification.security_code import SecurityCode

SAFETY_NUMBER_LABEL: Final = b"Enseal 1.0 safety number"
HALF_GROUPS: Final = 6
SAFETY_NUMBER_GROUP_SIZE: Final = 5
QR_VERSION: Final = 0x01
QR_KIND_SAFETY_NUMBER: Final = 0x02
_QR_SIZE: Final = 2 + 2 * QR_FINGERPRINT_SIZE


@dataclass(frozen=True, slots=True, kw_only=True)
class UserIdentity:
    """A user as a safety number binds them: the stable user id and the identity public key."""

    user_id: str
    identity_key: bytes


def _half(user: UserIdentity) -> tuple[str, bytes]:
    if not user.user_id or not user.identity_key:
        raise LocalProtocolError("a safety number needs a user id and an identity key")
    digest = fingerprint(SAFETY_NUMBER_LABEL, [user.identity_key, user.user_id.encode()], remix=user.identity_key)
    return digit_groups(digest, HALF_GROUPS, SAFETY_NUMBER_GROUP_SIZE), digest[:QR_FINGERPRINT_SIZE]


def _ordered(a: UserIdentity, b: UserIdentity) -> tuple[tuple[str, bytes], tuple[str, bytes]]:
    first, second = sorted((_half(a), _half(b)))
    return first, second


def safety_number(a: UserIdentity, b: UserIdentity) -> SecurityCode:
    """The 60-digit safety number of ``a`` and ``b`` (the same for ``b`` and ``a``)."""
    first, second = _ordered(a, b)
    return SecurityCode(digits=first[0] + second[0], group_size=SAFETY_NUMBER_GROUP_SIZE)


def safety_number_qr_payload(a: UserIdentity, b: UserIdentity) -> bytes:
    first, second = _ordered(a, b)
    return bytes((QR_VERSION, QR_KIND_SAFETY_NUMBER)) + first[1] + second[1]


def verify_safety_number_qr(payload: bytes, a: UserIdentity, b: UserIdentity) -> None:
    """Check a scanned safety-number QR payload against the keys this device has for ``a`` and ``b``.

    Raises :class:`MalformedVerificationPayload` or :class:`SecurityCodeMismatch`.
    """
    if len(payload) != _QR_SIZE or payload[0] != QR_VERSION or payload[1] != QR_KIND_SAFETY_NUMBER:
        raise MalformedVerificationPayload("not an Enseal safety number payload", f"{len(payload)} bytes")
    if not constant_time_equal(payload, safety_number_qr_payload(a, b)):
        raise SecurityCodeMismatch("safety number does not match the identity keys this device has")
