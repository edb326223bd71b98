"""The values that flow through the media chain: raw PCM frames, raw pictures, encoded frames.

Timestamps use RTP-style media clocks (RFC 3550 section 5.1, RFC 7587 section 4.1 for Opus,
RFC 7741 section 4.1 for VP8): audio counts samples at 48 kHz, video ticks at 90 kHz. Both are
plain non-negative ints, so a frame's place in time is exact and never a float.

Raw media (:class:`PcmFrame`, :class:`VideoPicture`) holds numpy arrays that are made read-only,
so a frozen frame is really immutable. These two classes compare by identity (``eq=False``):
element-wise array equality has no single truth value.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from enseal.errors import LocalProtocolError
from enseal.types import UINT32_MAX, UINT64_MAX

AUDIO_CLOCK_RATE = 48_000
"""Audio timestamps count samples at 48 kHz (RFC 7587 section 4.1)."""

VIDEO_CLOCK_RATE = 90_000
"""Video timestamps tick at 90 kHz (RFC 7741 section 4.1)."""

AUDIO_FRAME_SAMPLES = 960
"""Samples in one 20 ms mono audio frame at 48 kHz."""

MAX_VIDEO_DIMENSION = 4096
"""Largest width or height of a picture anywhere in the chain (VP8 allows 16383)."""

MAX_VIDEO_PIXELS = 1920 * 1088
"""Largest picture area accepted anywhere in the chain (1080p, rounded up to macroblocks)."""

Int16Array = npt.NDArray[np.int16]
Uint8Array = npt.NDArray[np.uint8]


class MediaKind(enum.IntEnum):
    """What a stream carries. The values are the ``kind`` octet of the datagram header."""

    AUDIO = 1
    VIDEO = 2


def _frozen_array(array: npt.NDArray[Any]) -> None:
    array.flags.writeable = False


def check_picture_size(width: int, height: int) -> None:
    """Raise :class:`LocalProtocolError` unless ``width`` x ``height`` is a usable I420 size."""
    if width < 2 or height < 2 or width % 2 or height % 2:
        raise LocalProtocolError(f"picture size must be even and at least 2x2, got {width}x{height}")
    if max(width, height) > MAX_VIDEO_DIMENSION or width * height > MAX_VIDEO_PIXELS:
        raise LocalProtocolError(
            f"picture size {width}x{height} exceeds {MAX_VIDEO_DIMENSION} per side or {MAX_VIDEO_PIXELS} pixels"
        )


def check_stream_id(stream_id: int) -> None:
    """Raise :class:`LocalProtocolError` unless ``stream_id`` is a uint32."""
    if not 0 <= stream_id <= UINT32_MAX:
        raise LocalProtocolError(f"stream id must be a uint32, got {stream_id}")


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class PcmFrame:
    """20 ms of 48 kHz mono signed 16-bit audio.

    ``timestamp`` is the 48 kHz sample index of the first sample; ``samples`` has exactly
    :data:`AUDIO_FRAME_SAMPLES` int16 values and is read-only.
    """

    timestamp: int
    samples: Int16Array = field(repr=False)

    def __post_init__(self) -> None:
        if self.timestamp < 0:
            raise LocalProtocolError("a PCM frame timestamp is non-negative")
        if self.samples.dtype != np.int16 or self.samples.shape != (AUDIO_FRAME_SAMPLES,):
            raise LocalProtocolError(
                f"a PCM frame is {AUDIO_FRAME_SAMPLES} int16 samples, got {self.samples.dtype} {self.samples.shape}"
            )
        _frozen_array(self.samples)

    @property
    def duration(self) -> int:
        """Length in 48 kHz samples (always :data:`AUDIO_FRAME_SAMPLES`)."""
        return AUDIO_FRAME_SAMPLES


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class VideoPicture:
    """One raw picture in I420 (``yuv420p``) layout.

    ``yuv`` is a read-only uint8 array of shape ``(height * 3 // 2, width)``: the Y plane in the
    first ``height`` rows, then the U and V planes (each ``height/2`` x ``width/2``) packed
    row-major after it, exactly as PyAV's ``VideoFrame.from_ndarray(..., "yuv420p")`` expects.
    ``timestamp`` is in 90 kHz ticks.
    """

    timestamp: int
    width: int
    height: int
    yuv: Uint8Array = field(repr=False)

    def __post_init__(self) -> None:
        if self.timestamp < 0:
            raise LocalProtocolError("a picture timestamp is non-negative")
        check_picture_size(self.width, self.height)
        if self.yuv.dtype != np.uint8 or self.yuv.shape != (self.height * 3 // 2, self.width):
            raise LocalProtocolError(
                f"a {self.width}x{self.height} I420 picture is a uint8 array of shape "
                f"{(self.height * 3 // 2, self.width)}, got {self.yuv.dtype} {self.yuv.shape}"
            )
        _frozen_array(self.yuv)

    @property
    def luma(self) -> Uint8Array:
        """The Y plane, shape ``(height, width)``."""
        return self.yuv[: self.height]


@dataclass(frozen=True, slots=True, kw_only=True)
class EncodedFrame:
    """One encoded frame (one Opus packet or one VP8 frame) and the fields that travel with it.

    On the sending side ``payload`` is the codec bitstream; after packetisation and reassembly
    it is whatever bytes were packetised (the SFrame-protected frame), and
    :meth:`with_payload` swaps in the decrypted bitstream before decoding.

    ``frame_number`` counts the frames of one stream from 0 without gaps, so a receiver can
    tell that a frame was lost. ``timestamp`` and ``duration`` are in the kind's media clock.
    """

    kind: MediaKind
    stream_id: int
    frame_number: int
    timestamp: int
    duration: int
    keyframe: bool
    payload: bytes = field(repr=False)

    def __post_init__(self) -> None:
        for name, value, bound in (
            ("stream_id", self.stream_id, UINT32_MAX),
            ("frame_number", self.frame_number, UINT32_MAX),
            ("timestamp", self.timestamp, UINT64_MAX),
            ("duration", self.duration, UINT32_MAX),
        ):
            if not 0 <= value <= bound:
                raise LocalProtocolError(f"{name} must be in [0, {bound}], got {value}")

    def with_payload(self, payload: bytes) -> EncodedFrame:
        """The same frame carrying other bytes (e.g. the SFrame plaintext after decryption)."""
        return replace(self, payload=payload)
