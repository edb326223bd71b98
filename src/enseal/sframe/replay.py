"""Receive-side anti-replay for one SFrame key (RFC 9605 section 9.3, after RFC 3711 section 3.3.2).

RFC 9605 leaves anti-replay to the application ("Receivers MAY apply time- or counter-based
anti-replay mitigations"); Enseal applies a counter-based window of :data:`REPLAY_WINDOW` CTR values
per key. A CTR is accepted once: if it is above every CTR seen so far, or within the window below
the highest and not yet seen. Below the window it is refused as too old, because it can no longer be
told apart from a replay.

The window is kept as the highest CTR accepted (``top``) plus the set of CTRs inside the window that
were skipped over (``missing``), so the common case, the next CTR in order, only moves ``top``.
The receiver inlines that case; the rest lives here. Only authenticated frames update the window.
"""

from __future__ import annotations

from typing import Final

from enseal.errors import LocalProtocolError
from enseal.sframe.errors import FrameReplayError, FrameTooOldError

REPLAY_WINDOW: Final = 1024
"""CTR values below the highest accepted one that may still arrive (reordering tolerance)."""


class ReplayWindow:
    """Which CTRs of one key were accepted, within the last ``size`` values."""

    __slots__ = ("missing", "size", "top")

    def __init__(self, size: int = REPLAY_WINDOW) -> None:
        if size < 1:
            raise LocalProtocolError(f"replay window must hold at least one CTR, got {size}")
        self.size = size
        self.top = -1
        """Highest CTR accepted so far (-1: none)."""
        self.missing: set[int] = set()
        """CTRs in (top - size, top) not accepted yet."""

    def check(self, counter: int) -> None:
        """Raise unless a frame with ``counter`` may be accepted."""
        if counter > self.top:
            return
        if counter <= self.top - self.size:
            raise FrameTooOldError(
                "frame CTR below the replay window", f"CTR {counter}, highest {self.top}, window {self.size}"
            )
        if counter not in self.missing:
            raise FrameReplayError("frame CTR already received", f"CTR {counter}")

    def accept(self, counter: int) -> None:
        """Record ``counter`` as received; call only after :meth:`check` passed and the frame authenticated."""
        top = self.top
        if counter > top:
            floor = counter - self.size
            if counter > top + 1:
                self.missing.update(range(max(top + 1, floor + 1), counter))
            self.top = counter
            if len(self.missing) >= self.size:  # drop what fell out of the window; amortised O(1)
                self.missing = {c for c in self.missing if c > floor}
        else:
            self.missing.discard(counter)
