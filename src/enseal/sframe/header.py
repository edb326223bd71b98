"""The SFrame header (RFC 9605 section 4.3): KID and CTR as compact big-endian integers.

::

     0 1 2 3 4 5 6 7
    +-+-+-+-+-+-+-+-+------------+------------+
    |X|  K  |Y|  C  |   KID...   |   CTR...   |
    +-+-+-+-+-+-+-+-+------------+------------+

A value 0-7 sits in the config byte (flag 0); a larger one follows it in the minimum number of bytes
(flag 1, field = length - 1). Decoding is strict: a truncated header or a value that is not in its
shortest form is refused with :class:`~enseal.sframe.errors.SFrameDecodeError`.

Besides :func:`encode_header` and :func:`decode_header`, this module precomputes what the receive
path needs to parse a header with a handful of integer operations: :data:`HEADER_LAYOUT` (header
size and the position of the key field for each config byte) and :func:`key_field_entries`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from enseal.errors import LocalProtocolError
from enseal.sframe.errors import SFrameDecodeError
from enseal.types import UINT64_MAX

MAX_KID: Final = UINT64_MAX
MAX_COUNTER: Final = UINT64_MAX
MAX_HEADER_SIZE: Final = 17
"""Config byte + 8 KID bytes + 8 CTR bytes."""

_INLINE_LIMIT: Final = 8
"""Values below 8 are carried in the config byte."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SFrameHeader:
    """A decoded header; ``size`` is its encoded length in bytes."""

    kid: int
    counter: int
    size: int


def _byte_length(value: int) -> int:
    return max(1, (value.bit_length() + 7) // 8)


def encode_header(kid: int, counter: int) -> bytes:
    """The header for ``kid`` and ``counter``, each field in its shortest form."""
    if not 0 <= kid <= MAX_KID:
        raise LocalProtocolError(f"KID {kid} out of range 0..2^64-1")
    if not 0 <= counter <= MAX_COUNTER:
        raise LocalProtocolError(f"CTR {counter} out of range 0..2^64-1")
    # "If the value of one of these fields is in the range 0-7, then the value is carried in the
    # corresponding bits of the config byte ... Otherwise, the value MUST be encoded with the
    # minimum number of bytes required and appended after the config byte, with the KID first."
    config = 0
    tail = b""
    if kid < _INLINE_LIMIT:
        config |= kid << 4
    else:
        klen = _byte_length(kid)
        config |= 0x80 | (klen - 1) << 4
        tail += kid.to_bytes(klen, "big")
    if counter < _INLINE_LIMIT:
        config |= counter
    else:
        clen = _byte_length(counter)
        config |= 0x08 | (clen - 1)
        tail += counter.to_bytes(clen, "big")
    return bytes((config,)) + tail


def decode_header(data: bytes) -> SFrameHeader:
    """Decode the header at the start of ``data`` (an SFrame ciphertext or a bare header)."""
    if not data:
        raise SFrameDecodeError("SFrame header truncated (RFC 9605 section 4.3)", "no config byte")
    config = data[0]
    pos = 1
    if config & 0x80:
        klen = (config >> 4 & 0x07) + 1
        kid = _read_extended(data, pos, klen, "KID")
        pos += klen
    else:
        kid = config >> 4 & 0x07
    if config & 0x08:
        clen = (config & 0x07) + 1
        counter = _read_extended(data, pos, clen, "CTR")
        pos += clen
    else:
        counter = config & 0x07
    return SFrameHeader(kid=kid, counter=counter, size=pos)


def _read_extended(data: bytes, pos: int, length: int, name: str) -> int:
    field = data[pos : pos + length]
    if len(field) != length:
        raise SFrameDecodeError(
            "SFrame header truncated (RFC 9605 section 4.3)", f"{name} needs {length} bytes, has {len(field)}"
        )
    value = int.from_bytes(field, "big")
    # "the value MUST be encoded with the minimum number of bytes required"; 0-7 go in the config byte.
    if value < _INLINE_LIMIT or (length > 1 and field[0] == 0):
        raise SFrameDecodeError(
            "SFrame header field not minimally encoded (RFC 9605 section 4.3)", f"{name} {value} in {length} bytes"
        )
    return value


# --- precomputed parsing for the receive path --------------------------------------------------
#
# Read the whole header as one big-endian integer h. Above the CTR bytes (if any) sit the config
# byte and the KID bytes (if any): the *key field* h >> key_shift, with key_shift = 8 * CTR length.
# A receiver registers each of its KIDs under every key field that KID can produce (16 config-byte
# variants: the Y and C bits differ), and with each one the integer to XOR h with to obtain the CTR.
# A key field that is not registered covers both "unknown KID" and "KID not minimally encoded"
# (registered fields are always minimal); the slow path decodes strictly to tell them apart.


def _layout(config: int) -> tuple[int, int]:
    klen = (config >> 4 & 0x07) + 1 if config & 0x80 else 0
    clen = (config & 0x07) + 1 if config & 0x08 else 0
    return 1 + klen + clen, 8 * clen


HEADER_LAYOUT: Final[tuple[tuple[int, int], ...]] = tuple(_layout(config) for config in range(256))
"""For each config byte: ``(header size, key_shift)``."""


def key_field_entries(kid: int) -> tuple[tuple[int, int, int], ...]:
    """``(key_field, counter_xor, counter_min)`` for each header form that can carry ``kid``.

    For a header ``h`` whose key field ``h >> key_shift`` equals ``key_field``, the CTR is
    ``h ^ counter_xor``, and it is minimally encoded iff it is at least ``counter_min``.
    """
    if not 0 <= kid <= MAX_KID:
        raise LocalProtocolError(f"KID {kid} out of range 0..2^64-1")
    if kid < _INLINE_LIMIT:
        kid_bits, kid_bytes = kid << 4, b""
    else:
        klen = _byte_length(kid)
        kid_bits, kid_bytes = 0x80 | (klen - 1) << 4, kid.to_bytes(klen, "big")
    entries = []
    for ctr_bits in range(16):
        key_field = int.from_bytes(bytes((kid_bits | ctr_bits,)) + kid_bytes, "big")
        if ctr_bits & 0x08:  # CTR in (ctr_bits & 7) + 1 bytes below the key field
            clen = (ctr_bits & 0x07) + 1
            entries.append((key_field, key_field << 8 * clen, max(_INLINE_LIMIT, 1 << 8 * (clen - 1))))
        else:  # CTR inside the config byte: the whole header is the key field
            entries.append((key_field, key_field ^ ctr_bits, 0))
    return tuple(entries)
