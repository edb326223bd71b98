"""A deterministic moving test pattern whose pictures carry their own frame number.

Layout of a picture of ``width`` x ``height`` (both even, width >= :data:`MIN_PATTERN_WIDTH`,
height >= :data:`MIN_PATTERN_HEIGHT`):

* rows ``[0, band)``, ``band = max(8, height // 15)``: the frame number modulo ``2**CODE_BITS`` as ``CODE_BITS``
  equal-width cells, most significant bit first, white (Y=235) for 1 and black (Y=16) for 0;
* rows ``[band, 2*band)``: the same cells inverted, so a reader can tell
  a real code from a picture that merely has bright and dark areas;
* the rest: a diagonal luma ramp and chroma gradients that scroll with the frame number, and a
  bright square that moves across, so consecutive pictures differ as real video does.

At 320x240 each band is one 16-pixel macroblock row and each cell 20 pixels wide, so a lossy
codec at a modest bitrate keeps the cells readable. :func:`read_frame_number` recovers the
number from a decoded picture.
"""

from __future__ import annotations

import numpy as np

from enseal.errors import LocalProtocolError
from enseal.media.errors import PatternNotRecognisedError
from enseal.media.frames import Uint8Array, VideoPicture, check_picture_size

CODE_BITS = 16
"""Bits of the frame number shown in each picture (the number is shown modulo 2**16)."""

CODE_BAND_FRACTION = 15
"""Each of the two code bands is ``height // 15`` pixels high (16 at 240 lines), so the code
scales with the picture and survives resizing."""

MIN_CODE_BAND = 8

MIN_PATTERN_WIDTH = 128
"""Narrowest pattern: each code cell is at least 8 pixels wide."""

MIN_PATTERN_HEIGHT = 64
"""Shortest pattern: the two code bands plus room for the moving part."""

LUMA_BLACK = 16
LUMA_WHITE = 235
LUMA_MID = (LUMA_BLACK + LUMA_WHITE) // 2

CODE_MARGIN = 40
"""A cell's mean luma must be this far from mid-grey to count as a clear 0 or 1."""

_SQUARE = 32
_SCROLL_PER_FRAME = 4


def check_pattern_size(width: int, height: int) -> None:
    """Raise :class:`LocalProtocolError` unless the pattern can be drawn at this size."""
    check_picture_size(width, height)
    if width < MIN_PATTERN_WIDTH or height < MIN_PATTERN_HEIGHT:
        raise LocalProtocolError(
            f"the test pattern needs at least {MIN_PATTERN_WIDTH}x{MIN_PATTERN_HEIGHT}, got {width}x{height}"
        )


def _band_height(height: int) -> int:
    return max(MIN_CODE_BAND, height // CODE_BAND_FRACTION)


def _cell_bounds(width: int) -> list[tuple[int, int]]:
    cell = width // CODE_BITS
    return [(i * cell, (i + 1) * cell) for i in range(CODE_BITS)]


def render_pattern(frame_number: int, width: int, height: int) -> Uint8Array:
    """The I420 array (shape ``(height*3//2, width)``) of picture ``frame_number``."""
    check_pattern_size(width, height)
    if frame_number < 0:
        raise LocalProtocolError("frame numbers are non-negative")
    shift = frame_number * _SCROLL_PER_FRAME
    ys, xs = np.mgrid[0:height, 0:width]
    ramp = (xs + ys + shift) % 512
    luma = (LUMA_BLACK + np.abs(ramp - 256) * (LUMA_WHITE - LUMA_BLACK) // 256).astype(np.uint8)
    band = _band_height(height)
    top = 2 * band
    span = max(1, width - _SQUARE)
    square_x = shift % span
    square_y = top + (height - top - _SQUARE) // 2
    luma[square_y : square_y + _SQUARE, square_x : square_x + _SQUARE] = LUMA_WHITE
    code = frame_number % (1 << CODE_BITS)
    for i, (x0, x1) in enumerate(_cell_bounds(width)):
        bit = (code >> (CODE_BITS - 1 - i)) & 1
        luma[:band, x0:x1] = LUMA_WHITE if bit else LUMA_BLACK
        luma[band:top, x0:x1] = LUMA_BLACK if bit else LUMA_WHITE
    luma[:top, _cell_bounds(width)[-1][1] :] = LUMA_MID
    cys, cxs = np.mgrid[0 : height // 2, 0 : width // 2]
    u = (64 + np.abs((cxs * 2 + shift) % 256 - 128)).astype(np.uint8)
    v = (64 + np.abs((cys * 2 + shift // 2) % 256 - 128)).astype(np.uint8)
    u[:band] = 128
    v[:band] = 128
    chroma = np.concatenate([u.reshape(-1), v.reshape(-1)]).reshape(height // 2, width)
    return np.ascontiguousarray(np.concatenate([luma, chroma], axis=0))


def read_frame_number(picture: VideoPicture) -> int:
    """The frame number (modulo ``2**CODE_BITS``) shown by a picture of the test pattern.

    Raises :class:`PatternNotRecognisedError` when any cell is not clearly black or white or
    its inverted twin does not disagree with it: the picture is not (a readable decoding of)
    the pattern.
    """
    if picture.width < MIN_PATTERN_WIDTH or picture.height < MIN_PATTERN_HEIGHT:
        raise PatternNotRecognisedError(
            "picture is too small to hold the test pattern", f"{picture.width}x{picture.height}"
        )
    luma = picture.luma.astype(np.int32)
    band = _band_height(picture.height)
    inset_y = band // 4
    code = 0
    for i, (x0, x1) in enumerate(_cell_bounds(picture.width)):
        inset_x = (x1 - x0) // 4
        cols = slice(x0 + inset_x, x1 - inset_x)
        upper = float(luma[inset_y : band - inset_y, cols].mean())
        lower = float(luma[band + inset_y : 2 * band - inset_y, cols].mean())
        clear = min(abs(upper - LUMA_MID), abs(lower - LUMA_MID)) >= CODE_MARGIN
        if not clear or (upper > LUMA_MID) == (lower > LUMA_MID):
            raise PatternNotRecognisedError(
                "picture does not show the test pattern's frame-number code",
                f"cell {i}: upper mean {upper:.0f}, lower mean {lower:.0f}",
            )
        code = (code << 1) | int(upper > LUMA_MID)
    return code
