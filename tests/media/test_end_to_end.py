"""The whole media chain, as the client will run it, over a lossy, reordering, duplicating
"network" -- with AES-GCM standing in for SFrame (same AAD rule: RFC 9605 section 4.4.3)."""

from __future__ import annotations

import dataclasses
import random
import struct
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from enseal.media import (
    AUDIO_MATCH_THRESHOLD,
    VIDEO_MATCH_PSNR,
    AudioFileSink,
    AudioFileSource,
    Datagram,
    Depacketiser,
    EncodedFrame,
    FrameReady,
    FramesLost,
    GeneratedVideoSource,
    MediaKind,
    OpusDecoder,
    OpusEncoder,
    Packetiser,
    VideoFileSink,
    VideoFileSource,
    Vp8Decoder,
    Vp8Encoder,
    audio_similarity,
    decode_datagram,
    luma_psnr,
    read_frame_number,
    sframe_metadata,
)
from enseal.media.datagram import encode_datagram

from .media_chain import pcm_of


class StandInSFrame:
    """AES-128-GCM over the whole frame with the media metadata as AAD."""

    def __init__(self) -> None:
        self._aead = AESGCM(AESGCM.generate_key(128))
        self._counter = 0

    def protect(self, plaintext: bytes, metadata: bytes) -> bytes:
        nonce = struct.pack(">4xQ", self._counter)
        self._counter += 1
        return nonce + self._aead.encrypt(nonce, plaintext, metadata)

    def unprotect(self, protected: bytes, metadata: bytes) -> bytes:
        return self._aead.decrypt(protected[:12], protected[12:], metadata)


def lossy_network(datagrams: list[bytes], seed: int, loss: float = 0.03) -> Iterator[tuple[bytes, float]]:
    """Datagrams sent 5 ms apart, with loss, 2 % duplicates and up to 15 ms of jitter."""
    rng = random.Random(seed)
    arrivals = []
    for i, datagram in enumerate(datagrams):
        if rng.random() < loss:
            continue
        copies = 2 if rng.random() < 0.02 else 1
        arrivals += [(i * 0.005 + rng.uniform(0, 0.015), datagram) for _ in range(copies)]
    for at, datagram in sorted(arrivals, key=lambda a: a[0]):
        yield datagram, at


def send(frames: list[EncodedFrame], sframe: StandInSFrame, kind: MediaKind) -> list[bytes]:
    packetiser = Packetiser(kind=kind, stream_id=frames[0].stream_id)
    wire = []
    for frame in frames:
        protected = sframe.protect(frame.payload, sframe_metadata(frame))
        wire += packetiser.packetise(frame, protected)
    return wire


def receive(
    wire: Iterator[tuple[bytes, float]], sframe: StandInSFrame, kind: MediaKind, stream_id: int
) -> Iterator[EncodedFrame]:
    """Depacketise and unprotect: the plaintext frames, in order."""
    buffer = Depacketiser(kind=kind, stream_id=stream_id)
    events = []
    for raw, now in wire:
        events += buffer.push(decode_datagram(raw), now)
    events += buffer.flush()
    for event in events:
        if isinstance(event, FrameReady):
            frame = event.frame
            yield frame.with_payload(sframe.unprotect(frame.payload, sframe_metadata(frame)))
        else:
            assert isinstance(event, FramesLost)


def test_speech_arrives_as_sent(speech: dict[str, Path], tmp_path: Path) -> None:
    sframe = StandInSFrame()
    with AudioFileSource(speech["fox"]) as source:
        pcm = list(source)
    encoder = OpusEncoder(stream_id=11)
    encoded = [e for frame in pcm for e in encoder.encode(frame)] + encoder.flush()
    wire = send(encoded, sframe, MediaKind.AUDIO)

    decoder = OpusDecoder()
    out = tmp_path / "received.wav"
    with AudioFileSink(out) as sink:
        for frame in receive(lossy_network(wire, seed=1), sframe, MediaKind.AUDIO, 11):
            for decoded in decoder.decode(frame):
                sink.write(decoded)

    with AudioFileSource(out) as back:
        received = pcm_of(back)
    with AudioFileSource(speech["meeting"]) as other:
        other_speech = pcm_of(other)
    assert audio_similarity(pcm_of(pcm), received) >= AUDIO_MATCH_THRESHOLD
    assert audio_similarity(other_speech, received) < AUDIO_MATCH_THRESHOLD


