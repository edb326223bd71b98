from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from enseal.errors import LocalProtocolError, RemoteProtocolError
from enseal.media import (
    AUDIO_FRAME_SAMPLES,
    AUDIO_MATCH_THRESHOLD,
    AudioFileSource,
    CorruptFrameError,
    EncodedFrame,
    GeneratedAudioSource,
    MediaKind,
    OpusDecoder,
    OpusEncoder,
    OutOfOrderFrameError,
    audio_similarity,
    generated_signal,
)
from enseal.media.opus import MAX_OPUS_PAYLOAD

from .media_chain import opus_decode, opus_encode, pcm_of


def audio_frame(payload: bytes, number: int = 0) -> EncodedFrame:
    return EncodedFrame(
        kind=MediaKind.AUDIO,
        stream_id=1,
        frame_number=number,
        timestamp=number * AUDIO_FRAME_SAMPLES,
        duration=AUDIO_FRAME_SAMPLES,
        keyframe=True,
        payload=payload,
    )


def test_encoder_output_is_one_constant_size_frame_per_input() -> None:
    frames = list(GeneratedAudioSource(0.2))
    encoded = opus_encode(frames, stream_id=9)
    assert len(encoded) == len(frames) + 1  # the flush drains the encoder's look-ahead
    assert [e.frame_number for e in encoded] == list(range(len(encoded)))
    assert [e.timestamp for e in encoded] == [i * AUDIO_FRAME_SAMPLES for i in range(len(encoded))]
    assert all(e.kind is MediaKind.AUDIO and e.stream_id == 9 and e.keyframe for e in encoded)
    # constant bit rate: 32 kbit/s x 20 ms = 80 bytes, so sizes reveal nothing about the speech
    assert {len(e.payload) for e in encoded} == {80}


def test_bitrate_is_configurable_and_bounded() -> None:
    encoded = opus_encode(GeneratedAudioSource(0.1), bitrate=64_000)
    assert {len(e.payload) for e in encoded} == {160}
    with pytest.raises(LocalProtocolError):
        OpusEncoder(bitrate=1_000)
    with pytest.raises(LocalProtocolError):
        OpusEncoder(bitrate=600_000)


def test_round_trip_keeps_the_signal_and_not_another() -> None:
    received = opus_decode(opus_encode(GeneratedAudioSource(1.0, seed=5)))
    assert audio_similarity(generated_signal(1.0, seed=5), received) >= 0.9
    assert audio_similarity(generated_signal(1.0, seed=6), received) < AUDIO_MATCH_THRESHOLD / 2


def test_round_trip_of_speech_read_from_a_file(speech: dict[str, Path]) -> None:
    with AudioFileSource(speech["fox"]) as source:
        frames = list(source)
    with AudioFileSource(speech["meeting"]) as source:
        other = pcm_of(source)
    received = opus_decode(opus_encode(frames))
    assert audio_similarity(pcm_of(frames), received) >= 0.9
    assert audio_similarity(other, received) < AUDIO_MATCH_THRESHOLD / 2


def test_decoder_carries_on_after_lost_frames() -> None:
    encoded = opus_encode(GeneratedAudioSource(2.0, seed=2))
    lost = set(random.Random(4).sample(range(1, len(encoded)), 5))
    received = opus_decode(e for e in encoded if e.frame_number not in lost)
    # the timeline is kept: lost frames became silence of the same length
    assert len(received) == len(encoded) * AUDIO_FRAME_SAMPLES
    assert audio_similarity(generated_signal(2.0, seed=2), received) >= AUDIO_MATCH_THRESHOLD


def test_encoder_refuses_overlapping_frames() -> None:
    encoder = OpusEncoder()
    frame = next(GeneratedAudioSource(0.1))
    encoder.encode(frame)
    with pytest.raises(LocalProtocolError):
        encoder.encode(frame)


def test_decoder_refuses_stale_frames_and_other_kinds() -> None:
    encoded = opus_encode(GeneratedAudioSource(0.1))
    decoder = OpusDecoder()
    decoder.decode(encoded[1])
    with pytest.raises(OutOfOrderFrameError):
        decoder.decode(encoded[0])
    with pytest.raises(OutOfOrderFrameError):
        decoder.decode(encoded[1])
    decoder.decode(encoded[2])
    video = EncodedFrame(
        kind=MediaKind.VIDEO, stream_id=1, frame_number=9, timestamp=0, duration=1, keyframe=True, payload=b"x"
    )
    with pytest.raises(LocalProtocolError):
        decoder.decode(video)


@pytest.mark.parametrize(
    "payload",
    [
        b"",  # would tell FFmpeg "end of stream"
        b"\xff" * 10,  # code 3 packet with an impossible frame count
        bytes([0x0B]) + bytes(60),  # code 3 with a zero frame count (RFC 6716 R5)
        bytes([0x00]),  # a valid 10 ms SILK packet, but not 20 ms
        bytes([0x78]) + bytes(MAX_OPUS_PAYLOAD),  # too long
    ],
)
def test_garbage_payloads_are_corrupt_frames(payload: bytes) -> None:
    decoder = OpusDecoder()
    with pytest.raises(CorruptFrameError):
        decoder.decode(audio_frame(payload))
    # and the decoder still works afterwards
    good = opus_encode(GeneratedAudioSource(0.02))[0]
    assert len(decoder.decode(good)[0].samples) == AUDIO_FRAME_SAMPLES


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=0, max_size=1500))
def test_any_payload_decodes_to_20_ms_or_raises_a_remote_error(payload: bytes) -> None:
    try:
        pcm = OpusDecoder().decode(audio_frame(payload))
    except RemoteProtocolError as exc:
        assert isinstance(exc, CorruptFrameError)
    else:
        assert len(pcm) == 1
        assert pcm[0].samples.shape == (AUDIO_FRAME_SAMPLES,)
