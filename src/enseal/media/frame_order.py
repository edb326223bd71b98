"""Frame numbering shared by the encoders (assign numbers) and decoders (refuse stale frames).

Frame numbers are the uint32 ``frame_number`` of :class:`~enseal.media.frames.EncodedFrame`:
each stream counts from 0 and a number is never reused, so a stream that would need frame
number 2**32 must be restarted under a new stream id (the encoder raises
:class:`~enseal.errors.LimitExceeded` instead of wrapping).
"""

from __future__ import annotations

from enseal.errors import LimitExceeded, LocalProtocolError
from enseal.media.errors import OutOfOrderFrameError
from enseal.media.frames import EncodedFrame, MediaKind
from enseal.types import UINT32_MAX


class FrameNumbering:
    """Hands out 0, 1, 2, ... and refuses to wrap."""

    __slots__ = ("_next",)

    def __init__(self) -> None:
        self._next = 0

    def take(self) -> int:
        if self._next > UINT32_MAX:
            raise LimitExceeded("stream used all 2**32 frame numbers; start a new stream id")
        number = self._next
        self._next += 1
        return number


class DecoderInputCheck:
    """What every decoder checks before it lets a frame near the codec.

    The frame must be of the decoder's kind (else the caller routed it wrongly) and newer than
    the last frame accepted (else it is a replay or reordering the jitter buffer should have
    removed). ``gap_before`` says whether frames were skipped since the last accepted one.
    """

    __slots__ = ("_kind", "_last")

    def __init__(self, kind: MediaKind) -> None:
        self._kind = kind
        self._last: int | None = None

    def check(self, frame: EncodedFrame) -> None:
        if frame.kind is not self._kind:
            raise LocalProtocolError(f"a {self._kind.name} decoder was given a {frame.kind.name} frame")
        if self._last is not None and frame.frame_number <= self._last:
            raise OutOfOrderFrameError(
                "frame is not newer than the last decoded frame",
                f"frame {frame.frame_number} after {self._last}",
            )

    def gap_before(self, frame: EncodedFrame) -> bool:
        return self._last is not None and frame.frame_number != self._last + 1

    def accept(self, frame: EncodedFrame) -> None:
        self._last = frame.frame_number
