"""Writer for the TLS presentation language with MLS varint vectors (RFC 9420 section 2.1).

Writing is the mirror of :mod:`enseal.codec.reader`; it refuses values that do not fit their
field (a :class:`~enseal.errors.LocalProtocolError`: the caller built an impossible value).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from enseal.codec.varint import encode_varint
from enseal.errors import LocalProtocolError

T = TypeVar("T")


class Writer:
    """Append-only byte buffer."""

    __slots__ = ("_buf",)

    def __init__(self) -> None:
        self._buf = bytearray()

    def getvalue(self) -> bytes:
        return bytes(self._buf)

    def __len__(self) -> int:
        return len(self._buf)

    def _uint(self, value: int, size: int) -> None:
        if value < 0 or value >> (8 * size):
            raise LocalProtocolError(f"value {value} does not fit in uint{8 * size}")
        self._buf += value.to_bytes(size, "big")

    def u8(self, value: int) -> None:
        self._uint(value, 1)

    def u16(self, value: int) -> None:
        self._uint(value, 2)

    def u32(self, value: int) -> None:
        self._uint(value, 4)

    def u64(self, value: int) -> None:
        self._uint(value, 8)

    def boolean(self, value: bool) -> None:
        self._buf.append(1 if value else 0)

    def fixed(self, data: bytes) -> None:
        """Raw bytes with no length (a fixed-size field or a pre-encoded value)."""
        self._buf += data

    def varint(self, value: int) -> None:
        self._buf += encode_varint(value)

    def opaque(self, data: bytes) -> None:
        """``opaque x<V>``."""
        self._buf += encode_varint(len(data))
        self._buf += data

    def opaque8(self, data: bytes) -> None:
        """``opaque x<0..255>``."""
        if len(data) > 0xFF:
            raise LocalProtocolError(f"opaque<0..255> too long: {len(data)}")
        self._buf.append(len(data))
        self._buf += data

    def vector(self, items: Iterable[T], write_item: Callable[[Writer, T], None]) -> None:
        """``T x<V>``: the elements' encodings, prefixed with their total byte length."""
        inner = Writer()
        for item in items:
            write_item(inner, item)
        self.opaque(bytes(inner._buf))

    def optional(self, value: T | None, write_item: Callable[[Writer, T], None]) -> None:
        if value is None:
            self._buf.append(0)
        else:
            self._buf.append(1)
            write_item(self, value)


def encode(value: T, write: Callable[[Writer, T], None]) -> bytes:
    """Encode one value with ``write`` and return the bytes."""
    writer = Writer()
    write(writer, value)
    return writer.getvalue()
