from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from enseal.errors import LocalProtocolError
from enseal.media import HEADER_SIZE, EncodedFrame, MediaKind, Packetiser, decode_datagram
from enseal.media.datagram import MAX_FRAGMENTS


def frame(number: int, *, kind: MediaKind = MediaKind.VIDEO, stream_id: int = 1) -> EncodedFrame:
    return EncodedFrame(
        kind=kind,
        stream_id=stream_id,
        frame_number=number,
        timestamp=number * 6000,
        duration=6000,
        keyframe=number == 0,
        payload=b"codec bytes",
    )


@given(st.integers(64, 1500), st.binary(min_size=1, max_size=20_000))
def test_datagrams_fit_the_mtu_and_rebuild_the_frame(mtu: int, protected: bytes) -> None:
    packetiser = Packetiser(kind=MediaKind.VIDEO, stream_id=1, mtu=mtu)
    wire = packetiser.packetise(frame(0), protected)
    assert all(len(w) <= mtu for w in wire)
    decoded = [decode_datagram(w) for w in wire]
    assert [d.fragment_index for d in decoded] == list(range(len(wire)))
    assert {d.fragment_count for d in decoded} == {len(wire)}
    assert len(wire) == -(-len(protected) // (mtu - HEADER_SIZE))  # as few as possible
    sizes = [len(d.fragment) for d in decoded]
    assert max(sizes) - min(sizes) <= 1  # evenly split: no tiny tail
    assert b"".join(d.fragment for d in decoded) == protected
    assert all((d.kind, d.stream_id, d.frame_number, d.keyframe) == (MediaKind.VIDEO, 1, 0, True) for d in decoded)


def test_sequence_numbers_run_across_frames() -> None:
    packetiser = Packetiser(kind=MediaKind.AUDIO, stream_id=2, mtu=100)
    first = packetiser.packetise(frame(0, kind=MediaKind.AUDIO, stream_id=2), bytes(150))
    second = packetiser.packetise(frame(1, kind=MediaKind.AUDIO, stream_id=2), bytes(10))
    assert [decode_datagram(w).sequence for w in first + second] == [0, 1, 2, 3]


def test_misuse_is_refused() -> None:
    packetiser = Packetiser(kind=MediaKind.VIDEO, stream_id=1, mtu=200)
    packetiser.packetise(frame(5), b"x")
    with pytest.raises(LocalProtocolError):
        packetiser.packetise(frame(5), b"x")  # frame numbers must increase
    with pytest.raises(LocalProtocolError):
        packetiser.packetise(frame(6, stream_id=2), b"x")
    with pytest.raises(LocalProtocolError):
        packetiser.packetise(frame(6, kind=MediaKind.AUDIO), b"x")
    with pytest.raises(LocalProtocolError):
        packetiser.packetise(frame(6), b"")
    with pytest.raises(LocalProtocolError):
        packetiser.packetise(frame(6), bytes((200 - HEADER_SIZE) * MAX_FRAGMENTS + 1))
    assert len(packetiser.packetise(frame(6), bytes(packetiser.max_frame_size))) == MAX_FRAGMENTS
    for mtu in (HEADER_SIZE, 9001):
        with pytest.raises(LocalProtocolError):
            Packetiser(kind=MediaKind.VIDEO, stream_id=1, mtu=mtu)
