from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from enseal.errors import LocalProtocolError
from enseal.media import (
    Datagram,
    Depacketiser,
    DepacketiserEvent,
    EncodedFrame,
    FrameReady,
    FramesLost,
    InconsistentFragmentError,
    MediaKind,
    Packetiser,
    decode_datagram,
)

KIND = MediaKind.VIDEO
STREAM = 7


def make_frames(sizes: list[int], seed: int = 0) -> list[tuple[EncodedFrame, bytes]]:
    """Frames 0.. with random 'protected' payloads of the given sizes."""
    rng = random.Random(seed)
    frames = []
    for number, size in enumerate(sizes):
        frame = EncodedFrame(
            kind=KIND,
            stream_id=STREAM,
            frame_number=number,
            timestamp=number * 6000,
            duration=6000,
            keyframe=number % 10 == 0,
            payload=b"",
        )
        frames.append((frame, rng.randbytes(size)))
    return frames


def packetise(frames: list[tuple[EncodedFrame, bytes]], mtu: int) -> list[Datagram]:
    packetiser = Packetiser(kind=KIND, stream_id=STREAM, mtu=mtu)
    return [decode_datagram(w) for frame, protected in frames for w in packetiser.packetise(frame, protected)]


def ready(events: list[DepacketiserEvent]) -> list[int]:
    return [e.frame.frame_number for e in events if isinstance(e, FrameReady)]


def lost(events: list[DepacketiserEvent]) -> list[int]:
    return [
        n
        for e in events
        if isinstance(e, FramesLost)
        for n in range(e.first_frame_number, e.first_frame_number + e.count)
    ]


def check_output(events: list[DepacketiserEvent], frames: list[tuple[EncodedFrame, bytes]]) -> None:
    """Every frame out is complete, byte-identical, in order, once; ready and lost never overlap."""
    numbers = ready(events)
    assert numbers == sorted(set(numbers))
    for event in events:
        if isinstance(event, FrameReady):
            original, protected = frames[event.frame.frame_number]
            assert event.frame == original.with_payload(protected)
    assert not set(numbers) & set(lost(events))
    accounted = sorted(numbers + lost(events))
    if accounted:  # a contiguous run of frame numbers, each ready or lost exactly once
        assert accounted == list(range(accounted[0], accounted[0] + len(accounted)))


# -- properties ----------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 3000), min_size=1, max_size=40),
    mtu=st.integers(100, 1200),
    loss=st.floats(0, 0.5),
    duplication=st.floats(0, 0.5),
    displacement=st.integers(0, 60),
    seed=st.integers(0, 2**32),
    window=st.integers(1, 40),
)
def test_hostile_network_never_breaks_the_output(
    sizes: list[int], mtu: int, loss: float, duplication: float, displacement: int, seed: int, window: int
) -> None:
    frames = make_frames(sizes, seed)
    rng = random.Random(seed)
    network = [d for d in packetise(frames, mtu) if rng.random() >= loss]
    network += [d for d in network if rng.random() < duplication]
    order = sorted(range(len(network)), key=lambda i: i + rng.uniform(0, displacement))
    buffer = Depacketiser(kind=KIND, stream_id=STREAM, reorder_window=window)
    events: list[DepacketiserEvent] = []
    for step, i in enumerate(order):
        events += buffer.push(network[i], now=step * 0.01)
        assert buffer.held_frames <= window
    events += buffer.flush()
    check_output(events, frames)
    assert buffer.held_frames == 0
    assert buffer.buffered_bytes == 0


