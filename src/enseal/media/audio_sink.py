"""Audio sinks: decoded 20 ms :class:`PcmFrame` s to a file, or kept in memory.

Both sinks lay frames on a timeline by timestamp (48 kHz samples, counted from the first frame
written): a gap left by lost frames is filled with silence, so the recording keeps the sender's
timing; a frame that overlaps audio already written is trimmed (or dropped if wholly
overlapped). A gap longer than :data:`MAX_GAP_FILL_SECONDS` is not filled: the timeline is
re-based on the new frame, so a hostile timestamp cannot make a sink write hours of silence.

:class:`AudioFileSink` writes mono 48 kHz through PyAV, with the codec chosen by the file
extension (:data:`AUDIO_FILE_CODECS`): ``.wav`` (PCM s16le), ``.flac``, ``.ogg`` / ``.opus``
(Opus) or ``.mp3``. :class:`PcmRecorder` keeps the samples as one numpy array, for tests.
Decision record: docs/decisions/0104-media-sinks.md.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType

import av
import av.error
import numpy as np

from enseal.errors import InternalError
from enseal.media.av_frames import AUDIO_TIME_BASE, audio_frame_from_samples
from enseal.media.errors import MediaFileError
from enseal.media.frames import AUDIO_CLOCK_RATE, AUDIO_FRAME_SAMPLES, Int16Array, PcmFrame

MAX_GAP_FILL_SECONDS = 10
"""Longest gap a sink fills with silence; a longer one re-bases the timeline."""

AUDIO_FILE_CODECS = {".wav": "pcm_s16le", ".flac": "flac", ".ogg": "libopus", ".opus": "libopus", ".mp3": "libmp3lame"}
"""File extension -> PyAV encoder used by :class:`AudioFileSink`."""

_MAX_GAP_FILL_SAMPLES = MAX_GAP_FILL_SECONDS * AUDIO_CLOCK_RATE


class AudioTimeline:
    """Turns frames into the samples to append so that each frame lands at its timestamp."""

    __slots__ = ("_next",)

    def __init__(self) -> None:
        self._next: int | None = None

    def place(self, frame: PcmFrame) -> Int16Array:
        """Samples to append for ``frame``: leading silence, then the part not yet covered."""
        if self._next is None or frame.timestamp - self._next > _MAX_GAP_FILL_SAMPLES:
            self._next = frame.timestamp
        gap = frame.timestamp - self._next
        end = frame.timestamp + AUDIO_FRAME_SAMPLES
        if gap >= 0:
            out = np.concatenate([np.zeros(gap, dtype=np.int16), frame.samples])
        else:
            out = frame.samples[min(-gap, AUDIO_FRAME_SAMPLES) :]
        self._next = max(self._next, end)
        return out


class PcmRecorder:
    """Keeps every frame written, placed on the timeline, in memory."""

    def __init__(self) -> None:
        self._timeline = AudioTimeline()
        self._chunks: list[Int16Array] = []

    def write(self, frame: PcmFrame) -> None:
        self._chunks.append(self._timeline.place(frame))

    def samples(self) -> Int16Array:
        """All samples written so far, 48 kHz mono int16."""
        if not self._chunks:
            return np.zeros(0, dtype=np.int16)
        return np.concatenate(self._chunks)


class AudioFileSink:
    """Writes frames to an audio file; call close() (or use as a context manager) to finish it."""

    def __init__(self, path: str | Path) -> None:
        codec = AUDIO_FILE_CODECS.get(Path(path).suffix.lower())
        if codec is None:
            raise MediaFileError(
                f"unsupported audio file extension {Path(path).suffix!r}; use one of {sorted(AUDIO_FILE_CODECS)}"
            )
        try:
            self._container = av.open(str(path), "w")
            stream = self._container.add_stream(codec, rate=AUDIO_CLOCK_RATE, layout="mono")
            if not isinstance(stream, av.AudioStream):
                raise InternalError(f"{codec} did not make an audio stream")
            stream.time_base = AUDIO_TIME_BASE
            self._container.start_encoding()  # opens the file now, so errors show here
        except (av.error.FFmpegError, OSError) as exc:
            raise MediaFileError(f"cannot create audio file {path}") from exc
        self._stream = stream
        self._path = path
        self._timeline = AudioTimeline()
        self._written = 0
        self._closed = False

    def write(self, frame: PcmFrame) -> None:
        if self._closed:
            raise MediaFileError(f"audio sink {self._path} is closed")
        samples = self._timeline.place(frame)
        if len(samples) == 0:
            return
        av_frame = audio_frame_from_samples(samples, self._written)
        self._written += len(samples)
        self._mux(av_frame)

    def _mux(self, av_frame: av.AudioFrame | None) -> None:
        try:
            self._container.mux(self._stream.encode(av_frame))
        except (av.error.FFmpegError, OSError) as exc:
            raise MediaFileError(f"cannot write audio file {self._path}") from exc

    def close(self) -> None:
        """Flush the encoder and finish the file (idempotent)."""
        if self._closed:
            return
        self._closed = True
        try:
            self._mux(None)
        finally:
            self._container.close()

    def __enter__(self) -> AudioFileSink:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
