"""The depacketiser (jitter buffer) of one media stream: datagrams in, whole frames out in order.

Input is decoded :class:`~enseal.media.datagram.Datagram` s of one ``(kind, stream_id)``
stream (the caller routes by those two fields) and the current time ``now`` in seconds from a
monotonic clock. Output is a list of events:

* :class:`FrameReady` -- a complete frame, its payload the fragments joined in index order.
  Frames come out in strictly increasing frame-number order, each at most once.
* :class:`FramesLost` -- a run of frame numbers that will never come out (missing or
  incomplete when given up).

Rules, each with a named bound:

* Reordering: a datagram may arrive up to ``reorder_window`` frames
  (:data:`DEFAULT_REORDER_WINDOW`) ahead of the oldest frame still awaited. A datagram further
  ahead forces the buffer forward: older frames come out if complete and are lost otherwise.
* Waiting: the oldest awaited frame is given up ``max_hold`` seconds (:data:`DEFAULT_MAX_HOLD`)
  after its first fragment arrived or, if none did, after a later frame showed it was missing.
  Call :meth:`Depacketiser.poll` at :meth:`Depacketiser.next_deadline` to apply this without
  waiting for the next datagram.
* Late and duplicate datagrams (a frame already released, a fragment already held) are dropped
  and counted.
* Memory: fragments held never exceed ``max_buffered_bytes`` (:data:`DEFAULT_MAX_BUFFERED_BYTES`);
  a datagram that would exceed it is dropped and counted. Together with the window this bounds
  the state however hostile the input.
* Consistency: every fragment of a frame must agree on fragment count, keyframe flag,
  timestamp and duration, else :class:`InconsistentFragmentError` (the datagram is dropped, the
  state is unchanged).

The first datagram fixes the first awaited frame unless ``first_frame_number`` is given, so a
receiver that joins a stream late starts where it joined. A sender that restarts its frame
numbering must use a new stream id: frames below the awaited one are late forever.
Decision record: docs/decisions/0102-media-jitter-buffer.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from enseal.errors import LocalProtocolError
from enseal.media.datagram import Datagram
from enseal.media.errors import InconsistentFragmentError
from enseal.media.frames import EncodedFrame, MediaKind, check_stream_id
from enseal.types import UINT32_MAX

DEFAULT_REORDER_WINDOW = 32
"""Frames a datagram may run ahead of the oldest awaited frame (640 ms of audio, 2 s of video
at 15 fps) before older frames are given up."""

MAX_REORDER_WINDOW = 1_024

DEFAULT_MAX_HOLD = 0.2
"""Seconds the buffer waits for a missing or incomplete frame before giving it up: long
enough for reordering on real paths, short enough for a conversation."""

MAX_MAX_HOLD = 10.0

DEFAULT_MAX_BUFFERED_BYTES = 4 * 1024 * 1024
"""Bytes of fragments one stream's buffer may hold."""

MAX_MAX_BUFFERED_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True, kw_only=True)
class FrameReady:
    """A frame was reassembled; ``frame.payload`` is the protected (SFrame) frame."""

    frame: EncodedFrame


@dataclass(frozen=True, slots=True, kw_only=True)
class FramesLost:
    """Frames ``first_frame_number`` .. ``first_frame_number + count - 1`` will never come out."""

    first_frame_number: int
    count: int


DepacketiserEvent = FrameReady | FramesLost


@dataclass(frozen=True, slots=True, kw_only=True)
class DepacketiserStats:
    """Counters since the buffer was created."""

    datagrams_accepted: int
    duplicates: int
    late: int
    over_memory_bound: int
    frames_ready: int
    frames_lost: int