@settings(max_examples=200, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 3000), min_size=1, max_size=40),
    mtu=st.integers(100, 1200),
    displacement=st.integers(0, 8),
    duplication=st.floats(0, 0.5),
    seed=st.integers(0, 2**32),
)
def test_without_loss_every_frame_comes_out_once(
    sizes: list[int], mtu: int, displacement: int, duplication: float, seed: int
) -> None:
    frames = make_frames(sizes, seed)
    rng = random.Random(seed)
    network = packetise(frames, mtu)
    network += [d for d in network if rng.random() < duplication]
    order = sorted(range(len(network)), key=lambda i: i + rng.uniform(0, displacement))
    # reordering stays inside the window (each frame has >= 1 datagram) and inside max_hold
    buffer = Depacketiser(kind=KIND, stream_id=STREAM, reorder_window=16, first_frame_number=0)
    events: list[DepacketiserEvent] = []
    for i in order:
        events += buffer.push(network[i], now=0.0)
    check_output(events, frames)
    assert ready(events) == list(range(len(frames)))
    assert buffer.stats.frames_lost == 0


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.builds(
            Datagram,
            kind=st.just(KIND),
            keyframe=st.booleans(),
            stream_id=st.just(STREAM),
            sequence=st.integers(0, 2**32 - 1),
            frame_number=st.one_of(st.integers(0, 50), st.integers(0, 2**32 - 1)),
            timestamp=st.integers(0, 3),
            duration=st.integers(0, 3),
            fragment_index=st.integers(0, 9),
            fragment_count=st.just(10),
            fragment=st.binary(min_size=1, max_size=500),
        ),
        max_size=200,
    )
)
def test_arbitrary_datagrams_keep_state_bounded(datagrams: list[Datagram]) -> None:
    buffer = Depacketiser(kind=KIND, stream_id=STREAM, reorder_window=8, max_buffered_bytes=5_000)
    numbers: list[int] = []
    for step, datagram in enumerate(datagrams):
        try:
            events = buffer.push(datagram, now=step * 0.05)
        except InconsistentFragmentError:
            continue
        numbers += ready(events)
        assert buffer.held_frames <= 8
        assert buffer.buffered_bytes <= 5_000
    assert numbers == sorted(set(numbers))


# -- scenarios -----------------------------------------------------------------------------------


def test_waits_max_hold_for_a_missing_frame_then_gives_it_up() -> None:
    frames = make_frames([100] * 4)
    datagrams = packetise(frames, 1200)
    buffer = Depacketiser(kind=KIND, stream_id=STREAM, max_hold=0.2)
    assert ready(buffer.push(datagrams[0], 0.0)) == [0]
    assert buffer.next_deadline() is None
    assert buffer.push(datagrams[2], 1.0) == []
    assert buffer.push(datagrams[3], 1.1) == []
    assert buffer.next_deadline() == pytest.approx(1.2)
    assert buffer.poll(1.19) == []
    events = buffer.poll(1.2)
    assert events[0] == FramesLost(first_frame_number=1, count=1)
    assert ready(events) == [2, 3]
    assert buffer.push(datagrams[1], 1.3) == []  # too late now
    assert buffer.stats.late == 1


def test_an_incomplete_frame_is_given_up_and_its_memory_freed() -> None:
    frames = make_frames([100, 3000, 100])
    datagrams = packetise(frames, 1200)  # frame 1 has 3 fragments
    buffer = Depacketiser(kind=KIND, stream_id=STREAM, max_hold=0.2)
    buffer.push(datagrams[0], 0.0)
    buffer.push(datagrams[1], 0.0)
    assert buffer.buffered_bytes == len(datagrams[1].fragment)
    events = buffer.poll(0.25)
    assert events == [FramesLost(first_frame_number=1, count=1)]
    assert buffer.buffered_bytes == 0
    assert ready(buffer.push(datagrams[4], 0.3)) == [2]


def test_a_datagram_beyond_the_window_forces_the_buffer_forward() -> None:
    frames = make_frames([10] * 50)
    datagrams = packetise(frames, 1200)
    buffer = Depacketiser(kind=KIND, stream_id=STREAM, reorder_window=32)
    buffer.push(datagrams[0], 0.0)
    buffer.push(datagrams[2], 0.0)  # frame 1 missing, frame 2 held
    events = buffer.push(datagrams[40], 0.0)
    # head must reach 40 - 32 + 1 = 9: frame 1 lost, 2 released, 3..8 lost (never seen)
    assert ready(events) == [2]
    assert lost(events) == [1, 3, 4, 5, 6, 7, 8]
    assert buffer.held_frames == 32  # 9 .. 40


