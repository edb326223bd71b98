from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from enseal.media import (
    AUDIO_FRAME_SAMPLES,
    AudioFileSink,
    AudioFileSource,
    GeneratedAudioSource,
    MediaFileError,
    PcmFrame,
    PcmRecorder,
    audio_similarity,
    generated_signal,
)
from enseal.media.audio_sink import MAX_GAP_FILL_SECONDS

from .media_chain import pcm_of


def read_back(path: Path) -> tuple[np.ndarray, float, int, str]:
    """Samples (first channel), duration in s, sample rate and codec of an audio file, via PyAV."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        chunks = [f.to_ndarray()[0] for f in container.decode(stream)]
        duration = float(stream.duration * stream.time_base) if stream.duration and stream.time_base else 0.0
        return np.concatenate(chunks), duration, stream.rate, stream.codec_context.name


def test_wav_holds_exactly_the_samples(tmp_path: Path) -> None:
    path = tmp_path / "out.wav"
    frames = list(GeneratedAudioSource(1.0))
    with AudioFileSink(path) as sink:
        for frame in frames:
            sink.write(frame)
    samples, duration, rate, codec = read_back(path)
    assert (rate, codec, duration) == (48_000, "pcm_s16le", 1.0)
    assert np.array_equal(samples, pcm_of(frames))
    with AudioFileSource(path) as source:  # and our own file source reads it too
        assert np.array_equal(pcm_of(source), pcm_of(frames))


@pytest.mark.parametrize(("suffix", "codec"), [(".flac", "flac"), (".ogg", "opus"), (".opus", "opus"), (".mp3", "mp3")])
def test_other_formats_are_readable_with_the_right_duration(tmp_path: Path, suffix: str, codec: str) -> None:
    path = tmp_path / f"out{suffix}"
    with AudioFileSink(path) as sink:
        for frame in GeneratedAudioSource(1.0):
            sink.write(frame)
    samples, _, _, read_codec = read_back(path)
    assert read_codec.endswith(codec) or codec in read_codec
    assert len(samples) / 48_000 == pytest.approx(1.0, abs=0.06)  # encoders may pad a frame
    if suffix == ".flac":
        assert np.array_equal(samples.astype(np.int16), generated_signal(1.0))


def test_gaps_become_silence_and_overlaps_are_trimmed() -> None:
    frames = list(GeneratedAudioSource(0.2))
    recorder = PcmRecorder()
    recorder.write(frames[0])
    recorder.write(frames[3])  # frames 1 and 2 lost
    shifted = PcmFrame(timestamp=frames[3].timestamp + 480, samples=frames[4].samples)  # overlaps by half
    recorder.write(shifted)
    recorder.write(frames[2])  # arrives late: wholly in the past
    out = recorder.samples()
    assert len(out) == 4 * AUDIO_FRAME_SAMPLES + 480
    assert np.array_equal(out[:960], frames[0].samples)
    assert not out[960:2880].any()
    assert np.array_equal(out[2880:3840], frames[3].samples)
    assert np.array_equal(out[3840:], frames[4].samples[480:])


def test_a_huge_timestamp_jump_is_not_filled() -> None:
    frames = list(GeneratedAudioSource(0.04))
    recorder = PcmRecorder()
    recorder.write(frames[0])
    recorder.write(PcmFrame(timestamp=2**40, samples=frames[1].samples))
    assert len(recorder.samples()) == 2 * AUDIO_FRAME_SAMPLES
    recorder.write(PcmFrame(timestamp=2**40 + 960 + MAX_GAP_FILL_SECONDS * 48_000, samples=frames[1].samples))
    assert len(recorder.samples()) == 3 * AUDIO_FRAME_SAMPLES + MAX_GAP_FILL_SECONDS * 48_000


def test_file_sink_keeps_the_timeline_across_a_loss(tmp_path: Path) -> None:
    path = tmp_path / "gap.wav"
    frames = list(GeneratedAudioSource(1.0))
    with AudioFileSink(path) as sink:
        for frame in frames[:10] + frames[20:]:
            sink.write(frame)
    samples, duration, _, _ = read_back(path)
    assert duration == 1.0
    assert not samples[9600:19_200].any()
    assert audio_similarity(pcm_of(frames), samples) > 0.8


def test_sink_misuse(tmp_path: Path) -> None:
    with pytest.raises(MediaFileError, match="extension"):
        AudioFileSink(tmp_path / "out.xyz")
    with pytest.raises(MediaFileError, match="cannot create"):
        AudioFileSink(tmp_path / "no" / "such" / "folder.wav")
    sink = AudioFileSink(tmp_path / "closed.wav")
    sink.close()
    sink.close()  # idempotent
    with pytest.raises(MediaFileError, match="closed"):
        sink.write(next(GeneratedAudioSource(0.02)))
    assert PcmRecorder().samples().shape == (0,)