class _Assembly:
    """Fragments of one frame received so far (``first`` is None for a known-missing frame)."""

    __slots__ = ("first", "first_seen", "fragments", "size")

    def __init__(self, first_seen: float) -> None:
        self.first_seen = first_seen
        self.first: Datagram | None = None
        self.fragments: dict[int, bytes] = {}
        self.size = 0

    def complete(self) -> bool:
        return self.first is not None and len(self.fragments) == self.first.fragment_count

    def frame(self) -> EncodedFrame:
        first = self.first
        assert first is not None
        return EncodedFrame(
            kind=first.kind,
            stream_id=first.stream_id,
            frame_number=first.frame_number,
            timestamp=first.timestamp,
            duration=first.duration,
            keyframe=first.keyframe,
            payload=b"".join(self.fragments[i] for i in range(first.fragment_count)),
        )


def _check_agrees(first: Datagram, other: Datagram) -> None:
    for name in ("fragment_count", "keyframe", "timestamp", "duration"):
        if getattr(first, name) != getattr(other, name):
            raise InconsistentFragmentError(
                "fragments of one frame disagree",
                f"frame {first.frame_number}: {name} {getattr(first, name)} vs {getattr(other, name)}",
            )


def _check_now(now: float) -> None:
    if not math.isfinite(now):
        raise LocalProtocolError(f"now must be a finite time in seconds, got {now}")


