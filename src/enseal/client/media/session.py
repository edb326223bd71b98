"""The media pipeline of a call, in asyncio: pace, encode, protect, packetise, send; receive,
reassemble, unprotect, decode, write.

Sending, one task per source:
  a source (:class:`~enseal.media.PcmFrame` s of 20 ms, :class:`~enseal.media.VideoPicture` s at
  the frame rate) is played in real time: each frame is taken when the loop clock reaches its
  timestamp (relative to the first); it is encoded (Opus, VP8), SFrame-protected with
  :func:`~enseal.media.sframe_metadata` of the encoded frame as authenticated metadata
  (:class:`~enseal.client.media.frame_crypto.FrameCrypto`), split into datagrams
  (:class:`~enseal.media.Packetiser`) and sent on the transport. A source that runs out ends
  its task after the encoder is flushed.

Receiving, one task: every datagram is routed by its first byte (media, or a keyframe request of
:mod:`~enseal.client.media.feedback`) and, for media, by ``(kind, stream_id)`` to that stream's
:class:`~enseal.media.Depacketiser`, whose deadlines run on the loop clock (a timer calls
``poll`` at ``next_deadline``). Each reassembled frame is unprotected with the same metadata,
decoded and written to the kind's sink. RFC 9605 section 9.4: nothing but reassembly touches a
frame before SFrame has authenticated it. A frame that does not decrypt (forged, replayed, of an
epoch whose keys are gone) or does not decode is dropped and counted; when the VP8 decoder has
lost its reference it asks the sender for a keyframe (at most every
:data:`KEYFRAME_REQUEST_INTERVAL_SECONDS` per stream), and a sender forces at most one keyframe
every :data:`KEYFRAME_ANSWER_INTERVAL_SECONDS`.

Keys may change mid-call: the frame crypto is asked for every frame, so an MLS epoch change
(``MlsSFrameKeys.on_new_epoch``) takes effect with the next frame sent, and frames of the
previous epoch still decrypt during its grace window.

The session owns neither the transport nor the sinks: :meth:`MediaSession.stop` flushes the
jitter buffers into the sinks and returns the counters; the caller then closes both.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections import deque
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from typing import Any, Final, Protocol

from enseal.client.media.errors import TransportClosed
from enseal.client.media.feedback import (
    FEEDBACK_MAGIC,
    FEEDBACK_METADATA,
    KeyframeRequest,
    is_feedback_datagram,
    keyframe_request_body,
    parse_feedback_body,
)
from enseal.client.media.frame_crypto import FrameCrypto
from enseal.client.media.transport import MediaTransport, TransportStats
from enseal.errors import CryptoError, EnsealError, LocalProtocolError, RemoteProtocolError
from enseal.media import (
    AUDIO_CLOCK_RATE,
    DEFAULT_MTU,
    DEFAULT_OPUS_BITRATE,
    DEFAULT_VP8_BITRATE,
    VIDEO_CLOCK_RATE,
    Depacketiser,
    DepacketiserEvent,
    EncodedFrame,
    FrameReady,
    FramesLost,
    MediaKind,
    OpusDecoder,
    OpusEncoder,
    Packetiser,
    PcmFrame,
    VideoPicture,
    Vp8Decoder,
    Vp8Encoder,
    decode_datagram,
    sframe_metadata,
)
from enseal.media.video_source import DEFAULT_FPS
from enseal.sframe import ExpiredKeyIdError, UnknownKeyIdError

DEFAULT_AUDIO_STREAM_ID: Final = 1
DEFAULT_VIDEO_STREAM_ID: Final = 2

MAX_REMOTE_STREAMS: Final = 4
"""Remote streams one session decodes at once (a 1:1 call has one audio and one video; a
restarted stream takes a new id). Streams that never decrypted a frame are evicted first."""

MAX_FRAMES_AWAITING_KEY: Final = 32
"""Frames of one stream held while their key is not known yet (RFC 9605 section 4.4.4: "the
client MAY buffer the ciphertext and retry decryption once a key with that KID is received"):
the peer moved to a new MLS epoch a moment before this device merged the commit."""

AWAITING_KEY_SECONDS: Final = 1.0
"""How long such a frame is held before it is given up as undecryptable."""

KEYFRAME_REQUEST_INTERVAL_SECONDS: Final = 0.5
"""Least time between two keyframe requests for one remote stream."""

KEYFRAME_ANSWER_INTERVAL_SECONDS: Final = 0.25
"""Least time between two keyframes forced by requests (a flood of requests cannot turn every
frame into a keyframe)."""


class PcmSink(Protocol):
    """Where decoded audio goes (:class:`~enseal.media.AudioFileSink`, :class:`~enseal.media.PcmRecorder`)."""

    def write(self, frame: PcmFrame) -> None: ...


class PictureSink(Protocol):
    """Where decoded video goes (:class:`~enseal.media.VideoFileSink`)."""

    def write(self, picture: VideoPicture) -> None: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class KindStats:
    """Counters of one media kind."""

    frames_sent: int
    frames_received: int
    """Frames decrypted, decoded and written to the sink."""
    frames_lost: int
    """Frames the jitter buffer gave up (never arrived whole in time)."""
    frames_undecryptable: int
    """Frames SFrame refused (forged, replayed, unknown or expired key)."""
    frames_undecodable: int


@dataclass(frozen=True, slots=True, kw_only=True)
class MediaStats:
    audio: KindStats
    video: KindStats
    datagrams_malformed: int
    datagrams_unrouted: int
    """Media datagrams of a kind this session has no sink for, or beyond MAX_REMOTE_STREAMS."""
    keyframe_requests_sent: int
    keyframe_requests_received: int
    feedback_refused: int
    transport: TransportStats


class _KindCounters:
    __slots__ = ("lost", "received", "sent", "undecodable", "undecryptable")

    def __init__(self) -> None:
        self.sent = self.received = self.lost = self.undecryptable = self.undecodable = 0

    def snapshot(self) -> KindStats:
        return KindStats(
            frames_sent=self.sent,
            frames_received=self.received,
            frames_lost=self.lost,
            frames_undecryptable=self.undecryptable,
            frames_undecodable=self.undecodable,
        )


class _HeldFrame:
    __slots__ = ("frame", "plaintext", "refused", "since")

    def __init__(self, frame: EncodedFrame, since: float) -> None:
        self.frame = frame
        self.since = since
        self.plaintext: bytes | None = None
        self.refused = False

    @property
    def pending(self) -> bool:
        return self.plaintext is None and not self.refused


class _RemoteStream:
    __slots__ = (
        "authenticated",
        "awaiting_key",
        "decoder",
        "depacketiser",
        "kind",
        "last_keyframe_request",
        "stream_id",
    )

    def __init__(self, kind: MediaKind, stream_id: int) -> None:
        self.kind = kind
        self.stream_id = stream_id
        self.depacketiser = Depacketiser(kind=kind, stream_id=stream_id)
        self.decoder: OpusDecoder | Vp8Decoder = OpusDecoder() if kind is MediaKind.AUDIO else Vp8Decoder()
        self.authenticated = False
        self.last_keyframe_request = -float("inf")
        self.awaiting_key: deque[_HeldFrame] = deque()
        """Reassembled frames not played yet: the first one's key is not known yet."""


class MediaSession:
    """Real media of one call over one transport, both directions."""

    def __init__(
        self,
        *,
        transport: MediaTransport,
        crypto: FrameCrypto,
        audio_source: Iterator[PcmFrame] | None = None,
        video_source: Iterator[VideoPicture] | None = None,
        audio_sink: PcmSink | None = None,
        video_sink: PictureSink | None = None,
        video_fps: int = DEFAULT_FPS,
        audio_bitrate: int = DEFAULT_OPUS_BITRATE,
        video_bitrate: int = DEFAULT_VP8_BITRATE,
        audio_stream_id: int = DEFAULT_AUDIO_STREAM_ID,
        video_stream_id: int = DEFAULT_VIDEO_STREAM_ID,
        mtu: int = DEFAULT_MTU,
    ) -> None:
        self._transport = transport
        self._crypto = crypto
        self._audio_source = audio_source
        self._video_source = video_source
        self._audio_sink = audio_sink
        self._video_sink = video_sink
        self._video_fps = video_fps
        self._video_bitrate = video_bitrate
        self._audio_encoder = OpusEncoder(stream_id=audio_stream_id, bitrate=audio_bitrate)
        self._video_encoder: Vp8Encoder | None = None
        self._packetisers = {
            MediaKind.AUDIO: Packetiser(kind=MediaKind.AUDIO, stream_id=audio_stream_id, mtu=mtu),
            MediaKind.VIDEO: Packetiser(kind=MediaKind.VIDEO, stream_id=video_stream_id, mtu=mtu),
        }
        self._video_stream_id = video_stream_id
        self._streams: dict[tuple[MediaKind, int], _RemoteStream] = {}
        self._counters = {kind: _KindCounters() for kind in MediaKind}
        self._malformed = self._unrouted = 0
        self._keyframe_requests_sent = self._keyframe_requests_received = self._feedback_refused = 0
        self._last_forced_keyframe = -float("inf")
        self._senders: list[asyncio.Task[None]] = []
        self._receiver: asyncio.Task[None] | None = None
        self._feedback_tasks: set[asyncio.Task[None]] = set()
        self._timer: asyncio.TimerHandle | None = None
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopped = False

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Start sending the sources and receiving."""
        if self._loop is not None:
            raise LocalProtocolError("media session already started")
        self._loop = asyncio.get_running_loop()
        if self._audio_source is not None:
            self._senders.append(asyncio.create_task(self._until_closed(self._send_audio(self._audio_source))))
        if self._video_source is not None:
            self._senders.append(asyncio.create_task(self._until_closed(self._send_video(self._video_source))))
        self._receiver = asyncio.create_task(self._receive())

    @staticmethod
    async def _until_closed(sending: Coroutine[Any, Any, None]) -> None:
        """Run a sender; the owner closing the transport ends it quietly."""
        with contextlib.suppress(TransportClosed):
            await sending

    async def wait_sent(self) -> None:
        """Wait until every source has been played out and sent (or the transport was closed);
        raises what a sender raised (a lost path without relay, a source that cannot be read)."""
        if self._senders:
            await asyncio.gather(*self._senders)

    async def stop(self, *, linger: float = 0.0) -> MediaStats:
        """Stop: wait ``linger`` seconds for datagrams in flight, end sending and receiving, flush
        the jitter buffers into the sinks; returns the counters."""
        if linger > 0:
            await asyncio.sleep(linger)
        self._stopped = True
        tasks = [*self._senders, *self._feedback_tasks]
        if self._receiver is not None:
            tasks.append(self._receiver)
        for task in tasks:
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        if self._timer is not None:
            self._timer.cancel()
        for stream in list(self._streams.values()):
            self._handle(stream, stream.depacketiser.flush())
            self._drain(stream, self._counters[stream.kind], final=True)
        for result in results:
            if isinstance(result, BaseException) and not isinstance(result, asyncio.CancelledError):
                raise result
        if self._error is not None:
            raise self._error
        return self.stats

    async def __aenter__(self) -> MediaSession:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if not self._stopped:
            await self.stop()

    @property
    def stats(self) -> MediaStats:
        return MediaStats(
            audio=self._counters[MediaKind.AUDIO].snapshot(),
            video=self._counters[MediaKind.VIDEO].snapshot(),
            datagrams_malformed=self._malformed,
            datagrams_unrouted=self._unrouted,
            keyframe_requests_sent=self._keyframe_requests_sent,
            keyframe_requests_received=self._keyframe_requests_received,
            feedback_refused=self._feedback_refused,
            transport=self._transport.stats,
        )

    def _now(self) -> float:
        assert self._loop is not None
        return self._loop.time()

    # -- sending --------------------------------------------------------------------------------

    async def _wait_until(self, at: float) -> None:
        delay = at - self._now()
        await asyncio.sleep(max(delay, 0.0))

    async def _send_audio(self, source: Iterator[PcmFrame]) -> None:
        start = self._now()
        origin: int | None = None
        for frame in source:
            origin = frame.timestamp if origin is None else origin
            await self._wait_until(start + (frame.timestamp - origin) / AUDIO_CLOCK_RATE)
            for encoded in self._audio_encoder.encode(frame):
                await self._send_frame(encoded)
        for encoded in self._audio_encoder.flush():
            await self._send_frame(encoded)

    async def _send_video(self, source: Iterator[VideoPicture]) -> None:
        start = self._now()
        origin: int | None = None
        for picture in source:
            origin = picture.timestamp if origin is None else origin
            await self._wait_until(start + (picture.timestamp - origin) / VIDEO_CLOCK_RATE)
            if self._video_encoder is None:
                self._video_encoder = Vp8Encoder(
                    stream_id=self._video_stream_id,
                    width=picture.width,
                    height=picture.height,
                    fps=self._video_fps,
                    bitrate=self._video_bitrate,
                )
            for encoded in self._video_encoder.encode(picture):
                await self._send_frame(encoded)
        if self._video_encoder is not None:
            for encoded in self._video_encoder.flush():
                await self._send_frame(encoded)

    async def _send_frame(self, frame: EncodedFrame) -> None:
        # The SFrame metadata binds every frame-level header field (enseal.media.datagram).
        protected = self._crypto.protect(frame.payload, sframe_metadata(frame))
        for datagram in self._packetisers[frame.kind].packetise(frame, protected):
            await self._transport.send(datagram)
        self._counters[frame.kind].sent += 1

    # -- receiving ------------------------------------------------------------------------------

    async def _receive(self) -> None:
        while True:
            try:
                data = await self._transport.recv()
            except TransportClosed:
                return  # the owner closed the transport: the call is over
            if is_feedback_datagram(data):
                self._on_feedback(data[1:])
                continue
            self._on_media(data)

    def _on_media(self, data: bytes) -> None:
        try:
            datagram = decode_datagram(data)
        except RemoteProtocolError:
            self._malformed += 1
            return
        stream = self._stream(datagram.kind, datagram.stream_id)
        if stream is None:
            self._unrouted += 1
            return
        try:
            events = stream.depacketiser.push(datagram, self._now())
        except RemoteProtocolError:
            self._malformed += 1
            return
        self._handle(stream, events)
        self._schedule()

    def _stream(self, kind: MediaKind, stream_id: int) -> _RemoteStream | None:
        stream = self._streams.get((kind, stream_id))
        if stream is not None or (self._audio_sink if kind is MediaKind.AUDIO else self._video_sink) is None:
            return stream
        if len(self._streams) >= MAX_REMOTE_STREAMS:
            evictable = next((key for key, s in self._streams.items() if not s.authenticated), None)
            if evictable is None:
                return None
            del self._streams[evictable]
        stream = self._streams[(kind, stream_id)] = _RemoteStream(kind, stream_id)
        return stream

    def _handle(self, stream: _RemoteStream, events: list[DepacketiserEvent]) -> None:
        counters = self._counters[stream.kind]
        for event in events:
            if isinstance(event, FramesLost):
                counters.lost += event.count
                continue
            self._play(stream, event, counters)
        if events and isinstance(stream.decoder, Vp8Decoder) and stream.decoder.keyframe_needed:
            self._request_keyframe(stream)

    def _play(self, stream: _RemoteStream, ready: FrameReady, counters: _KindCounters) -> None:
        stream.awaiting_key.append(_HeldFrame(ready.frame, self._now()))
        self._drain(stream, counters, final=False)

    def _settle(self, held: _HeldFrame) -> None:
        """Try to decrypt a pending frame: afterwards it has its plaintext, is refused, or (its key
        is not known yet) is still pending."""
        if not held.pending:
            return
        frame = held.frame
        try:
            held.plaintext = self._crypto.unprotect(frame.payload, sframe_metadata(frame))
        except UnknownKeyIdError as exc:
            held.refused = isinstance(exc, ExpiredKeyIdError)  # an epoch whose keys are gone: drop
        except (RemoteProtocolError, CryptoError):
            held.refused = True

    def _a_later_frame_opens(self, queue: deque[_HeldFrame]) -> bool:
        for held in itertools.islice(queue, 1, None):
            self._settle(held)
            if held.plaintext is not None:
                return True
        return False

    def _drain(self, stream: _RemoteStream, counters: _KindCounters, *, final: bool) -> None:
        """Decrypt, decode and play the held frames in order. A frame whose key is unknown holds
        the frames behind it (during an epoch change they are of the same new epoch) until it
        decrypts, its wait ends, or a later frame decrypts (then its key is not coming)."""
        queue = stream.awaiting_key
        while queue:
            head = queue[0]
            self._settle(head)
            if head.pending:
                given_up = (
                    final
                    or self._now() - head.since >= AWAITING_KEY_SECONDS
                    or len(queue) > MAX_FRAMES_AWAITING_KEY
                    or self._a_later_frame_opens(queue)
                )
                if not given_up:
                    return
                head.refused = True
            queue.popleft()
            if head.plaintext is None:
                counters.undecryptable += 1
                continue
            stream.authenticated = True
            self._decode(stream, head.frame.with_payload(head.plaintext), counters)

    def _decode(self, stream: _RemoteStream, frame: EncodedFrame, counters: _KindCounters) -> None:
        decoder = stream.decoder
        try:
            if isinstance(decoder, OpusDecoder):
                pcm = decoder.decode(frame)
                pictures: list[VideoPicture] = []
            else:
                pictures = decoder.decode(frame)
                pcm = []
        except RemoteProtocolError:
            counters.undecodable += 1
            return
        for samples in pcm:
            assert self._audio_sink is not None
            self._audio_sink.write(samples)
        for picture in pictures:
            assert self._video_sink is not None
            self._video_sink.write(picture)
        if pcm or pictures:
            counters.received += 1

    def _schedule(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        deadlines = [d for s in self._streams.values() if (d := s.depacketiser.next_deadline()) is not None]
        if deadlines and not self._stopped:
            assert self._loop is not None
            self._timer = self._loop.call_at(min(deadlines), self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        try:
            now = self._now()
            for stream in list(self._streams.values()):
                self._handle(stream, stream.depacketiser.poll(now))
            self._schedule()
        except Exception as exc:
            self._error = exc

    # -- keyframe requests ----------------------------------------------------------------------

    def _request_keyframe(self, stream: _RemoteStream) -> None:
        now = self._now()
        if now - stream.last_keyframe_request < KEYFRAME_REQUEST_INTERVAL_SECONDS or self._stopped:
            return
        stream.last_keyframe_request = now
        body = keyframe_request_body(KeyframeRequest(stream_id=stream.stream_id))
        datagram = bytes([FEEDBACK_MAGIC]) + self._crypto.protect(body, FEEDBACK_METADATA)
        self._keyframe_requests_sent += 1
        task = asyncio.create_task(self._send_quietly(datagram))
        self._feedback_tasks.add(task)
        task.add_done_callback(self._feedback_tasks.discard)

    async def _send_quietly(self, datagram: bytes) -> None:
        with contextlib.suppress(EnsealError):
            await self._transport.send(datagram)

    def _on_feedback(self, protected: bytes) -> None:
        try:
            request = parse_feedback_body(self._crypto.unprotect(protected, FEEDBACK_METADATA))
        except (RemoteProtocolError, CryptoError):
            self._feedback_refused += 1
            return
        self._keyframe_requests_received += 1
        now = self._now()
        if (
            request.stream_id == self._video_stream_id
            and self._video_encoder is not None
            and now - self._last_forced_keyframe >= KEYFRAME_ANSWER_INTERVAL_SECONDS
        ):
            self._last_forced_keyframe = now
            self._video_encoder.request_keyframe()
