from __future__ import annotations

import contextlib
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from enseal.errors import LocalProtocolError, RemoteProtocolError
from enseal.media import (
    VIDEO_MATCH_PSNR,
    CorruptFrameError,
    EncodedFrame,
    GeneratedVideoSource,
    MediaKind,
    OutOfOrderFrameError,
    VideoPicture,
    Vp8Decoder,
    Vp8DecoderState,
    Vp8Encoder,
    luma_psnr,
    read_frame_number,
)
from enseal.media.vp8 import VP8_DECODER_TRANSITIONS, Vp8Input, parse_vp8_header


def encode_all(encoder: Vp8Encoder, pictures: list[VideoPicture]) -> list[EncodedFrame]:
    return [e for p in pictures for e in encoder.encode(p)] + encoder.flush()


@pytest.fixture(scope="module")
def pattern() -> list[VideoPicture]:
    return list(GeneratedVideoSource(2.0))


@pytest.fixture(scope="module")
def encoded(pattern: list[VideoPicture]) -> list[EncodedFrame]:
    return encode_all(Vp8Encoder(stream_id=4, keyframe_interval=10), pattern)


def video_frame(payload: bytes, *, keyframe: bool, number: int = 0) -> EncodedFrame:
    return EncodedFrame(
        kind=MediaKind.VIDEO,
        stream_id=4,
        frame_number=number,
        timestamp=number * 6000,
        duration=6000,
        keyframe=keyframe,
        payload=payload,
    )


def test_one_encoded_frame_per_picture_with_periodic_keyframes(
    pattern: list[VideoPicture], encoded: list[EncodedFrame]
) -> None:
    assert len(encoded) == len(pattern)
    assert [e.frame_number for e in encoded] == list(range(len(pattern)))
    assert [e.timestamp for e in encoded] == [p.timestamp for p in pattern]
    assert all(e.kind is MediaKind.VIDEO and e.stream_id == 4 and e.duration == 6000 for e in encoded)
    assert [e.frame_number for e in encoded if e.keyframe] == [0, 10, 20]
    assert all(parse_vp8_header(e.payload).keyframe == e.keyframe for e in encoded)


def test_round_trip_shows_every_picture(pattern: list[VideoPicture], encoded: list[EncodedFrame]) -> None:
    decoder = Vp8Decoder()
    for sent, frame in zip(pattern, encoded, strict=True):
        (picture,) = decoder.decode(frame)
        assert picture.timestamp == sent.timestamp
        assert read_frame_number(picture) == frame.frame_number
        assert luma_psnr(sent, picture) >= VIDEO_MATCH_PSNR


def test_keyframe_on_request(pattern: list[VideoPicture]) -> None:
    encoder = Vp8Encoder(keyframe_interval=1000)
    flags = []
    for i, picture in enumerate(pattern[:8]):
        if i == 5:
            encoder.request_keyframe()
        flags += [e.keyframe for e in encoder.encode(picture)]
    assert flags == [True, False, False, False, False, True, False, False]


def test_bitrate_changes_the_size() -> None:
    pictures = list(GeneratedVideoSource(2.0))
    low = sum(len(e.payload) for e in encode_all(Vp8Encoder(bitrate=60_000), pictures))
    high = sum(len(e.payload) for e in encode_all(Vp8Encoder(bitrate=600_000), pictures))
    assert low < high
    assert low * 8 / 2.0 < 2 * 60_000  # within twice the target over 2 s


def test_decoder_waits_for_a_keyframe_after_a_loss(encoded: list[EncodedFrame]) -> None:
    decoder = Vp8Decoder()
    assert decoder.keyframe_needed
    shown = []
    for frame in encoded:
        if frame.frame_number == 13:  # lost
            continue
        shown += [read_frame_number(p) for p in decoder.decode(frame)]
        if 14 <= frame.frame_number < 20:
            assert decoder.state is Vp8DecoderState.AWAITING_KEYFRAME
    assert shown == [*range(13), *range(20, 30)]
    assert decoder.state is Vp8DecoderState.DECODING


def test_decoder_starting_mid_stream_waits_for_a_keyframe(encoded: list[EncodedFrame]) -> None:
    decoder = Vp8Decoder()
    shown = [read_frame_number(p) for f in encoded[3:] for p in decoder.decode(f)]
    assert shown == list(range(10, 30))