class Depacketiser:
    """Reassembles, orders and bounds the frames of one ``(kind, stream_id)`` stream."""

    def __init__(
        self,
        *,
        kind: MediaKind,
        stream_id: int,
        reorder_window: int = DEFAULT_REORDER_WINDOW,
        max_hold: float = DEFAULT_MAX_HOLD,
        max_buffered_bytes: int = DEFAULT_MAX_BUFFERED_BYTES,
        first_frame_number: int | None = None,
    ) -> None:
        if not 1 <= reorder_window <= MAX_REORDER_WINDOW:
            raise LocalProtocolError(f"reorder window must be in [1, {MAX_REORDER_WINDOW}] frames")
        if not 0 < max_hold <= MAX_MAX_HOLD:
            raise LocalProtocolError(f"max hold must be in (0, {MAX_MAX_HOLD}] seconds")
        if not 1 <= max_buffered_bytes <= MAX_MAX_BUFFERED_BYTES:
            raise LocalProtocolError(f"max buffered bytes must be in [1, {MAX_MAX_BUFFERED_BYTES}]")
        check_stream_id(stream_id)
        if first_frame_number is not None and not 0 <= first_frame_number <= UINT32_MAX:
            raise LocalProtocolError(f"first frame number must be a uint32, got {first_frame_number}")
        self._kind = kind
        self._stream_id = stream_id
        self._window = reorder_window
        self._max_hold = max_hold
        self._max_bytes = max_buffered_bytes
        # Invariant: the keys of _pending are exactly head .. highest (none if empty).
        self._head: int | None = first_frame_number
        self._highest: int | None = None
        self._pending: dict[int, _Assembly] = {}
        self._buffered = 0
        self._accepted = self._duplicates = self._late = self._over_memory = 0
        self._ready = self._lost = 0

    @property
    def stats(self) -> DepacketiserStats:
        return DepacketiserStats(
            datagrams_accepted=self._accepted,
            duplicates=self._duplicates,
            late=self._late,
            over_memory_bound=self._over_memory,
            frames_ready=self._ready,
            frames_lost=self._lost,
        )

    @property
    def held_frames(self) -> int:
        """Frames currently awaited or held (never more than ``reorder_window``)."""
        return len(self._pending)

    @property
    def buffered_bytes(self) -> int:
        """Bytes of fragments currently held (never above ``max_buffered_bytes``)."""
        return self._buffered

    def next_deadline(self) -> float | None:
        """When :meth:`poll` would next give up a frame (None: nothing is being waited for)."""
        if self._head is None or self._head not in self._pending:
            return None
        return self._pending[self._head].first_seen + self._max_hold

    def push(self, datagram: Datagram, now: float) -> list[DepacketiserEvent]:
        """Take one datagram of this stream; returns the frames it completed or gave up."""
        _check_now(now)
        if (datagram.kind, datagram.stream_id) != (self._kind, self._stream_id):
            raise LocalProtocolError(
                f"depacketiser is for {self._kind.name} stream {self._stream_id}, datagram is for "
                f"{datagram.kind.name} stream {datagram.stream_id}"
            )
        number = datagram.frame_number
        held = self._pending.get(number)
        if held is not None and held.first is not None:
            _check_agrees(held.first, datagram)  # before any change, so a refusal changes nothing
        events: list[DepacketiserEvent] = []
        if self._head is None:
            self._head = number
        if number < self._head:
            self._late += 1
            return self._release(now, events)
        if number >= self._head + self._window:
            self._give_up_below(number - self._window + 1, events)
        if held is not None and datagram.fragment_index in held.fragments:
            self._duplicates += 1
            return self._release(now, events)
        if self._buffered + len(datagram.fragment) > self._max_bytes:
            self._over_memory += 1
            return self._release(now, events)
        if self._highest is None or number > self._highest:
            # Frames between the highest seen and this one are now known to be missing.
            start = self._head if self._highest is None else max(self._highest + 1, self._head)
            for missing in range(start, number):
                self._pending[missing] = _Assembly(now)
            self._highest = number
        assembly = self._pending.setdefault(number, _Assembly(now))
        if assembly.first is None:
            assembly.first = datagram
        assembly.fragments[datagram.fragment_index] = datagram.fragment
        assembly.size += len(datagram.fragment)
        self._buffered += len(datagram.fragment)
        self._accepted += 1
        return self._release(now, events)

    def poll(self, now: float) -> list[DepacketiserEvent]:
        """Give up frames whose wait is over (and release the complete frames behind them)."""
        _check_now(now)
        return self._release(now, [])

    def flush(self) -> list[DepacketiserEvent]:
        """End of stream: release every complete frame held and give up the rest."""
        events: list[DepacketiserEvent] = []
        if self._highest is not None:
            self._give_up_below(self._highest + 1, events)
        return events

    # -- internals -----------------------------------------------------------------------

    def _emit(self, number: int, events: list[DepacketiserEvent]) -> None:
        """Take frame ``number`` (the head) out of the buffer as ready or lost."""
        assembly = self._pending.pop(number, None)
        if assembly is not None and assembly.complete():
            self._buffered -= assembly.size
            self._ready += 1
            events.append(FrameReady(frame=assembly.frame()))
            return
        if assembly is not None:
            self._buffered -= assembly.size
        self._lose(number, 1, events)

    def _lose(self, first: int, count: int, events: list[DepacketiserEvent]) -> None:
        self._lost += count
        last = events[-1] if events else None
        if isinstance(last, FramesLost) and last.first_frame_number + last.count == first:
            events[-1] = FramesLost(first_frame_number=last.first_frame_number, count=last.count + count)
        else:
            events.append(FramesLost(first_frame_number=first, count=count))

    def _give_up_below(self, new_head: int, events: list[DepacketiserEvent]) -> None:
        """Move the head to ``new_head``: held frames below it come out, the rest are lost."""
        assert self._head is not None
        held_end = self._head if self._highest is None else min(new_head, self._highest + 1)
        for number in range(self._head, held_end):
            self._emit(number, events)
        unseen_start = max(self._head, held_end)
        if new_head > unseen_start:
            self._lose(unseen_start, new_head - unseen_start, events)
        self._head = new_head
        if self._highest is not None and self._highest < new_head:
            self._highest = None

    def _release(self, now: float, events: list[DepacketiserEvent]) -> list[DepacketiserEvent]:
        """Emit the head while it is complete or its wait is over."""
        while self._head is not None and self._head in self._pending:
            assembly = self._pending[self._head]
            if not assembly.complete() and now < assembly.first_seen + self._max_hold:
                break
            self._emit(self._head, events)
            self._head += 1
        if self._highest is not None and self._head is not None and self._highest < self._head:
            self._highest = None
        return events
