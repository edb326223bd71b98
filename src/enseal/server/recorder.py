"""The recorder: a visible service participant of a standard-encryption call (ARCHITECTURE.md
section 1: "Without E2EE they work: the service joins as a visible participant"; docs/protocol.md,
"Recordings"; decision record 0809).

It sits on the relay path of the node that carries a side's relay connection and sees the
datagrams that side sends. It reassembles each stream's frames (``enseal.media.Depacketiser``),
decrypts them with the call's media key as an SFrame receiver (the caller sends as sender 0, the
callee as sender 1, RFC 9605 with the MLS KID layout at epoch 0), and stores the decrypted
encoded frames sealed at rest (envelope encryption, ``enseal.storage.sealed``), one chunk every
:data:`CHUNK_SECONDS`. It is never created for an end-to-end encrypted call: there is no key.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Final

from enseal.errors import EnsealError
from enseal.media import Datagram, Depacketiser, DepacketiserEvent, FrameReady, decode_datagram, sframe_metadata
from enseal.server.recording_format import RecordedFrame
from enseal.sframe import MlsSFrameKeys
from enseal.storage import Store

log = logging.getLogger("enseal.server.recorder")

RECORDER_SENDER_INDEX: Final = 2
"""The recorder's own SFrame sender index (it never sends; the two devices are 0 and 1)."""
MEDIA_KEY_PURPOSE: Final = "call_media_key"
RECORDING_PURPOSE: Final = "recording"
CHUNK_SECONDS: Final = 2.0
"""How often buffered frames are sealed and stored."""
MAX_STREAMS: Final = 8
"""Streams one recorder reassembles at once (a 1:1 call has two per side)."""
MAX_RECORDING_BYTES: Final = 512 * 1024 * 1024
"""Frame bytes one recorder stores; beyond, frames are counted and dropped."""


def media_key_name(call_id: str) -> str:
    """The sealed record holding a standard call's media key."""
    return f"call.media_key.{call_id}"


class Recorder:
    """Records the sides of one call whose relay connections are on this node."""

    def __init__(
        self, store: Store, clock: Callable[[], datetime], *, call_id: str, recording_id: str, media_key: bytes
    ) -> None:
        self._store = store
        self._clock = clock
        self.call_id = call_id
        self.recording_id = recording_id
        self._keys = MlsSFrameKeys(base_key=media_key, epoch=0, own_leaf_index=RECORDER_SENDER_INDEX)
        self._streams: dict[tuple[str, int, int], Depacketiser] = {}
        self._buffer = bytearray()
        self._buffered_frames = 0
        self.frames = 0
        self.stored_bytes = 0
        self.undecryptable = 0
        self.malformed = 0
        self.dropped = 0
        self._flusher: asyncio.Task[None] | None = asyncio.get_running_loop().create_task(self._flush_periodically())

    @classmethod
    async def open(
        cls, store: Store, clock: Callable[[], datetime], *, call_id: str, recording_id: str
    ) -> Recorder | None:
        """A recorder with the call's media key, or None if the call has no key (not a standard call)."""
        async with store.transaction() as tx:
            try:
                key = await tx.sealed.open_named(media_key_name(call_id))
            except EnsealError:
                return None
        return cls(store, clock, call_id=call_id, recording_id=recording_id, media_key=key)

    def take(self, side: str, data: bytes) -> None:
        """A datagram ``side`` sent through the relay."""
        try:
            datagram = decode_datagram(data)
        except EnsealError:
            self.malformed += 1  # keyframe requests and connectivity checks are not media
            return
        depacketiser = self._depacketiser(side, datagram)
        if depacketiser is None:
            self.dropped += 1
            return
        try:
            events = depacketiser.push(datagram, time.monotonic())
        except EnsealError:
            self.malformed += 1
            return
        self._record(events)

    def _depacketiser(self, side: str, datagram: Datagram) -> Depacketiser | None:
        key = (side, int(datagram.kind), datagram.stream_id)
        found = self._streams.get(key)
        if found is None and len(self._streams) < MAX_STREAMS:
            found = self._streams[key] = Depacketiser(kind=datagram.kind, stream_id=datagram.stream_id)
        return found

    def _record(self, events: Iterable[DepacketiserEvent]) -> None:
        for event in events:
            if not isinstance(event, FrameReady):
                continue
            frame = event.frame
            try:
                decrypted = self._keys.unprotect_frame(frame.payload, time.monotonic(), sframe_metadata(frame))
            except EnsealError:
                self.undecryptable += 1
                continue
            record = RecordedFrame(sender=int(decrypted.sender), frame=frame.with_payload(decrypted.plaintext)).encode()
            if self.stored_bytes + len(self._buffer) + len(record) > MAX_RECORDING_BYTES:
                self.dropped += 1
                continue
            self._buffer += record
            self._buffered_frames += 1
            self.frames += 1

    async def _flush_periodically(self) -> None:
        while True:
            await asyncio.sleep(CHUNK_SECONDS)
            try:
                await self.flush()
            except EnsealError:
                log.exception("could not store a recording chunk of call %s", self.call_id[:8])

    async def flush(self) -> None:
        """Seal and store what is buffered as one chunk."""
        if not self._buffer:
            return
        chunk, frames = bytes(self._buffer), self._buffered_frames
        self._buffer.clear()
        self._buffered_frames = 0
        async with self._store.transaction() as tx:
            now = self._clock()
            record_id = await tx.sealed.seal(purpose=RECORDING_PURPOSE, plaintext=chunk, now=now)
            await tx.recordings.add_chunk(
                self.recording_id, sealed_record_id=record_id, frames=frames, size=len(chunk), now=now
            )
        self.stored_bytes += len(chunk)

    async def stop(self) -> None:
        """Release the frames still held, store the last chunk."""
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
            self._flusher = None
        for depacketiser in self._streams.values():
            self._record(depacketiser.flush())
        self._streams.clear()
        await self.flush()
        log.info(
            "recording %s of call %s: %d frames, %d undecryptable",
            self.recording_id[:8],
            self.call_id[:8],
            self.frames,
            self.undecryptable,
        )
