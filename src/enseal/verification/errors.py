"""Errors of security-code verification, as subclasses of the one tree in :mod:`enseal.errors`."""

from __future__ import annotations

from enseal.errors import CryptoError, DecodeError, ValidationError


class MalformedVerificationPayload(DecodeError):
    """A scanned QR payload is not a security-code payload Enseal understands."""


class SecurityCodeMismatch(CryptoError):
    """The other device computed a different code: someone in between, or a different group/key."""


class SecurityCodeEpochMismatch(ValidationError):
    """The scanned code belongs to another MLS epoch: compare again once both devices are on the same one."""

    def __init__(self, *, scanned_epoch: int, local_epoch: int) -> None:
        self.scanned_epoch = scanned_epoch
        self.local_epoch = local_epoch
        super().__init__(
            "security code is for another epoch", f"scanned epoch {scanned_epoch}, this device is at {local_epoch}"
        )
