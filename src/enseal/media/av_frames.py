"""Conversions between the media chain's frames and PyAV's ``AudioFrame``, ``VideoFrame`` and
``Packet``.

Kept in one place so every module hands PyAV the same layout: audio packed s16 mono at
48 kHz with the 48 kHz clock as time base; video ``yuv420p`` with the 90 kHz clock.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import av
import numpy as np

from enseal.errors import InternalError
from enseal.media.frames import (
    AUDIO_CLOCK_RATE,
    VIDEO_CLOCK_RATE,
    EncodedFrame,
    Int16Array,
    MediaKind,
    VideoPicture,
)

AUDIO_TIME_BASE = Fraction(1, AUDIO_CLOCK_RATE)
VIDEO_TIME_BASE = Fraction(1, VIDEO_CLOCK_RATE)


def audio_frame_from_samples(samples: Int16Array, pts: int) -> av.AudioFrame:
    """A packed s16 mono 48 kHz PyAV frame holding ``samples``, at ``pts`` (48 kHz clock)."""
    frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
    frame.sample_rate = AUDIO_CLOCK_RATE
    frame.pts = pts
    frame.time_base = AUDIO_TIME_BASE
    return frame


def samples_from_audio_frame(frame: av.AudioFrame) -> Int16Array:
    """The samples of a packed s16 mono PyAV frame as a 1-D int16 array."""
    if frame.format.name != "s16" or frame.layout.nb_channels != 1:
        raise InternalError(f"expected packed s16 mono audio, got {frame.format.name} {frame.layout.name}")
    return np.asarray(frame.to_ndarray(), dtype=np.int16).reshape(-1)


def video_frame_from_picture(picture: VideoPicture) -> av.VideoFrame:
    """A ``yuv420p`` PyAV frame of ``picture``, with its timestamp as pts (90 kHz clock)."""
    frame = av.VideoFrame.from_ndarray(picture.yuv, format="yuv420p")
    frame.pts = picture.timestamp
    frame.time_base = VIDEO_TIME_BASE
    return frame


def picture_from_video_frame(frame: av.VideoFrame, timestamp: int) -> VideoPicture:
    """A :class:`VideoPicture` of a PyAV frame (converted to ``yuv420p`` if need be)."""
    if frame.format.name != "yuv420p":
        frame = frame.reformat(format="yuv420p")
    return VideoPicture(
        timestamp=timestamp,
        width=frame.width,
        height=frame.height,
        yuv=np.asarray(frame.to_ndarray(), dtype=np.uint8),
    )


def encoded_frame_from_packet(
    packet: av.Packet[Any],
    *,
    kind: MediaKind,
    stream_id: int,
    frame_number: int,
    duration: int,
    keyframe: bool,
    timestamp_shift: int = 0,
) -> EncodedFrame:
    """An :class:`EncodedFrame` of an encoder's packet, timed at its pts plus ``timestamp_shift``."""
    if packet.pts is None:
        raise InternalError(f"{kind.name} encoder returned a packet without pts")
    return EncodedFrame(
        kind=kind,
        stream_id=stream_id,
        frame_number=frame_number,
        timestamp=packet.pts + timestamp_shift,
        duration=duration,
        keyframe=keyframe,
        payload=bytes(packet),
    )
