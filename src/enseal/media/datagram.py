"""The media datagram format (version 1) and the SFrame metadata that binds a frame's fields.

A protected frame (SFrame ciphertext, RFC 9605 section 4.2) is split into fragments, each sent
as one datagram: a fixed :data:`HEADER_SIZE`-byte header, then the fragment's bytes. All
integers are big-endian::

    offset size field
     0      1   version         = 1 (DATAGRAM_VERSION); anything else is refused
     1      1   kind            1 = audio, 2 = video (MediaKind)
     2      1   flags           bit 0 (0x01): keyframe; the other bits MUST be zero
     3      4   stream_id       the sender's stream (like an RTP SSRC)
     7      4   sequence        datagram counter of the stream, +1 per datagram, from 0
    11      4   frame_number    frame counter of the stream, +1 per frame, from 0
    15      8   timestamp       media clock (48 kHz audio, 90 kHz video) of the frame
    23      4   duration        the frame's length in the same clock
    27      2   fragment_index  0 .. fragment_count - 1
    29      2   fragment_count  1 .. MAX_FRAGMENTS
    31      -   fragment        1 .. MAX_DATAGRAM_SIZE - HEADER_SIZE bytes

Binding the header to the frame (SFrame metadata)
-------------------------------------------------
The relay (or anyone on the path) can rewrite these headers: it could move a frame to another
stream, relabel audio as video, replay an old frame under a new frame number, shift its
timestamp or flip its keyframe flag. SFrame authenticates "metadata" supplied by the
application together with the frame (RFC 9605 section 4.4.3: ``aad = header + metadata``;
section 9.4). :func:`sframe_metadata` returns the bytes to pass there: a domain label, then
version, kind, flags, stream id, frame number, timestamp and duration exactly as the header
carries them. The sender computes it from the :class:`EncodedFrame` it encrypts; the receiver
computes it from the reassembled frame (whose fields come from the headers). Any change the
relay makes to a frame-level field makes SFrame decryption fail. Because the frame number is
bound, and the jitter buffer never emits a frame number twice, a replayed frame is dropped
(the counter-based anti-replay RFC 9605 section 9.3 allows receivers to add).

RFC 9605 section 9.4: "A receiver MUST NOT use SFrame-authenticated metadata until after the
SFrame decrypt function has authenticated it, unless the purpose of such usage is to prepare
an SFrame ciphertext for SFrame decryption." Reassembly is such preparation; decoders and sinks
must only see a frame after it was decrypted.

The per-datagram fields (sequence, fragment index and count) are not bound: they only steer
reassembly, and a relay that reorders or mixes fragments yields a frame whose SFrame tag does
not verify. Decision record: docs/decisions/0101-media-datagram-format.md.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from enseal.media.errors import MalformedDatagramError
from enseal.media.frames import EncodedFrame, MediaKind

DATAGRAM_VERSION = 1
"""The only header version this code reads or writes."""

_HEADER = struct.Struct(">BBBIIIQIHH")
HEADER_SIZE = _HEADER.size
"""Size of the datagram header in bytes (31)."""

FLAG_KEYFRAME = 0x01
_KNOWN_FLAGS = FLAG_KEYFRAME

MAX_FRAGMENTS = 1_024
"""Most fragments one frame may be split into."""

MAX_DATAGRAM_SIZE = 9_000
"""Largest datagram accepted or produced (a jumbo Ethernet payload); the packetiser's MTU
must not exceed it."""

SFRAME_METADATA_LABEL = b"enseal media frame v1"
"""Domain label at the start of :func:`sframe_metadata`, so these bytes cannot be mistaken for
the metadata of any other use of SFrame in Enseal."""

_METADATA = struct.Struct(">BBBIIQI")


@dataclass(frozen=True, slots=True, kw_only=True)
class Datagram:
    """One decoded media datagram: its header fields and its fragment of a protected frame."""

    kind: MediaKind
    keyframe: bool
    stream_id: int
    sequence: int
    frame_number: int
    timestamp: int
    duration: int
    fragment_index: int
    fragment_count: int
    fragment: bytes = field(repr=False)


def encode_datagram(datagram: Datagram) -> bytes:
    """The wire bytes of a datagram (the packetiser calls this; fields are trusted)."""
    header = _HEADER.pack(
        DATAGRAM_VERSION,
        datagram.kind,
        FLAG_KEYFRAME if datagram.keyframe else 0,
        datagram.stream_id,
        datagram.sequence,
        datagram.frame_number,
        datagram.timestamp,
        datagram.duration,
        datagram.fragment_index,
        datagram.fragment_count,
    )
    return header + datagram.fragment


def decode_datagram(data: bytes) -> Datagram:
    """Strictly decode a datagram received from the network.

    Raises :class:`MalformedDatagramError` for a wrong size, an unknown version or kind, a
    reserved flag bit set, a fragment count of 0 or above :data:`MAX_FRAGMENTS`, or a fragment
    index not below the count.
    """
    if len(data) > MAX_DATAGRAM_SIZE:
        raise MalformedDatagramError("datagram larger than MAX_DATAGRAM_SIZE", f"{len(data)} bytes")
    if len(data) <= HEADER_SIZE:
        raise MalformedDatagramError("datagram holds no fragment after its header", f"{len(data)} bytes")
    (version, kind, flags, stream_id, sequence, frame_number, timestamp, duration, index, count) = _HEADER.unpack_from(
        data
    )
    if version != DATAGRAM_VERSION:
        raise MalformedDatagramError("unknown media datagram version", str(version))
    if kind not in MediaKind._value2member_map_:
        raise MalformedDatagramError("unknown media kind", str(kind))
    if flags & ~_KNOWN_FLAGS:
        raise MalformedDatagramError("reserved flag bits MUST be zero", f"flags {flags:#04x}")
    if not 1 <= count <= MAX_FRAGMENTS:
        raise MalformedDatagramError("fragment count out of range", str(count))
    if index >= count:
        raise MalformedDatagramError("fragment index not below fragment count", f"{index} of {count}")
    return Datagram(
        kind=MediaKind(kind),
        keyframe=bool(flags & FLAG_KEYFRAME),
        stream_id=stream_id,
        sequence=sequence,
        frame_number=frame_number,
        timestamp=timestamp,
        duration=duration,
        fragment_index=index,
        fragment_count=count,
        fragment=data[HEADER_SIZE:],
    )


def sframe_metadata(frame: EncodedFrame) -> bytes:
    """The bytes to bind as SFrame metadata (RFC 9605 sections 4.4.3 and 9.4) when protecting or
    unprotecting ``frame``: they cover every frame-level field of the datagram header."""
    return SFRAME_METADATA_LABEL + _METADATA.pack(
        DATAGRAM_VERSION,
        frame.kind,
        FLAG_KEYFRAME if frame.keyframe else 0,
        frame.stream_id,
        frame.frame_number,
        frame.timestamp,
        frame.duration,
    )
