"""Video sink: decoded :class:`VideoPicture` s to a file at a constant frame rate.

The format follows the file extension (:data:`VIDEO_FILE_CODECS`):

* ``.y4m`` -- raw I420 in a YUV4MPEG2 stream: exactly the decoded pixels, simple, large;
* ``.mkv`` -- FFV1 (lossless) in Matroska: exactly the decoded pixels, about a third the size;
* ``.webm`` -- VP8 at a high bit rate in WebM: small and plays anywhere, but lossy again.

Pictures are placed by timestamp on a constant-rate grid of ``fps`` (from the first picture
written): picture ``n`` of the file is the latest picture whose timestamp rounds to slot ``n``.
Slots left empty by lost frames repeat the previous picture, so the file keeps the sender's
timing; a picture for a slot already written is dropped. A gap longer than
:data:`MAX_GAP_FILL_SECONDS` is not filled: the grid is re-based on the new picture. A picture
of another size is scaled to the sink's size.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from types import TracebackType

import av
import av.error

from enseal.errors import InternalError
from enseal.media.audio_sink import MAX_GAP_FILL_SECONDS
from enseal.media.errors import MediaFileError
from enseal.media.frames import VIDEO_CLOCK_RATE, VideoPicture, check_picture_size
from enseal.media.video_source import DEFAULT_FPS, DEFAULT_HEIGHT, DEFAULT_WIDTH, check_fps

VIDEO_FILE_CODECS = {".y4m": "rawvideo", ".mkv": "ffv1", ".webm": "libvpx"}
"""File extension -> PyAV encoder used by :class:`VideoFileSink`."""

WEBM_BITRATE = 2_000_000
"""Bit rate of the VP8 re-encoding written to ``.webm`` files."""


class VideoFileSink:
    """Writes pictures to a video file; call close() (or use as a context manager) to finish it."""

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
        codec = VIDEO_FILE_CODECS.get(Path(path).suffix.lower())
        if codec is None:
            raise MediaFileError(
                f"unsupported video file extension {Path(path).suffix!r}; use one of {sorted(VIDEO_FILE_CODECS)}"
            )
        try:
            self._container = av.open(str(path), "w")
            stream = self._container.add_stream(codec, rate=fps)
            if not isinstance(stream, av.VideoStream):
                raise InternalError(f"{codec} did not make a video stream")
            stream.width, stream.height = width, height
            stream.pix_fmt = "yuv420p"
            if codec == "libvpx":
                stream.bit_rate = WEBM_BITRATE
            self._container.start_encoding()  # opens the file now, so errors show here
        except (av.error.FFmpegError, OSError) as exc:
            raise MediaFileError(f"cannot create video file {path}") from exc
        self._stream = stream
        self._path = path
        self._width, self._height, self._fps = width, height, fps
        self._origin: Fraction | None = None
        self._next_slot = 0
        self._max_gap = MAX_GAP_FILL_SECONDS * fps
        self._last: av.VideoFrame | None = None
        self._closed = False

    def _slot(self, timestamp: int) -> int:
        assert self._origin is not None
        return round((timestamp - self._origin) * self._fps / VIDEO_CLOCK_RATE)

    def write(self, picture: VideoPicture) -> None:
        if self._closed:
            raise MediaFileError(f"video sink {self._path} is closed")
        if self._origin is None or self._slot(picture.timestamp) - self._next_slot > self._max_gap:
            # First picture, or re-base: this picture takes the next slot, a long gap is not filled.
            self._origin = picture.timestamp - Fraction(self._next_slot * VIDEO_CLOCK_RATE, self._fps)
        slot = self._slot(picture.timestamp)
        if slot < self._next_slot:
            return
        frame = av.VideoFrame.from_ndarray(picture.yuv, format="yuv420p")
        if (picture.width, picture.height) != (self._width, self._height):
            frame = frame.reformat(width=self._width, height=self._height, format="yuv420p")
        while self._last is not None and self._next_slot < slot:
            self._encode(self._last)  # repeat the previous picture into empty slots
        self._encode(frame)
        self._last = frame

    def _encode(self, frame: av.VideoFrame | None) -> None:
        if frame is not None:
            frame.pts = self._next_slot
            self._next_slot += 1
        try:
            self._container.mux(self._stream.encode(frame))
        except (av.error.FFmpegError, OSError) as exc:
            raise MediaFileError(f"cannot write video file {self._path}") from exc

    def close(self) -> None:
        """Flush the encoder and finish the file (idempotent)."""
        if self._closed:
            return
        self._closed = True
        try:
            self._encode(None)
        finally:
            self._container.close()

    def __enter__(self) -> VideoFileSink:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
