"""QR codes (ISO/IEC 18004) for the verification payloads, drawn in a terminal.

A small encoder for what Enseal shows: binary payloads (byte mode) at error-correction level M
in versions 1-6 (up to 106 bytes; the safety-number payload is 66 bytes, version 5; a call
code's is 42, version 3). The construction follows the standard: data codewords with mode,
count, terminator and 0xEC/0x11 padding; Reed-Solomon error correction over GF(256) with
polynomial 0x11D in interleaved blocks; finder, timing and alignment patterns; the data placed
in the zig-zag order; the mask with the lowest penalty (N1-N4); the format information with its
BCH code. Versions 7+ (which need version information) are not needed and not supported.

Two modules are drawn per character cell with the half blocks ``▀▄█`` in black on white, with the
standard four-module quiet zone, so a phone can scan the screen.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Final

from enseal.errors import LocalProtocolError

MAX_VERSION: Final = 6
QUIET_ZONE: Final = 4
_ECC_M_FORMAT_BITS: Final = 0b00
# Level M, versions 1..6 (index 0 unused): error-correction codewords per block, number of blocks.
_ECC_PER_BLOCK: Final = (-1, 10, 16, 26, 18, 24, 16)
_BLOCKS: Final = (-1, 1, 1, 1, 2, 2, 4)
_PAD_BYTES: Final = (0xEC, 0x11)

_MASKS: Final[tuple[Callable[[int, int], bool], ...]] = (
    lambda x, y: (x + y) % 2 == 0,
    lambda x, y: y % 2 == 0,
    lambda x, y: x % 3 == 0,
    lambda x, y: (x + y) % 3 == 0,
    lambda x, y: (x // 3 + y // 2) % 2 == 0,
    lambda x, y: x * y % 2 + x * y % 3 == 0,
    lambda x, y: (x * y % 2 + x * y % 3) % 2 == 0,
    lambda x, y: ((x + y) % 2 + x * y % 3) % 2 == 0,
)


def _raw_data_modules(version: int) -> int:
    """Modules available for data and error correction (everything but the function patterns)."""
    result = (16 * version + 128) * version + 64
    if version >= 2:
        alignments = version // 7 + 2
        result -= (25 * alignments - 10) * alignments - 55
    return result


def _data_codewords(version: int) -> int:
    return _raw_data_modules(version) // 8 - _ECC_PER_BLOCK[version] * _BLOCKS[version]


def _gf_multiply(x: int, y: int) -> int:
    """Multiplication in GF(2^8) modulo x^8 + x^4 + x^3 + x^2 + 1 (0x11D)."""
    z = 0
    for i in reversed(range(8)):
        z = (z << 1) ^ ((z >> 7) * 0x11D)
        z ^= ((y >> i) & 1) * x
    return z


def _rs_divisor(degree: int) -> list[int]:
    """The generator polynomial (x - a^0)(x - a^1)...(x - a^(degree-1)), leading term dropped."""
    result = [0] * (degree - 1) + [1]
    root = 1
    for _ in range(degree):
        for j in range(degree):
            result[j] = _gf_multiply(result[j], root)
            if j + 1 < degree:
                result[j] ^= result[j + 1]
        root = _gf_multiply(root, 0x02)
    return result


def _rs_remainder(data: list[int], divisor: list[int]) -> list[int]:
    result = [0] * len(divisor)
    for byte in data:
        factor = byte ^ result.pop(0)
        result.append(0)
        for i, coefficient in enumerate(divisor):
            result[i] ^= _gf_multiply(coefficient, factor)
    return result


def _codewords(payload: bytes, version: int) -> list[int]:
    """Data codewords (byte mode) followed by the interleaved error-correction codewords."""
    bits: list[int] = []

    def append(value: int, length: int) -> None:
        bits.extend((value >> i) & 1 for i in reversed(range(length)))

    append(0b0100, 4)  # byte mode
    append(len(payload), 8)  # character count: 8 bits in versions 1-9
    for byte in payload:
        append(byte, 8)
    capacity = _data_codewords(version) * 8
    append(0, min(4, capacity - len(bits)))  # terminator
    append(0, -len(bits) % 8)
    data = [int("".join(map(str, bits[i : i + 8])), 2) for i in range(0, len(bits), 8)]
    for i in range(_data_codewords(version) - len(data)):
        data.append(_PAD_BYTES[i % 2])

    blocks_count = _BLOCKS[version]
    ecc_length = _ECC_PER_BLOCK[version]
    raw_codewords = _raw_data_modules(version) // 8
    short_blocks = blocks_count - raw_codewords % blocks_count
    short_length = raw_codewords // blocks_count
    divisor = _rs_divisor(ecc_length)
    blocks = []
    offset = 0
    for i in range(blocks_count):
        size = short_length - ecc_length + (0 if i < short_blocks else 1)
        block = data[offset : offset + size]
        offset += size
        ecc = _rs_remainder(block, divisor)
        if i < short_blocks:
            block.append(0)  # placeholder so every block has the same length while interleaving
        blocks.append(block + ecc)
    result = []
    for i in range(len(blocks[0])):
        for j, block in enumerate(blocks):
            if i != short_length - ecc_length or j >= short_blocks:
                result.append(block[i])
    return result


class QrCode:
    """The modules of one QR code (True is dark)."""

    def __init__(self, payload: bytes) -> None:
        version = next((v for v in range(1, MAX_VERSION + 1) if len(payload) + 2 <= _data_codewords(v)), None)
        if version is None:
            raise LocalProtocolError(f"a QR payload of {len(payload)} bytes is too long for this encoder")
        self.version = version
        self.size = version * 4 + 17
        self._modules = [[False] * self.size for _ in range(self.size)]
        self._function = [[False] * self.size for _ in range(self.size)]
        self._draw_function_patterns()
        self._draw_codewords(_codewords(payload, version))
        best: tuple[int, int] | None = None
        for mask in range(len(_MASKS)):
            self._apply_mask(mask)
            self._draw_format_bits(mask)
            penalty = self._penalty()
            if best is None or penalty < best[0]:
                best = (penalty, mask)
            self._apply_mask(mask)  # XOR again: undo
        assert best is not None
        self.mask = best[1]
        self._apply_mask(self.mask)
        self._draw_format_bits(self.mask)

    def dark(self, x: int, y: int) -> bool:
        return 0 <= x < self.size and 0 <= y < self.size and self._modules[y][x]

    # -- function patterns ---------------------------------------------------------------------

    def _set_function(self, x: int, y: int, dark: bool) -> None:
        self._modules[y][x] = dark
        self._function[y][x] = True

    def _alignment_positions(self) -> list[int]:
        if self.version == 1:
            return []
        count = self.version // 7 + 2
        step = (self.version * 8 + count * 3 + 5) // (count * 4 - 4) * 2
        return sorted([self.size - 7 - i * step for i in range(count - 1)] + [6])

    def _draw_function_patterns(self) -> None:
        for i in range(self.size):
            self._set_function(6, i, i % 2 == 0)
            self._set_function(i, 6, i % 2 == 0)
        for cx, cy in ((3, 3), (self.size - 4, 3), (3, self.size - 4)):
            for dy in range(-4, 5):
                for dx in range(-4, 5):
                    x, y = cx + dx, cy + dy
                    if 0 <= x < self.size and 0 <= y < self.size:
                        self._set_function(x, y, max(abs(dx), abs(dy)) not in (2, 4))
        positions = self._alignment_positions()
        last = len(positions) - 1
        for i, ax in enumerate(positions):
            for j, ay in enumerate(positions):
                if (i, j) in ((0, 0), (0, last), (last, 0)):
                    continue  # these overlap the finder patterns
                for dy in range(-2, 3):
                    for dx in range(-2, 3):
                        self._set_function(ax + dx, ay + dy, max(abs(dx), abs(dy)) != 1)
        self._draw_format_bits(0)  # reserve the format areas

    def _draw_format_bits(self, mask: int) -> None:
        data = _ECC_M_FORMAT_BITS << 3 | mask
        remainder = data
        for _ in range(10):
            remainder = (remainder << 1) ^ ((remainder >> 9) * 0x537)
        bits = (data << 10 | remainder) ^ 0x5412

        def bit(i: int) -> bool:
            return (bits >> i) & 1 != 0

        for i in range(6):
            self._set_function(8, i, bit(i))
        self._set_function(8, 7, bit(6))
        self._set_function(8, 8, bit(7))
        self._set_function(7, 8, bit(8))
        for i in range(9, 15):
            self._set_function(14 - i, 8, bit(i))
        for i in range(8):
            self._set_function(self.size - 1 - i, 8, bit(i))
        for i in range(8, 15):
            self._set_function(8, self.size - 15 + i, bit(i))
        self._set_function(8, self.size - 8, True)  # the dark module

    # -- data --------------------------------------------------------------------------------

    def _draw_codewords(self, codewords: list[int]) -> None:
        i = 0
        total = len(codewords) * 8
        right = self.size - 1
        while right >= 1:
            if right == 6:
                right = 5  # skip the vertical timing pattern
            for vertical in range(self.size):
                for j in range(2):
                    x = right - j
                    upward = (right + 1) & 2 == 0
                    y = self.size - 1 - vertical if upward else vertical
                    if not self._function[y][x] and i < total:
                        self._modules[y][x] = (codewords[i >> 3] >> (7 - (i & 7))) & 1 != 0
                        i += 1
            right -= 2

    def _apply_mask(self, mask: int) -> None:
        flip = _MASKS[mask]
        for y in range(self.size):
            for x in range(self.size):
                if not self._function[y][x] and flip(x, y):
                    self._modules[y][x] = not self._modules[y][x]

    def _penalty(self) -> int:
        size, grid = self.size, self._modules
        penalty = 0
        lines = [grid[y] for y in range(size)] + [[grid[y][x] for y in range(size)] for x in range(size)]
        finder_like = (
            [True, False, True, True, True, False, True, False, False, False, False],
            [False, False, False, False, True, False, True, True, True, False, True],
        )
        for line in lines:
            run = 1
            for a, b in itertools.pairwise(line):
                if a == b:
                    run += 1
                else:
                    penalty += run - 2 if run >= 5 else 0
                    run = 1
            penalty += run - 2 if run >= 5 else 0
            for start in range(len(line) - 10):
                if line[start : start + 11] in finder_like:
                    penalty += 40
        for y in range(size - 1):
            for x in range(size - 1):
                if grid[y][x] == grid[y][x + 1] == grid[y + 1][x] == grid[y + 1][x + 1]:
                    penalty += 3
        dark = sum(row.count(True) for row in grid)
        total = size * size
        # the size is odd, so the dark share is never exactly one half
        penalty += ((abs(dark * 20 - total * 10) + total - 1) // total - 1) * 10
        return penalty

    # -- drawing -----------------------------------------------------------------------------

    def terminal_lines(self) -> list[str]:
        """The code as text lines of half blocks (print black on white)."""
        lines = []
        low, high = -QUIET_ZONE, self.size + QUIET_ZONE
        for y in range(low, high, 2):
            line = []
            for x in range(low, high):
                top, bottom = self.dark(x, y), self.dark(x, y + 1)
                line.append("█" if top and bottom else "▀" if top else "▄" if bottom else " ")
            lines.append("".join(line))
        return lines
