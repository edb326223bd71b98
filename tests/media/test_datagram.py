from __future__ import annotations

import dataclasses
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from enseal.media import (
    HEADER_SIZE,
    MAX_DATAGRAM_SIZE,
    Datagram,
    EncodedFrame,
    MalformedDatagramError,
    MediaKind,
    decode_datagram,
    sframe_metadata,
)
from enseal.media.datagram import MAX_FRAGMENTS, encode_datagram

U32 = st.integers(0, 2**32 - 1)


@st.composite
def datagrams(draw: st.DrawFn) -> Datagram:
    count = draw(st.integers(1, MAX_FRAGMENTS))
    return Datagram(
        kind=draw(st.sampled_from(MediaKind)),
        keyframe=draw(st.booleans()),
        stream_id=draw(U32),
        sequence=draw(U32),
        frame_number=draw(U32),
        timestamp=draw(st.integers(0, 2**64 - 1)),
        duration=draw(U32),
        fragment_index=draw(st.integers(0, count - 1)),
        fragment_count=count,
        fragment=draw(st.binary(min_size=1, max_size=200)),
    )


@given(datagrams())
def test_round_trip(datagram: Datagram) -> None:
    wire = encode_datagram(datagram)
    assert len(wire) == HEADER_SIZE + len(datagram.fragment)
    assert decode_datagram(wire) == datagram


def test_header_layout_is_as_documented() -> None:
    datagram = Datagram(
        kind=MediaKind.VIDEO,
        keyframe=True,
        stream_id=0x01020304,
        sequence=5,
        frame_number=6,
        timestamp=7,
        duration=8,
        fragment_index=1,
        fragment_count=2,
        fragment=b"xyz",
    )
    assert encode_datagram(datagram) == (
        bytes([1, 2, 1]) + bytes([1, 2, 3, 4]) + struct.pack(">IIQIHH", 5, 6, 7, 8, 1, 2) + b"xyz"
    )


GOOD = encode_datagram(
    Datagram(
        kind=MediaKind.AUDIO,
        keyframe=False,
        stream_id=1,
        sequence=2,
        frame_number=3,
        timestamp=4,
        duration=960,
        fragment_index=0,
        fragment_count=1,
        fragment=b"payload",
    )
)


def patched(offset: int, value: bytes) -> bytes:
    return GOOD[:offset] + value + GOOD[offset + len(value) :]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "no fragment"),
        (GOOD[:HEADER_SIZE], "no fragment"),
        (GOOD[:10], "no fragment"),
        (GOOD + bytes(MAX_DATAGRAM_SIZE), "larger than"),
        (patched(0, b"\x02"), "version"),
        (patched(0, b"\x00"), "version"),
        (patched(1, b"\x00"), "kind"),
        (patched(1, b"\x03"), "kind"),
        (patched(2, b"\x02"), "reserved flag"),
        (patched(2, b"\x80"), "reserved flag"),
        (patched(27, struct.pack(">HH", 0, 0)), "fragment count"),
        (patched(27, struct.pack(">HH", 0, MAX_FRAGMENTS + 1)), "fragment count"),
        (patched(27, struct.pack(">HH", 3, 3)), "index not below"),
    ],
)
def test_malformed_datagrams_are_refused(data: bytes, reason: str) -> None:
    with pytest.raises(MalformedDatagramError, match=reason):
        decode_datagram(data)


@given(st.binary(max_size=300))
def test_random_bytes_decode_or_raise_malformed(data: bytes) -> None:
    try:
        datagram = decode_datagram(data)
    except MalformedDatagramError:
        return
    assert encode_datagram(datagram) == data  # strict: one encoding per value


FRAME = EncodedFrame(
    kind=MediaKind.VIDEO, stream_id=3, frame_number=10, timestamp=60_000, duration=6000, keyframe=True, payload=b"a"
)


@pytest.mark.parametrize(
    "change",
    [
        {"kind": MediaKind.AUDIO},
        {"stream_id": 4},
        {"frame_number": 11},
        {"timestamp": 60_001},
        {"duration": 6001},
        {"keyframe": False},
    ],
)
def test_sframe_metadata_binds_every_frame_field(change: dict[str, object]) -> None:
    assert sframe_metadata(dataclasses.replace(FRAME, **change)) != sframe_metadata(FRAME)  # type: ignore[arg-type]


def test_sframe_metadata_does_not_depend_on_the_payload() -> None:
    assert sframe_metadata(FRAME.with_payload(b"other")) == sframe_metadata(FRAME)
    assert sframe_metadata(FRAME).startswith(b"enseal media frame v1")