def test_every_state_and_input_has_a_transition() -> None:
    assert set(VP8_DECODER_TRANSITIONS) == {(s, i) for s in Vp8DecoderState for i in Vp8Input}


def test_encoder_refuses_misuse(pattern: list[VideoPicture]) -> None:
    encoder = Vp8Encoder()
    encoder.encode(pattern[1])
    with pytest.raises(LocalProtocolError):
        encoder.encode(pattern[0])  # timestamps must increase
    with pytest.raises(LocalProtocolError):
        encoder.encode(GeneratedVideoSource(1.0, width=160, height=120).render(5))
    with pytest.raises(LocalProtocolError):
        Vp8Encoder(keyframe_interval=0)
    with pytest.raises(LocalProtocolError):
        Vp8Encoder(bitrate=1)


def test_decoder_refuses_stale_frames(encoded: list[EncodedFrame]) -> None:
    decoder = Vp8Decoder()
    decoder.decode(encoded[0])
    decoder.decode(encoded[1])
    with pytest.raises(OutOfOrderFrameError):
        decoder.decode(encoded[1])


def keyframe_header(width: int, height: int, partition: int = 10) -> bytes:
    tag = (partition << 5) | (1 << 4)  # keyframe bit 0, version 0, shown
    return tag.to_bytes(3, "little") + b"\x9d\x01\x2a" + struct.pack("<HH", width, height)


@pytest.mark.parametrize(
    ("payload", "keyframe"),
    [
        (b"", False),
        (b"\x01\x00", False),  # shorter than the frame tag
        (keyframe_header(16_000, 16_000) + bytes(100), True),  # far beyond MAX_VIDEO_DIMENSION
        (keyframe_header(4096, 4096) + bytes(100), True),  # beyond MAX_VIDEO_PIXELS
        (keyframe_header(0, 240) + bytes(100), True),
        (keyframe_header(321, 240) + bytes(100), True),  # odd: not an I420 picture
        (b"\x10\x02\x00\x9d\x01\x2b" + bytes(100), True),  # wrong start code
        (keyframe_header(320, 240, partition=5000) + bytes(100), True),  # partition past the end
        (bytes([0x0F]) + bytes(100), False),  # version 7
        (keyframe_header(320, 240) + bytes(100), False),  # keyframe flag disagrees with the tag
        (bytes([0x11, 0x01, 0x00]) + bytes(100), True),
        (keyframe_header(320, 240) + b"\xff" * 30, True),  # plausible header, garbage body
    ],
)
def test_garbage_is_a_corrupt_frame(payload: bytes, keyframe: bool, encoded: list[EncodedFrame]) -> None:
    decoder = Vp8Decoder()
    decoder.decode(encoded[0])
    with pytest.raises(CorruptFrameError):
        decoder.decode(video_frame(payload, keyframe=keyframe, number=1))
    assert decoder.keyframe_needed
    assert decoder.decode(encoded[2]) == []  # a delta frame is no use now
    assert len(decoder.decode(encoded[10])) == 1  # the next keyframe recovers


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000), st.booleans())
def test_any_payload_decodes_or_raises_a_remote_error(payload: bytes, keyframe: bool) -> None:
    decoder = Vp8Decoder()
    try:
        pictures = decoder.decode(video_frame(payload, keyframe=keyframe))
    except RemoteProtocolError as exc:
        assert isinstance(exc, CorruptFrameError)
    else:
        assert all(p.width * p.height <= 1920 * 1088 for p in pictures)


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_corrupted_real_frames_never_crash_the_decoder(data: st.DataObject) -> None:
    pictures = list(GeneratedVideoSource(0.4))
    frames = encode_all(Vp8Encoder(), pictures)
    decoder = Vp8Decoder()
    for frame in frames:
        payload = bytearray(frame.payload)
        for _ in range(data.draw(st.integers(0, 3))):
            payload[data.draw(st.integers(0, len(payload) - 1))] ^= data.draw(st.integers(1, 255))
        with contextlib.suppress(CorruptFrameError):
            decoder.decode(frame.with_payload(bytes(payload)))
