"""Splits protected frames of one stream into media datagrams (format in
:mod:`enseal.media.datagram`).

A frame of ``n`` bytes becomes ``k = ceil(n / (mtu - HEADER_SIZE))`` datagrams whose fragments
differ in size by at most one byte, so no datagram is a tiny tail. Every datagram is at most
``mtu`` bytes. Sequence numbers count datagrams of the stream from 0; frame numbers are the
encoder's and must increase from frame to frame.
"""

from __future__ import annotations

from enseal.errors import LimitExceeded, LocalProtocolError
from enseal.media.datagram import HEADER_SIZE, MAX_DATAGRAM_SIZE, MAX_FRAGMENTS, Datagram, encode_datagram
from enseal.media.frames import EncodedFrame, MediaKind, check_stream_id
from enseal.types import UINT32_MAX

DEFAULT_MTU = 1_200
"""Default largest datagram: fits the IPv6 minimum MTU (1280) with UDP/IP headers to spare,
and is the size QUIC and WebRTC assume is safe on the Internet."""

MIN_MTU = HEADER_SIZE + 32
"""Smallest MTU the packetiser accepts (a header and 32 bytes of fragment)."""


class Packetiser:
    """Turns the frames of one ``(kind, stream_id)`` stream into datagrams of at most ``mtu`` bytes."""

    def __init__(self, *, kind: MediaKind, stream_id: int, mtu: int = DEFAULT_MTU) -> None:
        if not MIN_MTU <= mtu <= MAX_DATAGRAM_SIZE:
            raise LocalProtocolError(f"MTU must be in [{MIN_MTU}, {MAX_DATAGRAM_SIZE}], got {mtu}")
        check_stream_id(stream_id)
        self._kind = kind
        self._stream_id = stream_id
        self._capacity = mtu - HEADER_SIZE
        self._next_sequence = 0
        self._last_frame_number: int | None = None

    @property
    def max_frame_size(self) -> int:
        """Largest protected frame this packetiser can carry."""
        return self._capacity * MAX_FRAGMENTS

    def packetise(self, frame: EncodedFrame, protected: bytes) -> list[bytes]:
        """The datagrams carrying ``protected`` (the frame's SFrame ciphertext) with the
        metadata of ``frame`` (its ``payload`` is not used)."""
        if (frame.kind, frame.stream_id) != (self._kind, self._stream_id):
            raise LocalProtocolError(
                f"packetiser is for {self._kind.name} stream {self._stream_id}, frame is for "
                f"{frame.kind.name} stream {frame.stream_id}"
            )
        if self._last_frame_number is not None and frame.frame_number <= self._last_frame_number:
            raise LocalProtocolError(
                f"frame numbers must increase: {frame.frame_number} after {self._last_frame_number}"
            )
        if not 0 < len(protected) <= self.max_frame_size:
            raise LocalProtocolError(
                f"a protected frame is 1 to {self.max_frame_size} bytes at this MTU, got {len(protected)}"
            )
        count = -(-len(protected) // self._capacity)
        if self._next_sequence + count - 1 > UINT32_MAX:
            raise LimitExceeded("stream used all 2**32 datagram sequence numbers; start a new stream id")
        base, extra = divmod(len(protected), count)
        datagrams = []
        offset = 0
        for index in range(count):
            size = base + (1 if index < extra else 0)
            datagrams.append(
                encode_datagram(
                    Datagram(
                        kind=frame.kind,
                        keyframe=frame.keyframe,
                        stream_id=frame.stream_id,
                        sequence=self._next_sequence + index,
                        frame_number=frame.frame_number,
                        timestamp=frame.timestamp,
                        duration=frame.duration,
                        fragment_index=index,
                        fragment_count=count,
                        fragment=protected[offset : offset + size],
                    )
                )
            )
            offset += size
        self._next_sequence += count
        self._last_frame_number = frame.frame_number
        return datagrams
