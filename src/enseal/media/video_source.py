"""Pull-based video sources yielding I420 pictures of a fixed size at a fixed frame rate.

The caller paces them (one picture every ``1/fps`` seconds when live). Picture ``i`` has the
timestamp ``i * 90000 // fps`` (90 kHz clock).

* :class:`VideoFileSource` decodes the first video stream of any file PyAV can read, scales
  each picture to the requested size (no letterboxing: the aspect ratio follows the target) and
  converts the frame rate: output picture ``i`` shows the latest source picture whose time is
  at or before ``i / fps`` (counted from the first source picture, with
  :data:`TIMESTAMP_TOLERANCE`), so pictures are repeated or skipped as needed.
* :class:`GeneratedVideoSource` renders the moving test pattern of
  :mod:`enseal.media.video_pattern`, whose pictures carry their own frame number.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from types import TracebackType

import av
import av.error

from enseal.errors import LocalProtocolError
from enseal.media.av_frames import picture_from_video_frame
from enseal.media.errors import MediaFileError
from enseal.media.frames import VIDEO_CLOCK_RATE, VideoPicture, check_picture_size
from enseal.media.video_pattern import check_pattern_size, render_pattern

DEFAULT_WIDTH = 320
DEFAULT_HEIGHT = 240
DEFAULT_FPS = 15

MAX_FPS = 60
"""Highest frame rate a source produces."""

TIMESTAMP_TOLERANCE = Fraction(1, 1000)
"""A source picture up to this much after an output slot's time still counts as at that time:
containers such as Matroska store times rounded to the millisecond."""

MAX_GENERATED_SECONDS = 3_600.0
"""Longest generated pattern (a bound on what a caller can ask for)."""


def check_fps(fps: int) -> None:
    """Raise :class:`LocalProtocolError` unless ``fps`` is a whole rate in ``[1, MAX_FPS]``."""
    if not 1 <= fps <= MAX_FPS:
        raise LocalProtocolError(f"fps must be in [1, {MAX_FPS}], got {fps}")


def picture_timestamp(index: int, fps: int) -> int:
    """The 90 kHz timestamp of picture ``index`` at ``fps`` pictures per second."""
    return index * VIDEO_CLOCK_RATE // fps


class VideoFileSource(Iterator[VideoPicture]):
    """Pictures of the first video stream of a file; use as a context manager or call close()."""

    def __init__(
        self,
        path: str | Path,
        *,
        width: int = DEFAULT_WIDTH,
        height: int = DEFAULT_HEIGHT,
        fps: int = DEFAULT_FPS,
    ) -> None:
        check_picture_size(width, height)
        check_fps(fps)
        try:
            self._container = av.open(str(path), "r")
        except (av.error.FFmpegError, OSError) as exc:
            raise MediaFileError(f"cannot open video file {path}") from exc
        if not self._container.streams.video:
            self._container.close()
            raise MediaFileError(f"{path} has no video stream")
        self._stream = self._container.streams.video[0]
        self._path = path
        self._width, self._height, self._fps = width, height, fps
        self._decoded = self._decode()
        self._current: tuple[Fraction, av.VideoFrame] | None = None
        try:
            self._upcoming = next(self._decoded, None)
        except MediaFileError:
            self._container.close()
            raise
        self._origin = self._upcoming[0] if self._upcoming is not None else Fraction(0)
        rate = self._stream.average_rate
        # How long the last source picture lasts: the spacing of the pictures before it.
        self._source_step = Fraction(1) / Fraction(rate) if rate else Fraction(1, fps)
        self._index = 0

    def _decode(self) -> Iterator[tuple[Fraction, av.VideoFrame]]:
        position: Fraction | None = None
        try:
            for frame in self._container.decode(self._stream):
                if frame.pts is not None and frame.time_base is not None:
                    position = frame.pts * frame.time_base
                else:
                    position = Fraction(0) if position is None else position + self._source_step
                yield position, frame
        except av.error.FFmpegError as exc:
            raise MediaFileError(f"cannot decode video file {self._path}") from exc

    def __iter__(self) -> VideoFileSource:
        return self

    def __next__(self) -> VideoPicture:
        wanted = self._origin + Fraction(self._index, self._fps) + TIMESTAMP_TOLERANCE
        while self._upcoming is not None and self._upcoming[0] <= wanted:
            self._current = self._upcoming
            self._upcoming = next(self._decoded, None)
            if self._upcoming is not None and self._upcoming[0] > self._current[0]:
                self._source_step = self._upcoming[0] - self._current[0]
        if self._current is None:
            raise StopIteration
        # Stop once less than half of this output slot is still covered by the last picture.
        if self._upcoming is None and wanted + Fraction(1, 2 * self._fps) >= self._current[0] + self._source_step:
            raise StopIteration
        scaled = self._current[1].reformat(width=self._width, height=self._height, format="yuv420p")
        picture = picture_from_video_frame(scaled, picture_timestamp(self._index, self._fps))
        self._index += 1
        return picture

    def close(self) -> None:
        self._container.close()

    def __enter__(self) -> VideoFileSource:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class GeneratedVideoSource(Iterator[VideoPicture]):
    """``duration`` seconds (rounded up to whole pictures) of the moving test pattern."""

    def __init__(
        self,
        duration: float,
        *,
        width: int = DEFAULT_WIDTH,
        height: int = DEFAULT_HEIGHT,
        fps: int = DEFAULT_FPS,
    ) -> None:
        check_pattern_size(width, height)
        check_fps(fps)
        if not 0 < duration <= MAX_GENERATED_SECONDS or not math.isfinite(duration):
            raise LocalProtocolError(f"duration must be in (0, {MAX_GENERATED_SECONDS}] s, got {duration}")
        self._count = math.ceil(round(duration * fps, 6))
        self._width, self._height, self._fps = width, height, fps
        self._index = 0

    def __iter__(self) -> GeneratedVideoSource:
        return self

    def __next__(self) -> VideoPicture:
        if self._index >= self._count:
            raise StopIteration
        picture = self.render(self._index)
        self._index += 1
        return picture

    def render(self, frame_number: int) -> VideoPicture:
        """Picture ``frame_number`` of this source (the reference for checking a received one)."""
        return VideoPicture(
            timestamp=picture_timestamp(frame_number, self._fps),
            width=self._width,
            height=self._height,
            yuv=render_pattern(frame_number, self._width, self._height),
        )
