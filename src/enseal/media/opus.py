"""Opus encoder and decoder for 48 kHz mono 20 ms frames (RFC 6716), through PyAV's libopus.

Encoder settings (docs/decisions/0103-media-codec-settings.md):

* ``application=voip``: tuned for speech, the main content of a call;
* constant bit rate (``vbr=off``), default :data:`DEFAULT_OPUS_BITRATE`: every packet of a
  stream has the same size, so the sizes that an observer sees on the wire say nothing about
  what is being said (RFC 6562 section 3 describes phrase recognition from VBR packet sizes,
  which encryption alone does not hide);
* no DTX, for the same reason (silence would show as small packets);
* expected loss :data:`OPUS_EXPECTED_LOSS_PERCENT` (``packet_loss``), for robustness to loss.

Each 20 ms :class:`PcmFrame` in gives exactly one :class:`EncodedFrame` out, with the input's
timestamp. Decoded audio lags the input by the encoder's pre-skip (312 samples, 6.5 ms for
libopus; RFC 7845 section 4.2) because a live decoder has no container to tell it to trim.

The decoder trusts nothing: an empty, oversized or undecodable payload, or one that does not
decode to exactly one 20 ms mono frame, raises :class:`CorruptFrameError`. A lost frame needs
no action: the next packet decodes on its own, and sinks fill the gap by timestamp.
"""

from __future__ import annotations

from typing import Any

import av
import av.error

from enseal.errors import LocalProtocolError
from enseal.media.av_frames import (
    AUDIO_TIME_BASE,
    audio_frame_from_samples,
    encoded_frame_from_packet,
    samples_from_audio_frame,
)
from enseal.media.errors import CorruptFrameError
from enseal.media.frame_order import DecoderInputCheck, FrameNumbering
from enseal.media.frames import (
    AUDIO_CLOCK_RATE,
    AUDIO_FRAME_SAMPLES,
    EncodedFrame,
    MediaKind,
    PcmFrame,
    check_stream_id,
)

DEFAULT_OPUS_BITRATE = 32_000
"""Default Opus bit rate in bit/s: wideband speech and music of call quality."""

MIN_OPUS_BITRATE = 6_000
MAX_OPUS_BITRATE = 510_000
"""Bit rates libopus accepts (RFC 6716 section 2.1.1: 6 kbit/s to 510 kbit/s)."""

MAX_OPUS_PAYLOAD = 1_275 + 1
"""Largest Opus packet the decoder accepts for 20 ms: Opus tops out at 510 kbit/s (RFC 6716
section 2.1.1), which is 1275 bytes per 20 ms, plus the TOC octet."""

OPUS_EXPECTED_LOSS_PERCENT = 10
"""Packet loss the encoder is told to expect: it then leans less on long-term prediction from
the previous frame, so the decoder recovers within a frame or two after a loss instead of
ringing for hundreds of milliseconds (measured: docs/decisions/0103-media-codec-settings.md)."""

_OPUS_HEAD_PRESKIP = slice(10, 12)
"""Offset of the little-endian pre-skip field in the OpusHead header (RFC 7845 section 5.1)."""


class OpusEncoder:
    """Encodes consecutive 20 ms :class:`PcmFrame` s of one audio stream."""

    def __init__(self, *, stream_id: int = 0, bitrate: int = DEFAULT_OPUS_BITRATE) -> None:
        if not MIN_OPUS_BITRATE <= bitrate <= MAX_OPUS_BITRATE:
            raise LocalProtocolError(f"Opus bitrate must be in [{MIN_OPUS_BITRATE}, {MAX_OPUS_BITRATE}], got {bitrate}")
        check_stream_id(stream_id)
        self._stream_id = stream_id
        self._context = av.CodecContext.create("libopus", "w")
        self._context.sample_rate = AUDIO_CLOCK_RATE
        self._context.layout = "mono"
        self._context.format = "s16"
        self._context.bit_rate = bitrate
        self._context.time_base = AUDIO_TIME_BASE
        self._context.options = {
            "application": "voip",
            "frame_duration": "20",
            "vbr": "off",
            "packet_loss": str(OPUS_EXPECTED_LOSS_PERCENT),
        }
        self._context.open()
        extradata = self._context.extradata or b""
        # libopus reports its packets' pts shifted back by the pre-skip; we undo that so an
        # encoded frame carries the timestamp of the PCM frame it came from.
        self._preskip = int.from_bytes(extradata[_OPUS_HEAD_PRESKIP], "little")
        self._numbering = FrameNumbering()
        self._last_timestamp: int | None = None
        self._flushed = False

    def encode(self, frame: PcmFrame) -> list[EncodedFrame]:
        """Encode one 20 ms frame; returns the encoded frame (one for each input)."""
        if self._flushed:
            raise LocalProtocolError("encoder was flushed")
        if self._last_timestamp is not None and frame.timestamp < self._last_timestamp + AUDIO_FRAME_SAMPLES:
            raise LocalProtocolError(
                f"PCM frames must not overlap: timestamp {frame.timestamp} after {self._last_timestamp}"
            )
        self._last_timestamp = frame.timestamp
        return self._wrap(self._context.encode(audio_frame_from_samples(frame.samples, frame.timestamp)))

    def flush(self) -> list[EncodedFrame]:
        """Drain the encoder at the end of the stream (the last, partly padded frame)."""
        if self._flushed:
            return []
        self._flushed = True
        return self._wrap(self._context.encode(None))

    def _wrap(self, packets: list[av.Packet[Any]]) -> list[EncodedFrame]:
        return [
            encoded_frame_from_packet(
                packet,
                kind=MediaKind.AUDIO,
                stream_id=self._stream_id,
                frame_number=self._numbering.take(),
                duration=AUDIO_FRAME_SAMPLES,
                keyframe=True,  # every Opus packet decodes on its own
                timestamp_shift=self._preskip,
            )
            for packet in packets
        ]


class OpusDecoder:
    """Decodes the :class:`EncodedFrame` s of one audio stream, in frame-number order."""

    def __init__(self) -> None:
        self._context = av.CodecContext.create("libopus", "r")
        self._context.sample_rate = AUDIO_CLOCK_RATE
        self._context.layout = "mono"
        self._context.open()
        self._input = DecoderInputCheck(MediaKind.AUDIO)

    def decode(self, frame: EncodedFrame) -> list[PcmFrame]:
        """Decode one Opus packet into one 20 ms :class:`PcmFrame` with the frame's timestamp."""
        self._input.check(frame)
        payload = frame.payload
        # An empty packet would tell FFmpeg "end of stream" and stop the decoder for good.
        if not 0 < len(payload) <= MAX_OPUS_PAYLOAD:
            raise CorruptFrameError(
                f"an Opus packet for 20 ms is 1 to {MAX_OPUS_PAYLOAD} bytes (RFC 6716 section 2.1.1)",
                f"{len(payload)} bytes",
            )
        try:
            decoded = self._context.decode(av.Packet(payload))
        except av.error.FFmpegError as exc:
            raise CorruptFrameError("Opus packet does not decode (RFC 6716 section 3)", str(exc)) from exc
        if len(decoded) != 1 or decoded[0].samples != AUDIO_FRAME_SAMPLES:
            raise CorruptFrameError("Opus packet is not one 20 ms frame", f"{[d.samples for d in decoded]} samples")
        samples = samples_from_audio_frame(decoded[0])
        self._input.accept(frame)
        return [PcmFrame(timestamp=frame.timestamp, samples=samples)]
