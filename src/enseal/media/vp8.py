"""VP8 encoder and decoder (RFC 6386) for real-time calls, through PyAV (libvpx / FFmpeg vp8).

Encoder settings (docs/decisions/0103-media-codec-settings.md): ``deadline=realtime``,
``cpu-used=8``, no look-ahead (``lag-in-frames=0``) and no alternate reference frames, so each
picture in gives its encoded frame out at once; error-resilient mode; constant bit rate with a
one-second buffer; keyframes every ``keyframe_interval`` pictures and on demand
(:meth:`Vp8Encoder.request_keyframe`, for a receiver that joined or lost a frame); the encoder
never drops pictures, so frame numbers and pictures correspond one to one.

The decoder never trusts its input. Before the codec sees a payload it checks the frame header
of RFC 6386 section 9.1 (frame tag, keyframe start code, size within
:data:`~enseal.media.frames.MAX_VIDEO_DIMENSION` and
:data:`~enseal.media.frames.MAX_VIDEO_PIXELS`, so a hostile keyframe cannot make it allocate a
16383x16383 picture; even, as I420 pictures need) and that the keyframe bit agrees with the
frame's ``keyframe`` flag. Every failure raises :class:`CorruptFrameError`.

A delta frame is only decodable on top of the frame just before it, so the decoder is a state
machine (:class:`Vp8DecoderState`, table :data:`VP8_DECODER_TRANSITIONS`): after a gap in frame
numbers or a corrupt frame it discards delta frames until the next keyframe and reports
``keyframe_needed`` so the caller can ask the sender for one.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import av
import av.error
from av.video.frame import PictureType

from enseal.errors import LocalProtocolError
from enseal.media.av_frames import (
    VIDEO_TIME_BASE,
    encoded_frame_from_packet,
    picture_from_video_frame,
    video_frame_from_picture,
)
from enseal.media.errors import CorruptFrameError
from enseal.media.frame_order import DecoderInputCheck, FrameNumbering
from enseal.media.frames import (
    MAX_VIDEO_DIMENSION,
    MAX_VIDEO_PIXELS,
    VIDEO_CLOCK_RATE,
    EncodedFrame,
    MediaKind,
    VideoPicture,
    check_picture_size,
    check_stream_id,
)
from enseal.media.video_source import DEFAULT_FPS, DEFAULT_HEIGHT, DEFAULT_WIDTH, check_fps

DEFAULT_VP8_BITRATE = 300_000
"""Default VP8 bit rate in bit/s (good quality for 320x240 at 15 fps)."""

MIN_VP8_BITRATE = 30_000
MAX_VP8_BITRATE = 10_000_000

DEFAULT_KEYFRAME_INTERVAL = 45
"""Default pictures between periodic keyframes (3 s at 15 fps)."""

MAX_KEYFRAME_INTERVAL = 3_600

MAX_VP8_PAYLOAD = 4 * 1024 * 1024
"""Largest VP8 frame the decoder accepts (far above any frame of MAX_VIDEO_PIXELS)."""

VP8_KEYFRAME_START_CODE = b"\x9d\x01\x2a"
"""RFC 6386 section 9.1: a keyframe's start code."""

_FRAME_TAG_SIZE = 3
_KEYFRAME_HEADER_SIZE = 10
_MAX_VP8_VERSION = 3


@dataclass(frozen=True, slots=True, kw_only=True)
class Vp8FrameHeader:
    """The uncompressed data chunk at the start of a VP8 frame (RFC 6386 section 9.1)."""

    keyframe: bool
    version: int
    show_frame: bool
    first_partition_size: int
    width: int | None
    height: int | None


def parse_vp8_header(payload: bytes) -> Vp8FrameHeader:
    """Strictly decode the frame tag (and keyframe header) of a VP8 frame."""
    if not _FRAME_TAG_SIZE <= len(payload) <= MAX_VP8_PAYLOAD:
        raise CorruptFrameError("VP8 frame size out of range", f"{len(payload)} bytes")
    tag = int.from_bytes(payload[:_FRAME_TAG_SIZE], "little")
    # RFC 6386 section 9.1: "key_frame: 1 bit ... 0 for key frames, 1 for interframes".
    keyframe = tag & 1 == 0
    version = (tag >> 1) & 0b111
    show_frame = bool((tag >> 4) & 1)
    first_partition_size = tag >> 5
    if version > _MAX_VP8_VERSION:
        raise CorruptFrameError("VP8 version must be 0 to 3 (RFC 6386 section 9.1)", str(version))
    header_size = _KEYFRAME_HEADER_SIZE if keyframe else _FRAME_TAG_SIZE
    if len(payload) < header_size or first_partition_size > len(payload) - header_size:
        raise CorruptFrameError(
            "VP8 first partition runs past the frame (RFC 6386 section 9.1)",
            f"partition {first_partition_size} bytes, frame {len(payload)} bytes",
        )
    size = _keyframe_size(payload) if keyframe else None
    return Vp8FrameHeader(
        keyframe=keyframe,
        version=version,
        show_frame=show_frame,
        first_partition_size=first_partition_size,
        width=size[0] if size else None,
        height=size[1] if size else None,
    )


