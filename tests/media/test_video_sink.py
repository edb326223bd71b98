from __future__ import annotations

import dataclasses
from pathlib import Path

import av
import pytest

from enseal.media import (
    GeneratedVideoSource,
    MediaFileError,
    VideoFileSink,
    VideoFileSource,
    luma_psnr,
    read_frame_number,
)


def frame_count_and_duration(path: Path) -> tuple[int, float, str]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        count = sum(1 for _ in container.decode(stream))
        return count, float(container.duration or 0) / av.time_base, stream.codec_context.name


@pytest.mark.parametrize(("suffix", "codec"), [(".y4m", "rawvideo"), (".mkv", "ffv1"), (".webm", "vp8")])
def test_files_have_the_right_frame_count_and_pictures(tmp_path: Path, suffix: str, codec: str) -> None:
    path = tmp_path / f"out{suffix}"
    source = GeneratedVideoSource(2.0)
    with VideoFileSink(path) as sink:
        for picture in source:
            sink.write(picture)
    count, duration, read_codec = frame_count_and_duration(path)
    assert (count, read_codec) == (30, codec)
    assert duration == pytest.approx(2.0, abs=0.07)
    with VideoFileSource(path) as back:
        pictures = list(back)
    assert [read_frame_number(p) for p in pictures] == list(range(30))
    for picture in pictures:
        psnr = luma_psnr(source.render(read_frame_number(picture)), picture)
        assert psnr == float("inf") if codec != "vp8" else psnr > 35


def test_lost_pictures_are_filled_by_repeating_the_last(tmp_path: Path) -> None:
    path = tmp_path / "gap.mkv"
    pictures = list(GeneratedVideoSource(1.0))
    with VideoFileSink(path) as sink:
        for picture in pictures[:5] + pictures[9:]:
            sink.write(picture)
        sink.write(pictures[7])  # late: its slot is already written
    with VideoFileSource(path) as back:
        numbers = [read_frame_number(p) for p in back]
    assert numbers == [0, 1, 2, 3, 4, 4, 4, 4, 4, *range(9, 15)]


def test_pictures_of_another_size_are_scaled(tmp_path: Path) -> None:
    path = tmp_path / "scaled.y4m"
    with VideoFileSink(path, width=320, height=240) as sink:
        for picture in GeneratedVideoSource(0.4, width=640, height=480):
            sink.write(picture)
    with VideoFileSource(path) as back:
        pictures = list(back)
    assert [(p.width, p.height) for p in pictures] == [(320, 240)] * 6
    assert [read_frame_number(p) for p in pictures] == list(range(6))


def test_a_huge_timestamp_jump_is_not_filled(tmp_path: Path) -> None:
    path = tmp_path / "jump.y4m"
    pictures = list(GeneratedVideoSource(0.4))
    with VideoFileSink(path) as sink:
        for picture in pictures[:3]:
            sink.write(picture)
        for picture in pictures[3:]:
            sink.write(dataclasses.replace(picture, timestamp=picture.timestamp + 2**40))
    assert frame_count_and_duration(path)[0] == 6


def test_sink_misuse(tmp_path: Path) -> None:
    with pytest.raises(MediaFileError, match="extension"):
        VideoFileSink(tmp_path / "out.avi")
    with pytest.raises(MediaFileError, match="cannot create"):
        VideoFileSink(tmp_path / "no" / "such" / "folder.mkv")
    sink = VideoFileSink(tmp_path / "closed.mkv")
    sink.close()
    sink.close()
    with pytest.raises(MediaFileError, match="closed"):
        sink.write(GeneratedVideoSource(1.0).render(0))
