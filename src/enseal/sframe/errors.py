"""Errors of the SFrame core (RFC 9605), as subclasses of the one tree in :mod:`enseal.errors`.

Receiving raises exactly one of these per refused frame, so a caller can tell apart a frame it may
retry once keys arrive (:class:`UnknownKeyIdError`, RFC 9605 section 4.4.4: "the client MAY buffer
the ciphertext and retry decryption once a key with that KID is received") from one it must drop
(every other error: "If a ciphertext fails to decrypt for any other reason, the client MUST discard
the ciphertext").
"""

from __future__ import annotations

from enseal.errors import (
    AuthenticationError,
    DecodeError,
    LimitExceeded,
    ReplayError,
    ValidationError,
)


class SFrameDecodeError(DecodeError):
    """An SFrame header is truncated or not minimally encoded (RFC 9605 section 4.3)."""


class UnsupportedSFrameCipherSuite(ValidationError):
    """A cipher suite value that is not in the SFrame registry (or not implemented here)."""


class UnknownKeyIdError(ValidationError):
    """No receive key is known for the frame's KID; ``kid`` names it."""

    def __init__(self, kid: int, detail: str | None = None) -> None:
        self.kid = kid
        super().__init__("no receive key for the frame's KID (RFC 9605 section 4.4.4)",
                         f"KID 0x{kid:x}" if detail is None else f"KID 0x{kid:x}: {detail}")


class ExpiredKeyIdError(UnknownKeyIdError):
    """The KID belongs to an MLS epoch whose keys were deleted after the grace window: drop it."""


class FrameAuthenticationError(AuthenticationError):
    """The frame's tag did not verify: it was altered, forged, or sealed under another key."""


class FrameReplayError(ReplayError):
    """A frame with this KID and CTR was already accepted."""


class FrameTooOldError(ReplayError):
    """The frame's CTR is below the replay window, so it cannot be told apart from a replay."""


class CounterExhaustedError(LimitExceeded):
    """The send key has used every CTR value (2^64); a new key is needed, CTR never wraps."""


class ReceiveKeyLimitError(LimitExceeded):
    """A receiver already holds its named maximum number of keys."""
