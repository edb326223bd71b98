from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from enseal.errors import LocalProtocolError
from enseal.media import (
    GeneratedVideoSource,
    MediaFileError,
    PatternNotRecognisedError,
    VideoFileSink,
    VideoFileSource,
    VideoPicture,
    read_frame_number,
)


def test_generated_pattern_has_size_rate_timestamps_and_numbers() -> None:
    pictures = list(GeneratedVideoSource(1.0))
    assert len(pictures) == 15
    assert [p.timestamp for p in pictures[:3]] == [0, 6000, 12_000]
    assert all((p.width, p.height, p.yuv.shape) == (320, 240, (360, 320)) for p in pictures)
    assert [read_frame_number(p) for p in pictures] == list(range(15))
    # it moves: consecutive pictures differ outside the code bands
    assert not np.array_equal(pictures[0].luma[32:], pictures[1].luma[32:])


def test_generated_pattern_is_deterministic_and_wraps_its_code() -> None:
    source = GeneratedVideoSource(1.0, width=160, height=120, fps=30)
    assert np.array_equal(source.render(70_000).yuv, source.render(70_000).yuv)
    assert read_frame_number(source.render(70_000)) == 70_000 % 65_536
    assert read_frame_number(source.render(65_535)) == 65_535


def test_a_picture_without_the_pattern_is_not_recognised() -> None:
    grey = VideoPicture(timestamp=0, width=320, height=240, yuv=np.full((360, 320), 128, dtype=np.uint8))
    with pytest.raises(PatternNotRecognisedError):
        read_frame_number(grey)
    noise = np.random.default_rng(1).integers(0, 256, (360, 320)).astype(np.uint8)
    with pytest.raises(PatternNotRecognisedError):
        read_frame_number(VideoPicture(timestamp=0, width=320, height=240, yuv=noise))


@pytest.mark.parametrize(("width", "height", "fps"), [(100, 240, 15), (320, 40, 15), (321, 240, 15), (320, 240, 0)])
def test_generated_pattern_rejects_bad_parameters(width: int, height: int, fps: int) -> None:
    with pytest.raises(LocalProtocolError):
        GeneratedVideoSource(1.0, width=width, height=height, fps=fps)


def test_file_source_scales_and_converts_the_frame_rate(tmp_path: Path) -> None:
    path = tmp_path / "pattern30.mkv"
    with VideoFileSink(path, width=320, height=240, fps=30) as sink:
        for picture in GeneratedVideoSource(1.0, fps=30):
            sink.write(picture)
    with VideoFileSource(path, width=256, height=192, fps=15) as source:
        pictures = list(source)
    assert len(pictures) == 15
    assert all((p.width, p.height) == (256, 192) for p in pictures)
    assert [p.timestamp for p in pictures[:2]] == [0, 6000]
    # output picture i shows source picture 2i (the source runs at 30 fps)
    assert [read_frame_number(p) for p in pictures] == list(range(0, 30, 2))


def test_file_source_upsamples_the_frame_rate_by_repeating(tmp_path: Path) -> None:
    path = tmp_path / "pattern5.y4m"
    with VideoFileSink(path, fps=5) as sink:
        for picture in GeneratedVideoSource(1.0, fps=5):
            sink.write(picture)
    with VideoFileSource(path, fps=15) as source:
        numbers = [read_frame_number(p) for p in source]
    assert numbers == [n for n in range(5) for _ in range(3)]


def test_file_source_errors_are_media_file_errors(tmp_path: Path, speech: dict[str, Path]) -> None:
    with pytest.raises(MediaFileError):
        VideoFileSource(tmp_path / "missing.mkv")
    with pytest.raises(MediaFileError, match="no video stream"):
        VideoFileSource(speech["fox"])
