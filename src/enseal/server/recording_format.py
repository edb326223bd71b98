"""The recording container of standard-encryption calls (docs/protocol.md, "Recordings") and
its conversion to a WAV file of both sides' audio.

::

    "ENSEAL-REC1", then records, big-endian:
    u8 sender (0 caller, 1 callee) | u8 kind (1 audio, 2 video) | u32 stream_id |
    u32 frame_number | u64 timestamp | u32 duration | u8 keyframe | u32 length | frame bytes

A frame is the encoded (Opus or VP8) bitstream after SFrame decryption.
"""

from __future__ import annotations

import io
import struct
import wave
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Final

import numpy as np

from enseal.errors import EnsealError
from enseal.media import AUDIO_CLOCK_RATE, EncodedFrame, MediaKind, OpusDecoder, PcmRecorder
from enseal.server.errors import InvalidGroupMessage

RECORDING_MAGIC: Final = b"ENSEAL-REC1"
_RECORD: Final = struct.Struct(">BBIIQIBI")
MAX_WAV_SECONDS: Final = 4 * 3600
"""Longest WAV rendered from one recording (48 kHz mono: about 1.4 GB beyond this, refused)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordedFrame:
    sender: int
    frame: EncodedFrame = field(repr=False)

    def encode(self) -> bytes:
        frame = self.frame
        header = _RECORD.pack(
            self.sender,
            int(frame.kind),
            frame.stream_id,
            frame.frame_number,
            frame.timestamp,
            frame.duration,
            1 if frame.keyframe else 0,
            len(frame.payload),
        )
        return header + frame.payload


def parse_records(data: bytes) -> Iterator[RecordedFrame]:
    """The frames of a recording (without its magic), in order."""
    offset = 0
    while offset < len(data):
        if len(data) - offset < _RECORD.size:
            raise InvalidGroupMessage("truncated recording record")
        sender, kind, stream_id, number, timestamp, duration, keyframe, length = _RECORD.unpack_from(data, offset)
        offset += _RECORD.size
        payload = data[offset : offset + length]
        if len(payload) != length:
            raise InvalidGroupMessage("truncated recording frame")
        offset += length
        yield RecordedFrame(
            sender=sender,
            frame=EncodedFrame(
                kind=MediaKind(kind),
                stream_id=stream_id,
                frame_number=number,
                timestamp=timestamp,
                duration=duration,
                keyframe=bool(keyframe),
                payload=payload,
            ),
        )


def recording_to_wav(records: bytes) -> bytes:
    """Both sides' audio decoded and mixed: 48 kHz mono 16-bit WAV. Frames that do not decode
    are skipped (the recorder stored what it received)."""
    recorders: dict[tuple[int, int], PcmRecorder] = {}
    decoders: dict[tuple[int, int], OpusDecoder] = {}
    for recorded in parse_records(records):
        frame = recorded.frame
        if frame.kind is not MediaKind.AUDIO:
            continue
        key = (recorded.sender, frame.stream_id)
        decoder = decoders.setdefault(key, OpusDecoder())
        try:
            pcm = decoder.decode(frame)
        except EnsealError:
            continue
        target = recorders.setdefault(key, PcmRecorder())
        for piece in pcm:
            target.write(piece)
    tracks = [recorder.samples() for recorder in recorders.values()]
    length = min(max((len(t) for t in tracks), default=0), MAX_WAV_SECONDS * AUDIO_CLOCK_RATE)
    mixed = np.zeros(length, dtype=np.int32)
    for track in tracks:
        mixed[: min(length, len(track))] += track[:length].astype(np.int32)
    samples = np.clip(mixed, -32768, 32767).astype("<i2")
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(AUDIO_CLOCK_RATE)
        wav.writeframes(samples.tobytes())
    return out.getvalue()
