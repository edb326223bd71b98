"""Two peers of one call, in process: real speech (Opus) and video (VP8), SFrame-protected with
keys from the same MLS exporter output, over direct UDP on this machine or through the relay.

Each test runs a 2-3 s call in real time.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from enseal.client.media import InMemoryRelay, PathKind, SFrameCrypto
from enseal.client.media.relay import PRESENCE_ACK_MAGIC, PRESENCE_MAGIC
from enseal.media import (
    AUDIO_MATCH_THRESHOLD,
    VIDEO_MATCH_PSNR,
    GeneratedVideoSource,
    MediaKind,
    VideoFileSource,
    audio_similarity,
    decode_datagram,
    luma_psnr,
    read_frame_number,
)
from enseal.sframe import decode_header
from enseal.signalling import CONTROLLED_EXTRA_WAIT_SECONDS, Candidate, Endpoint

from .call_peers import (
    VIDEO_SECONDS,
    RecordingCrypto,
    SideResult,
    connect_pair,
    exporter_keys,
    pcm_of_file,
    run_media,
)

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def assert_media_arrived(results: dict[str, SideResult]) -> dict[str, float]:
    """Each side's speech and video arrived at the other side as sent; returns the similarities."""
    similarities = {}
    for side, result in results.items():
        received = pcm_of_file(result.received_audio_file)
        similarities[side] = audio_similarity(result.sent_audio, received)
        assert similarities[side] >= AUDIO_MATCH_THRESHOLD, (side, similarities[side])
        reference = GeneratedVideoSource(VIDEO_SECONDS)
        with VideoFileSource(result.received_video_file) as recorded:
            pictures = list(recorded)
        assert len(pictures) >= 0.8 * VIDEO_SECONDS * 15
        numbers = [read_frame_number(p) for p in pictures]
        assert numbers == sorted(numbers)
        for picture, number in zip(pictures, numbers, strict=True):
            assert luma_psnr(reference.render(number), picture) >= VIDEO_MATCH_PSNR
        assert result.stats.audio.frames_sent > 0 and result.stats.video.frames_sent == VIDEO_SECONDS * 15
        assert result.stats.audio.frames_undecryptable == result.stats.video.frames_undecryptable == 0
    # the callee spoke something else than the caller: a mix-up would not pass
    other = audio_similarity(results["caller"].sent_audio, pcm_of_file(results["callee"].received_audio_file))
    assert other < AUDIO_MATCH_THRESHOLD
    return similarities


async def test_peer_to_peer_call_sends_nothing_through_the_relay(call_speech: dict[str, Path], tmp_path: Path) -> None:
    relay = InMemoryRelay()
    transports = await connect_pair(relay)
    assert [t.path for t in transports] == [PathKind.DIRECT, PathKind.DIRECT]
    caller_path, callee_path = (t.direct.selected for t in transports)  # type: ignore[union-attr]
    assert caller_path is not None and callee_path is not None
    assert (caller_path.local, caller_path.remote) == (callee_path.remote, callee_path.local)

    results = await run_media(transports, call_speech, tmp_path)

    similarities = assert_media_arrived(results)
    print(f"P2P audio similarity: {similarities}")
    for result in results.values():
        transport = result.stats.transport
        assert transport.direct.bytes_sent > 0 and transport.direct.bytes_received > 0
        assert transport.relay.bytes_sent == transport.relay.bytes_received == 0
    assert relay.channels_opened == 0 and relay.bytes_forwarded == 0 and relay.forwarded == []