def _keyframe_size(payload: bytes) -> tuple[int, int]:
    """Check the start code and return the picture size of a keyframe header (RFC 6386 section 9.1)."""
    if payload[3:6] != VP8_KEYFRAME_START_CODE:
        raise CorruptFrameError("VP8 keyframe start code must be 9d 01 2a (RFC 6386 section 9.1)")
    width = int.from_bytes(payload[6:8], "little") & 0x3FFF  # the top 2 bits are the scale
    height = int.from_bytes(payload[8:10], "little") & 0x3FFF
    if not (0 < width <= MAX_VIDEO_DIMENSION and 0 < height <= MAX_VIDEO_DIMENSION) or (
        width * height > MAX_VIDEO_PIXELS
    ):
        raise CorruptFrameError("VP8 keyframe size out of bounds", f"{width}x{height}")
    if width % 2 or height % 2:
        # VP8 allows odd sizes, but the chain's pictures are I420 with whole chroma samples.
        raise CorruptFrameError("VP8 keyframe size must be even", f"{width}x{height}")
    return width, height


class Vp8Encoder:
    """Encodes the pictures of one video stream, each with a strictly later timestamp."""

    def __init__(
        self,
        *,
        stream_id: int = 0,
        width: int = DEFAULT_WIDTH,
        height: int = DEFAULT_HEIGHT,
        fps: int = DEFAULT_FPS,
        bitrate: int = DEFAULT_VP8_BITRATE,
        keyframe_interval: int = DEFAULT_KEYFRAME_INTERVAL,
    ) -> None:
        check_stream_id(stream_id)
        check_picture_size(width, height)
        check_fps(fps)
        if not MIN_VP8_BITRATE <= bitrate <= MAX_VP8_BITRATE:
            raise LocalProtocolError(f"VP8 bitrate must be in [{MIN_VP8_BITRATE}, {MAX_VP8_BITRATE}]")
        if not 1 <= keyframe_interval <= MAX_KEYFRAME_INTERVAL:
            raise LocalProtocolError(f"keyframe interval must be in [1, {MAX_KEYFRAME_INTERVAL}] pictures")
        self._stream_id = stream_id
        self._width, self._height = width, height
        self._duration = VIDEO_CLOCK_RATE // fps
        context = av.CodecContext.create("libvpx", "w")
        context.width, context.height = width, height
        context.pix_fmt = "yuv420p"
        context.time_base = VIDEO_TIME_BASE
        context.framerate = Fraction(fps)
        context.bit_rate = bitrate
        context.gop_size = keyframe_interval
        context.qmin, context.qmax = 4, 56
        context.thread_count = 1
        context.options = {
            "deadline": "realtime",
            "cpu-used": "8",
            "lag-in-frames": "0",
            "auto-alt-ref": "0",
            "error-resilient": "1",
            "drop-threshold": "0",
            # Cap a keyframe at 3x an average frame, so it does not burst the link.
            "max-intra-rate": "300",
            # minrate = maxrate = bitrate selects libvpx's constant-bit-rate mode.
            "minrate": str(bitrate),
            "maxrate": str(bitrate),
            "bufsize": str(bitrate),
        }
        context.open()
        self._context = context
        self._numbering = FrameNumbering()
        self._last_timestamp: int | None = None
        self._keyframe_requested = False
        self._flushed = False

    def request_keyframe(self) -> None:
        """Make the next encoded picture a keyframe (a receiver joined or lost a frame)."""
        self._keyframe_requested = True

    def encode(self, picture: VideoPicture) -> list[EncodedFrame]:
        """Encode one picture; returns its encoded frame."""
        if self._flushed:
            raise LocalProtocolError("encoder was flushed")
        if (picture.width, picture.height) != (self._width, self._height):
            raise LocalProtocolError(
                f"encoder is {self._width}x{self._height}, picture is {picture.width}x{picture.height}"
            )
        if self._last_timestamp is not None and picture.timestamp <= self._last_timestamp:
            raise LocalProtocolError(
                f"picture timestamps must increase: {picture.timestamp} after {self._last_timestamp}"
            )
        self._last_timestamp = picture.timestamp
        av_frame = video_frame_from_picture(picture)
        if self._keyframe_requested:
            # FFmpeg's libvpx wrapper turns an I picture type into VPX_EFLAG_FORCE_KF.
            av_frame.pict_type = PictureType.I
            self._keyframe_requested = False
        return self._wrap(self._context.encode(av_frame))

    def flush(self) -> list[EncodedFrame]:
        """Drain the encoder at the end of the stream."""
        if self._flushed:
            return []
        self._flushed = True
        return self._wrap(self._context.encode(None))

    def _wrap(self, packets: list[av.Packet[Any]]) -> list[EncodedFrame]:
        return [
            encoded_frame_from_packet(
                packet,
                kind=MediaKind.VIDEO,
                stream_id=self._stream_id,
                frame_number=self._numbering.take(),
                duration=self._duration,
                keyframe=packet.is_keyframe,
            )
            for packet in packets
        ]


