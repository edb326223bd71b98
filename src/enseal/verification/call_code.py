"""The security code of a call or meeting, from the MLS epoch authenticator (RFC 9420 section 8.7).

Every member at the same epoch holds the same ``epoch_authenticator``, so every screen shows the
same 20 digits (five groups of four); an attacker in the middle of any member ends up in an epoch
with a different authenticator, hence a different code. The code changes only when the epoch
authenticator does, i.e. on every commit (membership or key change).

Construction (docs/security-codes.md)::

    h      = fingerprint("Enseal 1.0 call security code", [epoch_authenticator], remix=epoch_authenticator)
    digits = five 4-digit groups from h[0:25]
    QR     = 0x01 (version) || 0x01 (call code) || uint64(epoch) || h[0:32]
"""

from __future__ import annotations

from typing import Final

from enseal.crypto.secret import constant_time_equal
from enseal.errors import LocalProtocolError
from enseal.types import UINT64_MAX
from enseal.verification.errors import (
    MalformedVerificationPayload,
    SecurityCodeEpochMismatch,
    SecurityCodeMismatch,
)
from enseal.verification.fingerprint import QR_FINGERPRINT_SIZE, digit_groups, fingerprint
from enseal.verification.security_code import SecurityCode

CALL_CODE_LABEL: Final = b"Enseal 1.0 call security code"
CALL_CODE_GROUPS: Final = 5
CALL_CODE_GROUP_SIZE: Final = 4
QR_VERSION: Final = 0x01
QR_KIND_CALL_CODE: Final = 0x01
_QR_SIZE: Final = 2 + 8 + QR_FINGERPRINT_SIZE


def _fingerprint(epoch_authenticator: bytes) -> bytes:
    if not epoch_authenticator:
        raise LocalProtocolError("epoch authenticator must not be empty")
    return fingerprint(CALL_CODE_LABEL, [epoch_authenticator], remix=epoch_authenticator)


def call_security_code(epoch_authenticator: bytes) -> SecurityCode:
    """The 20-digit code shown for a call or meeting at the epoch with this authenticator."""
    digest = _fingerprint(epoch_authenticator)
    return SecurityCode(digits=digit_groups(digest, CALL_CODE_GROUPS, CALL_CODE_GROUP_SIZE),
                        group_size=CALL_CODE_GROUP_SIZE)


def call_code_qr_payload(epoch_authenticator: bytes, epoch: int) -> bytes:
    """What this device's QR code carries for the call or meeting at ``epoch``."""
    if not 0 <= epoch <= UINT64_MAX:
        raise LocalProtocolError(f"epoch {epoch} out of range")
    digest = _fingerprint(epoch_authenticator)
    return bytes((QR_VERSION, QR_KIND_CALL_CODE)) + epoch.to_bytes(8, "big") + digest[:QR_FINGERPRINT_SIZE]


def verify_call_code_qr(payload: bytes, *, epoch_authenticator: bytes, epoch: int) -> None:
    """Check a QR payload scanned from another member's screen against this device's epoch.

    Raises :class:`MalformedVerificationPayload`, :class:`SecurityCodeEpochMismatch` (the devices
    are at different epochs: retry) or :class:`SecurityCodeMismatch` (same epoch, different
    authenticator: not the same group).
    """
    if len(payload) != _QR_SIZE or payload[0] != QR_VERSION or payload[1] != QR_KIND_CALL_CODE:
        raise MalformedVerificationPayload("not an Enseal call security code payload", f"{len(payload)} bytes")
    scanned_epoch = int.from_bytes(payload[2:10], "big")
    if scanned_epoch != epoch:
        raise SecurityCodeEpochMismatch(scanned_epoch=scanned_epoch, local_epoch=epoch)
    expected = _fingerprint(epoch_authenticator)[:QR_FINGERPRINT_SIZE]
    if not constant_time_equal(payload[10:], expected):
        raise SecurityCodeMismatch("call security code does not match this device's")