def test_a_huge_frame_number_jump_costs_one_event() -> None:
    frames = make_frames([10])
    buffer = Depacketiser(kind=KIND, stream_id=STREAM)
    buffer.push(packetise(frames, 1200)[0], 0.0)
    far = Datagram(
        kind=KIND,
        keyframe=False,
        stream_id=STREAM,
        sequence=9,
        frame_number=2**32 - 1,
        timestamp=0,
        duration=0,
        fragment_index=0,
        fragment_count=1,
        fragment=b"x",
    )
    events = buffer.push(far, 0.0)
    assert events == [FramesLost(first_frame_number=1, count=2**32 - 1 - 32)]
    assert buffer.held_frames == 32


def test_duplicates_are_dropped_and_counted() -> None:
    frames = make_frames([2000])
    first, second = packetise(frames, 1200)
    buffer = Depacketiser(kind=KIND, stream_id=STREAM)
    assert buffer.push(first, 0.0) == []
    assert buffer.push(first, 0.0) == []
    assert ready(buffer.push(second, 0.0)) == [0]
    assert buffer.push(second, 0.0) == []
    assert (buffer.stats.duplicates, buffer.stats.late, buffer.stats.datagrams_accepted) == (1, 1, 2)


def test_inconsistent_fragments_are_refused_without_changing_state() -> None:
    frames = make_frames([2000, 10])
    first, second, third = packetise(frames, 1200)
    buffer = Depacketiser(kind=KIND, stream_id=STREAM)
    buffer.push(first, 0.0)
    before = (buffer.stats, buffer.buffered_bytes, buffer.held_frames)
    for change in ({"fragment_count": 3}, {"timestamp": 1}, {"duration": 1}, {"keyframe": False}):
        forged = Datagram(**{**{f: getattr(second, f) for f in second.__dataclass_fields__}, **change})
        with pytest.raises(InconsistentFragmentError):
            buffer.push(forged, 0.0)
        assert (buffer.stats, buffer.buffered_bytes, buffer.held_frames) == before
    assert ready(buffer.push(second, 0.0) + buffer.push(third, 0.0)) == [0, 1]


def test_memory_bound_drops_datagrams_that_do_not_fit() -> None:
    frames = make_frames([5000, 5000])
    datagrams = packetise(frames, 1200)  # five datagrams per frame
    buffer = Depacketiser(kind=KIND, stream_id=STREAM, max_buffered_bytes=6000, first_frame_number=0)
    for d in datagrams[5:] + datagrams[:5]:  # frame 1 is held while frame 0 is awaited
        assert buffer.push(d, 0.0) == []
        assert buffer.buffered_bytes <= 6000
    assert buffer.stats.over_memory_bound == 4


def test_first_frame_number_and_routing() -> None:
    frames = make_frames([10] * 3)
    datagrams = packetise(frames, 1200)
    buffer = Depacketiser(kind=KIND, stream_id=STREAM, first_frame_number=1)
    assert buffer.push(datagrams[0], 0.0) == []
    assert buffer.stats.late == 1
    assert ready(buffer.push(datagrams[1], 0.0)) == [1]
    other = Depacketiser(kind=MediaKind.AUDIO, stream_id=STREAM)
    with pytest.raises(LocalProtocolError):
        other.push(datagrams[0], 0.0)
    with pytest.raises(LocalProtocolError):
        buffer.push(datagrams[2], float("nan"))
    with pytest.raises(LocalProtocolError):
        Depacketiser(kind=KIND, stream_id=STREAM, max_hold=0)
    with pytest.raises(LocalProtocolError):
        Depacketiser(kind=KIND, stream_id=STREAM, reorder_window=0)