class Vp8DecoderState(enum.Enum):
    AWAITING_KEYFRAME = "awaiting keyframe"
    """Nothing decodable yet, or the reference was lost: delta frames are discarded."""
    DECODING = "decoding"
    """The reference picture is good: the next delta frame in sequence can be decoded."""


class Vp8Input(enum.Enum):
    KEYFRAME = "keyframe"
    DELTA_IN_SEQUENCE = "delta frame right after the last accepted frame"
    DELTA_AFTER_GAP = "delta frame after a gap in frame numbers"
    CORRUPT = "frame the codec could not decode"


VP8_DECODER_TRANSITIONS: dict[tuple[Vp8DecoderState, Vp8Input], Vp8DecoderState] = {
    (Vp8DecoderState.AWAITING_KEYFRAME, Vp8Input.KEYFRAME): Vp8DecoderState.DECODING,
    (Vp8DecoderState.AWAITING_KEYFRAME, Vp8Input.DELTA_IN_SEQUENCE): Vp8DecoderState.AWAITING_KEYFRAME,
    (Vp8DecoderState.AWAITING_KEYFRAME, Vp8Input.DELTA_AFTER_GAP): Vp8DecoderState.AWAITING_KEYFRAME,
    (Vp8DecoderState.AWAITING_KEYFRAME, Vp8Input.CORRUPT): Vp8DecoderState.AWAITING_KEYFRAME,
    (Vp8DecoderState.DECODING, Vp8Input.KEYFRAME): Vp8DecoderState.DECODING,
    (Vp8DecoderState.DECODING, Vp8Input.DELTA_IN_SEQUENCE): Vp8DecoderState.DECODING,
    (Vp8DecoderState.DECODING, Vp8Input.DELTA_AFTER_GAP): Vp8DecoderState.AWAITING_KEYFRAME,
    (Vp8DecoderState.DECODING, Vp8Input.CORRUPT): Vp8DecoderState.AWAITING_KEYFRAME,
}
"""Where the decoder goes on each input; it decodes a frame only on arriving in DECODING."""


class Vp8Decoder:
    """Decodes the :class:`EncodedFrame` s of one video stream, in frame-number order."""

    def __init__(self) -> None:
        self._context = av.CodecContext.create("vp8", "r")
        self._context.thread_count = 1
        self._context.open()
        self._input = DecoderInputCheck(MediaKind.VIDEO)
        self._state = Vp8DecoderState.AWAITING_KEYFRAME

    @property
    def state(self) -> Vp8DecoderState:
        return self._state

    @property
    def keyframe_needed(self) -> bool:
        """True while delta frames are being discarded: ask the sender for a keyframe."""
        return self._state is Vp8DecoderState.AWAITING_KEYFRAME

    def _move(self, event: Vp8Input) -> Vp8DecoderState:
        self._state = VP8_DECODER_TRANSITIONS[(self._state, event)]
        return self._state

    def decode(self, frame: EncodedFrame) -> list[VideoPicture]:
        """Decode one frame; returns its picture, or nothing while waiting for a keyframe.

        Raises :class:`CorruptFrameError` for a payload that is not a valid VP8 frame (the
        decoder then waits for a keyframe) and :class:`OutOfOrderFrameError` for a frame not
        newer than the last one accepted.
        """
        self._input.check(frame)
        try:
            header = parse_vp8_header(frame.payload)
        except CorruptFrameError:
            self._move(Vp8Input.CORRUPT)
            raise
        if header.keyframe != frame.keyframe:
            self._move(Vp8Input.CORRUPT)
            raise CorruptFrameError("frame's keyframe flag disagrees with its VP8 frame tag (RFC 6386 section 9.1)")
        if header.keyframe:
            event = Vp8Input.KEYFRAME
        elif self._input.gap_before(frame):
            event = Vp8Input.DELTA_AFTER_GAP
        else:
            event = Vp8Input.DELTA_IN_SEQUENCE
        self._input.accept(frame)
        if self._move(event) is not Vp8DecoderState.DECODING:
            return []
        try:
            decoded = self._context.decode(av.Packet(frame.payload))
        except av.error.FFmpegError as exc:
            self._move(Vp8Input.CORRUPT)
            raise CorruptFrameError("VP8 frame does not decode (RFC 6386)", str(exc)) from exc
        return [picture_from_video_frame(out, frame.timestamp) for out in decoded]
