from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from enseal.errors import LocalProtocolError
from enseal.media import (
    AUDIO_FRAME_SAMPLES,
    AudioFileSource,
    GeneratedAudioSource,
    MediaFileError,
    generated_signal,
)

from .media_chain import pcm_of


def write_wav(path: Path, samples: np.ndarray, rate: int, layout: str) -> None:
    """Write int16 samples (shape (channels, n)) as a WAV file with PyAV."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("pcm_s16le", rate=rate, layout=layout)
        frame = av.AudioFrame.from_ndarray(samples.T.reshape(1, -1).copy(), format="s16", layout=layout)
        frame.sample_rate = rate
        frame.pts = 0
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))


def test_generated_signal_is_deterministic_speech_like_and_seeded() -> None:
    a = generated_signal(0.5, seed=3)
    assert np.array_equal(a, generated_signal(0.5, seed=3))
    assert not np.array_equal(a, generated_signal(0.5, seed=4))
    assert len(a) == 24_000
    # not silence: every 20 ms frame carries signal
    assert min(np.abs(a[i : i + 960]).max() for i in range(0, len(a), 960)) > 1000


def test_generated_source_yields_timestamped_frames_rounded_up() -> None:
    frames = list(GeneratedAudioSource(0.05, seed=1))
    assert [f.timestamp for f in frames] == [0, 960, 1920]
    assert np.array_equal(pcm_of(frames), generated_signal(0.05, seed=1))


@pytest.mark.parametrize("duration", [0, -1, float("nan"), float("inf"), 1e9])
def test_generated_source_rejects_bad_durations(duration: float) -> None:
    with pytest.raises(LocalProtocolError):
        GeneratedAudioSource(duration)


def test_file_source_resamples_to_48k_mono_and_pads_the_last_frame(tmp_path: Path) -> None:
    rate = 16_000
    t = np.arange(rate) / rate  # one second
    tone = (8000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
    stereo = np.stack([tone, tone])[:, : rate - 100]  # 0.99375 s, not a whole number of frames
    path = tmp_path / "tone.wav"
    write_wav(path, stereo, rate, "stereo")
    with AudioFileSource(path) as source:
        frames = list(source)
    samples = pcm_of(frames)
    assert [f.timestamp for f in frames] == [i * AUDIO_FRAME_SAMPLES for i in range(len(frames))]
    assert len(frames) == 50  # 0.99375 s = 47700 samples at 48 kHz -> 50 frames, last padded
    assert np.all(samples[47_800:] == 0)
    # still a 440 Hz tone after resampling: the spectrum peaks there
    spectrum = np.abs(np.fft.rfft(samples[4800:43_200].astype(float)))
    assert np.fft.rfftfreq(38_400, 1 / 48_000)[spectrum.argmax()] == pytest.approx(440, abs=2)


def test_file_source_reads_espeak_speech(speech: dict[str, Path]) -> None:
    with AudioFileSource(speech["fox"]) as source:
        samples = pcm_of(source)
    with av.open(str(speech["fox"])) as container:
        seconds = float(container.duration or 0) / av.time_base
    assert len(samples) == pytest.approx(seconds * 48_000, abs=AUDIO_FRAME_SAMPLES)
    assert np.abs(samples).max() > 1000


def test_file_source_errors_are_media_file_errors(tmp_path: Path) -> None:
    with pytest.raises(MediaFileError):
        AudioFileSource(tmp_path / "missing.wav")
    garbage = tmp_path / "garbage.wav"
    garbage.write_bytes(b"this is not a media file" * 10)
    with pytest.raises(MediaFileError):
        AudioFileSource(garbage)
