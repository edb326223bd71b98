"""Two in-process peers of one call: candidate exchange, frame keys, and a full media run."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from enseal.client.media import (
    CallMediaTransport,
    InMemoryRelay,
    MediaSession,
    MediaStats,
    SFrameCrypto,
    SocketBinder,
    connect_media,
)
from enseal.media import AudioFileSink, AudioFileSource, GeneratedVideoSource, VideoFileSink
from enseal.sframe import MlsSFrameKeys
from enseal.signalling import Candidate, CheckRole, ConnectivityKey

CALL_ID = "TestCallTestCallTestCa"
VIDEO_SECONDS = 2.0
LINGER = 0.4
"""Seconds to wait after sending for the last datagrams before stopping."""


class CandidateMailbox:
    """``call.candidates`` in both directions, as the server would route them; ``rewrite`` may
    change what one side receives (a firewall in the middle)."""

    def __init__(self) -> None:
        self._queues: dict[CheckRole, asyncio.Queue[tuple[Candidate, ...]]] = {
            role: asyncio.Queue() for role in CheckRole
        }

    def side(
        self, role: CheckRole, rewrite: Callable[[tuple[Candidate, ...]], tuple[Candidate, ...]] | None = None
    ) -> _Side:
        other = CheckRole.CONTROLLED if role is CheckRole.CONTROLLING else CheckRole.CONTROLLING
        return _Side(outbox=self._queues[other], inbox=self._queues[role], rewrite=rewrite)


@dataclass
class _Side:
    outbox: asyncio.Queue[tuple[Candidate, ...]]
    inbox: asyncio.Queue[tuple[Candidate, ...]]
    rewrite: Callable[[tuple[Candidate, ...]], tuple[Candidate, ...]] | None

    async def send(self, candidates: tuple[Candidate, ...]) -> None:
        await self.outbox.put(candidates)

    async def receive(self) -> tuple[Candidate, ...]:
        candidates = await self.inbox.get()
        return candidates if self.rewrite is None else self.rewrite(candidates)


def exporter_keys(epoch: int = 3) -> tuple[MlsSFrameKeys, MlsSFrameKeys]:
    """The SFrame keys of two members of one MLS group (leaves 0 and 1), keyed from the same
    exporter output, as each member computes it from its own copy of the epoch secrets."""
    exporter_secret = hashlib.sha256(b"epoch exporter secret of the test call").digest()

    def exporter(label: bytes, context: bytes, length: int) -> bytes:
        return hashlib.sha256(exporter_secret + label + context).digest()[:length]

    return (
        MlsSFrameKeys.from_exporter(exporter, epoch=epoch, own_leaf_index=0),
        MlsSFrameKeys.from_exporter(exporter, epoch=epoch, own_leaf_index=1),
    )


class RecordingCrypto:
    """The real SFrame frame crypto, also keeping every plaintext it protected (what must never
    appear on the wire)."""

    def __init__(self, inner: SFrameCrypto) -> None:
        self.inner = inner
        self.plaintexts: list[bytes] = []

    @property
    def encryption(self):  # type: ignore[no-untyped-def]
        return self.inner.encryption

    def protect(self, payload: bytes, metadata: bytes) -> bytes:
        self.plaintexts.append(payload)
        return self.inner.protect(payload, metadata)

    def unprotect(self, data: bytes, metadata: bytes) -> bytes:
        return self.inner.unprotect(data, metadata)


async def connect_pair(
    relay: InMemoryRelay,
    *,
    caller_direct: bool = True,
    callee_direct: bool = True,
    caller_sees: Callable[[tuple[Candidate, ...]], tuple[Candidate, ...]] | None = None,
    direct_timeout: float = 3.0,
    host_addresses: list[str] | None = None,
    caller_addresses: list[str] | None = None,
    callee_addresses: list[str] | None = None,
    caller_binder: SocketBinder | None = None,
    callee_binder: SocketBinder | None = None,
) -> tuple[CallMediaTransport, CallMediaTransport]:
    """Both sides of the call run :func:`connect_media` at once, as after an accept."""
    key = ConnectivityKey.derive(bytes(range(32)), CALL_ID)
    mailbox = CandidateMailbox()
    return await asyncio.gather(
        connect_media(
            role=CheckRole.CONTROLLING,
            key=key,
            exchange=mailbox.side(CheckRole.CONTROLLING, caller_sees),
            relay=relay.connect,
            direct=caller_direct,
            direct_timeout=direct_timeout,
            host_addresses=caller_addresses or host_addresses,
            socket_binder=caller_binder,
        ),
        connect_media(
            role=CheckRole.CONTROLLED,
            key=key,
            exchange=mailbox.side(CheckRole.CONTROLLED),
            relay=relay.connect,
            direct=callee_direct,
            direct_timeout=direct_timeout,
            host_addresses=callee_addresses or host_addresses,
            socket_binder=callee_binder,
        ),
    )


@dataclass
class SideResult:
    sent_audio: npt.NDArray[np.int16]
    received_audio_file: Path
    received_video_file: Path
    stats: MediaStats
    crypto: RecordingCrypto


def pcm_of_file(path: Path) -> npt.NDArray[np.int16]:
    with AudioFileSource(path) as source:
        frames = [frame.samples for frame in source]
    return np.concatenate(frames) if frames else np.zeros(0, dtype=np.int16)


async def run_media(
    transports: tuple[CallMediaTransport, CallMediaTransport],
    speech: dict[str, Path],
    folder: Path,
    *,
    cryptos: tuple[RecordingCrypto, RecordingCrypto] | None = None,
    during: Callable[[], object] | None = None,
) -> dict[str, SideResult]:
    """Each side speaks its clip and sends the test pattern; each records what it receives to
    .wav and .mkv files. ``during`` runs half-way through (an epoch change, say)."""
    if cryptos is None:
        caller_keys, callee_keys = exporter_keys()
        cryptos = (
            RecordingCrypto(SFrameCrypto.end_to_end(caller_keys)),
            RecordingCrypto(SFrameCrypto.end_to_end(callee_keys)),
        )
    sessions = {}
    files: list[AudioFileSink | VideoFileSink | AudioFileSource] = []
    for side, transport, crypto in zip(("caller", "callee"), transports, cryptos, strict=True):
        audio_sink = AudioFileSink(folder / f"{side}-received.wav")
        video_sink = VideoFileSink(folder / f"{side}-received.mkv")
        audio_source = AudioFileSource(speech[side])
        files += [audio_sink, video_sink, audio_source]
        sessions[side] = MediaSession(
            transport=transport,
            crypto=crypto,
            audio_source=audio_source,
            video_source=GeneratedVideoSource(VIDEO_SECONDS),
            audio_sink=audio_sink,
            video_sink=video_sink,
        )
    for session in sessions.values():
        await session.start()
    if during is not None:
        await asyncio.sleep(VIDEO_SECONDS / 2)
        during()
    await asyncio.gather(*(s.wait_sent() for s in sessions.values()))
    await asyncio.sleep(LINGER)
    stats = {side: await session.stop() for side, session in sessions.items()}
    for file in files:
        file.close()
    for transport in transports:
        await transport.close()
    other = {"caller": "callee", "callee": "caller"}
    return {
        side: SideResult(
            sent_audio=pcm_of_file(speech[side]),
            received_audio_file=folder / f"{other[side]}-received.wav",
            received_video_file=folder / f"{other[side]}-received.mkv",
            stats=stats[side],
            crypto=crypto,
        )
        for side, crypto in zip(("caller", "callee"), cryptos, strict=True)
    }
