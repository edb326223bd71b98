"""Pull-based audio sources yielding 20 ms frames of 48 kHz mono s16 (:class:`PcmFrame`).

The caller paces them: each ``next()`` returns the following frame at once, and the caller
waits ``PcmFrame.duration`` samples' worth of time between frames when playing live.

* :class:`AudioFileSource` decodes any file PyAV can read (wav, ogg, mp3, mp4, ...), mixes it
  down to mono, resamples to 48 kHz s16 and cuts it into frames; the last partial frame is
  padded with silence. Timestamps count samples from 0, ignoring the file's own timestamps.
* :class:`GeneratedAudioSource` is a deterministic speech-like test signal: a sequence of
  synthetic vowels whose pitches and formants come from a seeded generator, so two seeds give
  two different signals.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

import av
import av.error
import numpy as np

from enseal.errors import LocalProtocolError
from enseal.media.av_frames import samples_from_audio_frame
from enseal.media.errors import MediaFileError
from enseal.media.frames import AUDIO_CLOCK_RATE, AUDIO_FRAME_SAMPLES, Int16Array, PcmFrame

SEGMENT_SAMPLES = 4_800
"""Length of one synthetic vowel of the generated signal (100 ms)."""

PITCH_RANGE_HZ = (90.0, 300.0)
"""Range of the glottal pulse rate of the generated vowels (low male to child voice)."""

FORMANT_RANGES_HZ = ((300.0, 900.0), (900.0, 2_000.0), (2_000.0, 3_500.0))
"""Ranges of the first three formants of the generated vowels."""

FORMANT_WIDTH_HZ = 150.0
"""Width of each formant resonance."""

SIGNAL_PEAK = 0.3
"""Peak of the generated signal relative to full scale."""

FADE_SAMPLES = 240
"""Raised-cosine fade at each segment edge (5 ms), so vowel changes do not click."""

MAX_GENERATED_SECONDS = 3_600.0
"""Longest generated signal (a bound on what a caller can ask for)."""


class AudioFileSource(Iterator[PcmFrame]):
    """Frames of the first audio stream of a file; use as a context manager or call close()."""

    def __init__(self, path: str | Path) -> None:
        try:
            self._container = av.open(str(path), "r")
        except (av.error.FFmpegError, OSError) as exc:
            raise MediaFileError(f"cannot open audio file {path}") from exc
        if not self._container.streams.audio:
            self._container.close()
            raise MediaFileError(f"{path} has no audio stream")
        self._stream = self._container.streams.audio[0]
        self._resampler = av.AudioResampler(format="s16", layout="mono", rate=AUDIO_CLOCK_RATE)
        self._decoded = self._decode()
        self._pending: Int16Array = np.zeros(0, dtype=np.int16)
        self._timestamp = 0
        self._exhausted = False
        self._path = path

    def _decode(self) -> Iterator[Int16Array]:
        try:
            for frame in self._container.decode(self._stream):
                for out in self._resampler.resample(frame):
                    yield samples_from_audio_frame(out)
            for out in self._resampler.resample(None):
                yield samples_from_audio_frame(out)
        except av.error.FFmpegError as exc:
            raise MediaFileError(f"cannot decode audio file {self._path}") from exc

    def __iter__(self) -> AudioFileSource:
        return self

    def __next__(self) -> PcmFrame:
        while len(self._pending) < AUDIO_FRAME_SAMPLES and not self._exhausted:
            chunk = next(self._decoded, None)
            if chunk is None:
                self._exhausted = True
            else:
                self._pending = np.concatenate([self._pending, chunk])
        if len(self._pending) == 0:
            raise StopIteration
        samples = self._pending[:AUDIO_FRAME_SAMPLES]
        self._pending = self._pending[AUDIO_FRAME_SAMPLES:]
        if len(samples) < AUDIO_FRAME_SAMPLES:
            samples = np.concatenate([samples, np.zeros(AUDIO_FRAME_SAMPLES - len(samples), dtype=np.int16)])
        frame = PcmFrame(timestamp=self._timestamp, samples=samples.copy())
        self._timestamp += AUDIO_FRAME_SAMPLES
        return frame

    def close(self) -> None:
        self._container.close()

    def __enter__(self) -> AudioFileSource:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def generated_signal(duration: float, seed: int = 0) -> Int16Array:
    """The whole generated test signal: ``duration`` seconds rounded up to whole frames.

    A sequence of 100 ms synthetic vowels: a pulse train at a pitch in
    :data:`PITCH_RANGE_HZ` shaped by three formants drawn from :data:`FORMANT_RANGES_HZ`, all
    from a generator seeded with ``seed``. It is speech-like on purpose: Opus in VoIP mode codes
    speech with its linear-prediction layer (SILK), which keeps a pulse train's waveform but
    not a pure tone's phase, so a sine sequence would not survive a waveform comparison.
    """
    if not 0 < duration <= MAX_GENERATED_SECONDS or not math.isfinite(duration):
        raise LocalProtocolError(f"duration must be in (0, {MAX_GENERATED_SECONDS}] s, got {duration}")
    frames = math.ceil(round(duration * AUDIO_CLOCK_RATE) / AUDIO_FRAME_SAMPLES)
    total = frames * AUDIO_FRAME_SAMPLES
    rng = np.random.default_rng(seed)
    frequencies = np.fft.rfftfreq(SEGMENT_SAMPLES, 1 / AUDIO_CLOCK_RATE)
    ramp = 0.5 - 0.5 * np.cos(np.pi * np.arange(FADE_SAMPLES) / FADE_SAMPLES)
    fade = np.ones(SEGMENT_SAMPLES)
    fade[:FADE_SAMPLES] = ramp
    fade[-FADE_SAMPLES:] = ramp[::-1]
    segments = []
    for _ in range(math.ceil(total / SEGMENT_SAMPLES)):
        pitch = rng.uniform(*PITCH_RANGE_HZ)
        pulses = np.zeros(SEGMENT_SAMPLES)
        pulses[np.arange(0, SEGMENT_SAMPLES, AUDIO_CLOCK_RATE / pitch).astype(np.int64)] = 1.0
        envelope = sum(
            np.exp(-(((frequencies - rng.uniform(low, high)) / FORMANT_WIDTH_HZ) ** 2))
            for low, high in FORMANT_RANGES_HZ
        )
        segments.append(fade * np.fft.irfft(np.fft.rfft(pulses) * envelope, SEGMENT_SAMPLES))
    signal = np.concatenate(segments)[:total]
    signal *= SIGNAL_PEAK * np.iinfo(np.int16).max / np.abs(signal).max()
    return np.round(signal).astype(np.int16)


class GeneratedAudioSource(Iterator[PcmFrame]):
    """Frames of :func:`generated_signal` (same ``duration`` and ``seed``), timestamps from 0."""

    def __init__(self, duration: float, *, seed: int = 0) -> None:
        self._signal = generated_signal(duration, seed)
        self._position = 0

    def __iter__(self) -> GeneratedAudioSource:
        return self

    def __next__(self) -> PcmFrame:
        if self._position >= len(self._signal):
            raise StopIteration
        start = self._position
        self._position += AUDIO_FRAME_SAMPLES
        return PcmFrame(timestamp=start, samples=self._signal[start : self._position].copy())
