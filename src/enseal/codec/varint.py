"""MLS variable-length integers (RFC 9420 section 2.1.2).

Values 0..2**30-1 encoded in 1, 2 or 4 bytes; the top two bits of the first byte give the
length. "The encoded value MUST use the smallest number of bits required to represent the
value. When decoding, values using more bits than necessary MUST be treated as malformed."
"""

from __future__ import annotations

from enseal.errors import DecodeError, LocalProtocolError

VARINT_MAX = (1 << 30) - 1
"""Largest value a varint can carry (a vector of at most 2**30 - 1 bytes)."""


def encode_varint(value: int) -> bytes:
    """Encode ``value`` in the minimal number of bytes."""
    if value < 0:
        raise LocalProtocolError(f"varint cannot be negative: {value}")
    if value < 0x40:
        return bytes((value,))
    if value < 0x4000:
        return (value | 0x4000).to_bytes(2, "big")
    if value <= VARINT_MAX:
        return (value | 0x8000_0000).to_bytes(4, "big")
    raise LocalProtocolError(f"varint too large: {value} > {VARINT_MAX}")


def decode_varint(data: bytes | memoryview, pos: int, end: int) -> tuple[int, int]:
    """Decode one varint at ``pos``; return ``(value, new_pos)``.

    Raises :class:`DecodeError` for the invalid prefix ``11``, a truncated integer or a
    non-minimal encoding.
    """
    if pos >= end:
        raise DecodeError("truncated: varint expected", f"at offset {pos}")
    first = data[pos]
    prefix = first >> 6
    if prefix == 0:
        return first, pos + 1
    if prefix == 3:
        # "Vectors that start with the prefix "11" are invalid and MUST be rejected."
        raise DecodeError("RFC 9420 §2.1.2: varint prefix 0b11 is invalid", f"at offset {pos}")
    length = 1 << prefix
    if pos + length > end:
        raise DecodeError("truncated: varint", f"needs {length} bytes at offset {pos}")
    value = int.from_bytes(data[pos : pos + length], "big") & ((1 << (8 * length - 2)) - 1)
    # "values using more bits than necessary MUST be treated as malformed"
    if value < (1 << (4 * length - 2)):
        raise DecodeError("RFC 9420 §2.1.2: varint not minimally encoded", f"at offset {pos}")
    return value, pos + length