def test_video_arrives_as_sent_and_recovers_from_loss(tmp_path: Path) -> None:
    sframe = StandInSFrame()
    source = GeneratedVideoSource(3.0)
    pictures = list(source)
    encoder = Vp8Encoder(stream_id=12, keyframe_interval=15)
    encoded = [e for p in pictures for e in encoder.encode(p)] + encoder.flush()
    wire = send(encoded, sframe, MediaKind.VIDEO)

    decoder = Vp8Decoder()
    shown = []
    out = tmp_path / "received.mkv"
    with VideoFileSink(out) as sink:
        for frame in receive(lossy_network(wire, seed=2, loss=0.02), sframe, MediaKind.VIDEO, 12):
            for picture in decoder.decode(frame):
                shown.append(read_frame_number(picture))
                sink.write(picture)

    assert shown == sorted(set(shown))
    assert len(shown) >= len(pictures) // 2
    with VideoFileSource(out) as back:
        recorded = list(back)
    assert len(recorded) == shown[-1] - shown[0] + 1  # lost pictures are repeats, timing kept
    for picture in recorded:
        assert luma_psnr(source.render(read_frame_number(picture)), picture) >= VIDEO_MATCH_PSNR


FIELD_CHANGES = [
    {"stream_id": 99},
    {"kind": MediaKind.VIDEO},
    {"frame_number": 1},
    {"timestamp": 960 * 5},
    {"duration": 480},
    {"keyframe": False},
]


@pytest.mark.parametrize("change", FIELD_CHANGES)
def test_a_relay_that_rewrites_a_frame_field_is_caught(change: dict[str, object]) -> None:
    sframe = StandInSFrame()
    frame = EncodedFrame(
        kind=MediaKind.AUDIO,
        stream_id=11,
        frame_number=0,
        timestamp=0,
        duration=960,
        keyframe=True,
        payload=bytes(range(80)),
    )
    wire = send([frame], sframe, MediaKind.AUDIO)
    forged = [encode_datagram(dataclasses.replace(decode_datagram(w), **change)) for w in wire]  # type: ignore[arg-type]
    datagram = decode_datagram(forged[0])
    buffer = Depacketiser(kind=datagram.kind, stream_id=datagram.stream_id)
    (event,) = buffer.push(datagram, 0.0)
    assert isinstance(event, FrameReady)
    with pytest.raises(InvalidTag):
        sframe.unprotect(event.frame.payload, sframe_metadata(event.frame))
    # the untouched datagram does decrypt
    honest = decode_datagram(wire[0])
    (event,) = Depacketiser(kind=MediaKind.AUDIO, stream_id=11).push(honest, 0.0)
    assert isinstance(event, FrameReady)
    assert sframe.unprotect(event.frame.payload, sframe_metadata(event.frame)) == frame.payload


def test_fragments_swapped_by_a_relay_are_caught() -> None:
    sframe = StandInSFrame()
    frame = EncodedFrame(
        kind=MediaKind.VIDEO,
        stream_id=12,
        frame_number=0,
        timestamp=0,
        duration=6000,
        keyframe=True,
        payload=np.random.default_rng(0).bytes(3000),
    )
    first, second, third = (decode_datagram(w) for w in send([frame], sframe, MediaKind.VIDEO))
    swapped: list[Datagram] = [
        dataclasses.replace(first, fragment_index=1),
        dataclasses.replace(second, fragment_index=0),
        third,
    ]
    buffer = Depacketiser(kind=MediaKind.VIDEO, stream_id=12)
    events = [e for d in swapped for e in buffer.push(d, 0.0)]
    (event,) = events
    assert isinstance(event, FrameReady)
    with pytest.raises(InvalidTag):
        sframe.unprotect(event.frame.payload, sframe_metadata(event.frame))
