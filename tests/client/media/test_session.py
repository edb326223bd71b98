"""The media pipeline on its own, over the in-memory relay: keyframe requests after a loss,
hostile datagrams, and standard encryption (the service can read, and the call says so)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable

import pytest

from enseal.client.media import (
    InMemoryRelay,
    MediaSession,
    MediaTransport,
    RelayTransport,
    SFrameCrypto,
    TransportStats,
)
from enseal.crypto import Secret
from enseal.media import (
    AUDIO_MATCH_THRESHOLD,
    Datagram,
    EncodedFrame,
    GeneratedAudioSource,
    GeneratedVideoSource,
    MediaKind,
    PcmRecorder,
    VideoPicture,
    audio_similarity,
    decode_datagram,
    generated_signal,
    read_frame_number,
    sframe_metadata,
)
from enseal.media.datagram import encode_datagram
from enseal.sframe import FrameAuthenticationError, MlsSFrameKeys
from enseal.signalling import CallEncryption, CallRole

from .call_peers import exporter_keys

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class LossyLink(MediaTransport):
    """A transport whose outgoing datagrams ``drop`` may discard (a lossy network)."""

    def __init__(self, inner: MediaTransport, drop: Callable[[bytes], bool]) -> None:
        self.inner, self.drop = inner, drop

    async def send(self, datagram: bytes) -> None:
        if not self.drop(datagram):
            await self.inner.send(datagram)

    async def recv(self) -> bytes:
        return await self.inner.recv()

    async def close(self) -> None:
        await self.inner.close()

    @property
    def stats(self) -> TransportStats:
        return self.inner.stats


class PictureList:
    def __init__(self) -> None:
        self.pictures: list[VideoPicture] = []

    def write(self, picture: VideoPicture) -> None:
        self.pictures.append(picture)


async def relay_pair(relay: InMemoryRelay) -> tuple[RelayTransport, RelayTransport]:
    return RelayTransport(await relay.connect()), RelayTransport(await relay.connect())


def video_frame_number(datagram: bytes) -> int | None:
    if datagram[0] != 1:
        return None
    decoded = decode_datagram(datagram)
    return decoded.frame_number if decoded.kind is MediaKind.VIDEO else None


async def test_a_lost_video_frame_brings_a_keyframe_request_and_recovery() -> None:
    relay = InMemoryRelay()
    sender_link, receiver_link = await relay_pair(relay)
    keys_a, keys_b = exporter_keys()
    lossy = LossyLink(sender_link, lambda d: video_frame_number(d) == 5)
    shown = PictureList()
    sender = MediaSession(
        transport=lossy, crypto=SFrameCrypto.end_to_end(keys_a), video_source=GeneratedVideoSource(2.0)
    )
    receiver = MediaSession(transport=receiver_link, crypto=SFrameCrypto.end_to_end(keys_b), video_sink=shown)
    await receiver.start()
    await sender.start()
    await sender.wait_sent()
    sent_stats = await sender.stop(linger=0.4)
    received = await receiver.stop()
    numbers = [read_frame_number(p) for p in shown.pictures]
    # 0-4 play, 5 is lost, the deltas after it wait for the keyframe the request brought
    assert numbers[:5] == [0, 1, 2, 3, 4] and 5 not in numbers
    assert len(numbers) >= 20 and numbers[-1] == 29
    assert received.keyframe_requests_sent >= 1 and sent_stats.keyframe_requests_received >= 1
    assert received.video.frames_lost == 1


async def test_hostile_datagrams_are_dropped_and_counted() -> None:
    relay = InMemoryRelay()
    attacker_link, victim_link = await relay_pair(relay)
    _, keys_b = exporter_keys()
    recorder = PcmRecorder()
    victim = MediaSession(transport=victim_link, crypto=SFrameCrypto.end_to_end(keys_b), audio_sink=recorder)
    await victim.start()
    forged = Datagram(
        kind=MediaKind.AUDIO,
        keyframe=True,
        stream_id=1,
        sequence=0,
        frame_number=0,
        timestamp=0,
        duration=960,
        fragment_index=0,
        fragment_count=1,
        fragment=os.urandom(80),
    )
    for datagram in (b"\x07 unknown version", b"\x01", encode_datagram(forged), b"\xf1" + os.urandom(40)):
        await attacker_link.send(datagram)
    await asyncio.sleep(0.3)  # the jitter buffer releases the forged frame; SFrame refuses it
    stats = await victim.stop()
    assert stats.datagrams_malformed == 2
    assert stats.audio.frames_undecryptable == 1 and stats.audio.frames_received == 0
    assert stats.feedback_refused == 1
    assert len(recorder.samples()) == 0


async def test_standard_encryption_call_is_readable_by_the_service_only() -> None:
    """Both sides key SFrame with the service's media key; the service (a recorder on the
    relay) can decrypt every frame, which is why the call is labelled standard encryption."""
    media_key = Secret(os.urandom(16))
    relay = InMemoryRelay()
    caller_link, callee_link = await relay_pair(relay)
    caller_crypto = SFrameCrypto.standard(media_key, role=CallRole.CALLER)
    callee_crypto = SFrameCrypto.standard(media_key, role=CallRole.CALLEE)
    assert caller_crypto.encryption is callee_crypto.encryption is CallEncryption.STANDARD
    recorder = PcmRecorder()
    caller = MediaSession(transport=caller_link, crypto=caller_crypto, audio_source=GeneratedAudioSource(1.0, seed=4))
    callee = MediaSession(transport=callee_link, crypto=callee_crypto, audio_sink=recorder)
    await callee.start()
    await caller.start()
    await caller.wait_sent()
    await caller.stop(linger=0.3)
    await callee.stop()
    assert audio_similarity(generated_signal(1.0, 4), recorder.samples()) >= AUDIO_MATCH_THRESHOLD

    service = MlsSFrameKeys(base_key=media_key.reveal(), epoch=0, own_leaf_index=7)  # the recorder
    outsider = MlsSFrameKeys(base_key=os.urandom(16), epoch=0, own_leaf_index=7)
    frames = [decode_datagram(d) for d in relay.forwarded]
    single = [d for d in frames if d.fragment_count == 1]
    assert len(single) > 40
    for datagram in single[:10]:
        frame = EncodedFrame(
            kind=datagram.kind,
            stream_id=datagram.stream_id,
            frame_number=datagram.frame_number,
            timestamp=datagram.timestamp,
            duration=datagram.duration,
            keyframe=datagram.keyframe,
            payload=datagram.fragment,
        )
        assert service.unprotect(frame.payload, 0.0, sframe_metadata(frame))
        with pytest.raises(FrameAuthenticationError):
            outsider.unprotect(frame.payload, 0.0, sframe_metadata(frame))