def assert_relay_saw_only_ciphertext(relay: InMemoryRelay, results: dict[str, SideResult]) -> None:
    """Every relayed datagram is a media datagram (or a keyframe request) whose frames are SFrame
    ciphertext under one of the two members' KIDs; no encoded frame and no speech sample crosses
    in clear."""
    member_kids = {keys.kid() for keys in exporter_keys()}
    blob = b"|".join(relay.forwarded)
    media = [decode_datagram(d) for d in relay.forwarded if d[0] == 1]
    assert len(media) > 0.9 * len(relay.forwarded)
    for datagram in media:
        if datagram.fragment_index == 0:
            assert decode_header(datagram.fragment).kid in member_kids
    assert {d.kind for d in media} == {MediaKind.AUDIO, MediaKind.VIDEO}
    plaintexts = [p for result in results.values() for p in result.crypto.plaintexts]
    assert len(plaintexts) > 100
    checked = 0
    for payload in plaintexts:
        for start in range(0, max(len(payload) - 16, 1), max(len(payload) // 4, 1)):
            window = payload[start : start + 16]
            if len(set(window)) >= 8:  # runs of zeros also occur in datagram headers
                checked += 1
                assert window not in blob
    assert checked > 100
    for result in results.values():
        voiced = result.sent_audio[abs(result.sent_audio) > 2000]
        assert len(voiced) > 1000
        for start in range(0, len(voiced) - 8, len(voiced) // 50):
            assert voiced[start : start + 8].tobytes() not in blob  # 8 voiced samples of the canary speech


async def test_call_with_direct_disabled_goes_through_the_relay(call_speech: dict[str, Path], tmp_path: Path) -> None:
    relay = InMemoryRelay()
    transports = await connect_pair(relay, caller_direct=False)
    assert [t.path for t in transports] == [PathKind.RELAY, PathKind.RELAY]

    results = await run_media(transports, call_speech, tmp_path)

    similarities = assert_media_arrived(results)
    print(f"relay audio similarity: {similarities}, relayed {relay.bytes_forwarded} bytes")
    for result in results.values():
        assert result.stats.transport.direct.bytes_sent == 0 and result.stats.transport.relay.bytes_sent > 0
    # the relay carried exactly the media the transports sent (and their presence datagrams)
    media_forwarded = sum(len(d) for d in relay.forwarded if d[0] not in (PRESENCE_MAGIC, PRESENCE_ACK_MAGIC))
    assert media_forwarded == sum(r.stats.transport.relay.bytes_sent for r in results.values())
    assert_relay_saw_only_ciphertext(relay, results)


async def test_call_with_the_direct_path_blocked_falls_back_to_the_relay(
    call_speech: dict[str, Path], tmp_path: Path
) -> None:
    """The callee's checks reach the caller, but a firewall drops everything towards the callee
    (the caller only ever learns unreachable addresses): no pair works, both fall back."""
    black_hole = Endpoint(address="127.0.0.1", port=9)  # discard port: nothing answers

    def firewall(candidates: tuple[Candidate, ...]) -> tuple[Candidate, ...]:
        return tuple(Candidate(endpoint=black_hole, priority=c.priority) for c in candidates[:1])

    relay = InMemoryRelay()
    started = time.monotonic()
    transports = await connect_pair(relay, caller_sees=firewall, direct_timeout=0.5)
    fallback_seconds = time.monotonic() - started
    assert fallback_seconds < 0.5 + CONTROLLED_EXTRA_WAIT_SECONDS + 0.5
    assert [t.path for t in transports] == [PathKind.RELAY, PathKind.RELAY]

    results = await run_media(transports, call_speech, tmp_path)

    similarities = assert_media_arrived(results)
    print(f"blocked: fell back in {fallback_seconds:.2f} s, audio similarity {similarities}")
    for result in results.values():
        assert result.stats.transport.direct.bytes_sent == 0
    assert_relay_saw_only_ciphertext(relay, results)


@pytest.mark.parametrize("rekey_callee_late", [0.0, 0.3])
async def test_epoch_change_mid_call_keeps_the_media_playing(
    call_speech: dict[str, Path], tmp_path: Path, rekey_callee_late: float
) -> None:
    """Half-way through, both members move to a new MLS epoch (the callee ``rekey_callee_late``
    seconds after the caller): frames of the old epoch still play in the grace window."""
    caller_keys, callee_keys = exporter_keys(epoch=3)
    new_base = hashlib.sha256(b"next epoch").digest()[:16]
    loop = asyncio.get_running_loop()

    def rekey() -> None:
        caller_keys.on_new_epoch(base_key=new_base, epoch=4, now=loop.time())
        loop.call_later(
            rekey_callee_late, lambda: callee_keys.on_new_epoch(base_key=new_base, epoch=4, now=loop.time())
        )

    relay = InMemoryRelay()
    transports = await connect_pair(relay)
    cryptos = (
        RecordingCrypto(SFrameCrypto.end_to_end(caller_keys, clock=loop.time)),
        RecordingCrypto(SFrameCrypto.end_to_end(callee_keys, clock=loop.time)),
    )
    results = await run_media(transports, call_speech, tmp_path, cryptos=cryptos, during=rekey)
    for side, result in results.items():
        similarity = audio_similarity(result.sent_audio, pcm_of_file(result.received_audio_file))
        assert similarity >= AUDIO_MATCH_THRESHOLD, (side, similarity)
        # frames of the new epoch that arrived before the callee installed it were held, not lost
        assert result.stats.audio.frames_undecryptable == result.stats.video.frames_undecryptable == 0
        assert result.stats.audio.frames_lost == result.stats.video.frames_lost == 0
    assert caller_keys.epoch == callee_keys.epoch == 4


async def test_call_between_isolated_network_namespaces_uses_the_relay(
    call_speech: dict[str, Path], tmp_path: Path, namespace_pair: Callable[..., Any]
) -> None:
    """A real block: each peer's sockets live in its own network namespace, which reaches the
    host but not the other namespace. Every check fails, both sides fall back to the relay."""
    with namespace_pair() as (space_a, space_b):
        # control: two peers inside one namespace do reach each other directly
        control = await connect_pair(
            InMemoryRelay(),
            host_addresses=[space_a.address],
            caller_binder=space_a.bind_udp,
            callee_binder=space_a.bind_udp,
        )
        assert [t.path for t in control] == [PathKind.DIRECT, PathKind.DIRECT]
        for transport in control:
            await transport.close()

        relay = InMemoryRelay()
        started = time.monotonic()
        transports = await connect_pair(
            relay,
            direct_timeout=0.5,
            caller_addresses=[space_a.address, "127.0.0.1"],
            callee_addresses=[space_b.address, "127.0.0.1"],
            caller_binder=space_a.bind_udp,
            callee_binder=space_b.bind_udp,
        )
        fallback_seconds = time.monotonic() - started
        assert [t.path for t in transports] == [PathKind.RELAY, PathKind.RELAY]

        results = await run_media(transports, call_speech, tmp_path)

        similarities = assert_media_arrived(results)
        print(f"namespaces: fell back in {fallback_seconds:.2f} s, audio similarity {similarities}")
        for result in results.values():
            assert result.stats.transport.direct.bytes_sent == 0
        assert_relay_saw_only_ciphertext(relay, results)
