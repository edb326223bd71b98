"""Strict reader for the TLS presentation language as MLS uses it (RFC 8446 section 3,
RFC 9420 section 2.1).

Strictness rules, each raising :class:`~enseal.errors.DecodeError`:

* no read may run past the end of the enclosing value (truncation);
* variable-length vectors use minimal varint length headers (RFC 9420 §2.1.2);
* a vector's elements must exactly fill its declared length, and an element that consumes
  no bytes is rejected (so a hostile length cannot loop forever);
* an optional's presence octet is 0 or 1 (RFC 9420 §2.1.1);
* lengths are bounded by the caller's ``max_len`` and by the bytes actually present;
* after a top-level value, no bytes may remain (:func:`decode`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from enseal.codec.varint import decode_varint
from enseal.errors import DecodeError, TrailingBytesError

T = TypeVar("T")

MAX_VECTOR_ITEMS = 1 << 20
"""Bound on the number of elements in any one decoded vector."""


class Reader:
    """Cursor over a byte string; every read checks bounds."""

    __slots__ = ("_data", "_end", "_pos")

    def __init__(self, data: bytes, pos: int = 0, end: int | None = None) -> None:
        self._data = data
        self._pos = pos
        self._end = len(data) if end is None else end

    # -- position ------------------------------------------------------------------------

    @property
    def pos(self) -> int:
        return self._pos

    @property
    def data(self) -> bytes:
        return self._data

    def remaining(self) -> int:
        return self._end - self._pos

    def at_end(self) -> bool:
        return self._pos >= self._end

    def slice(self, start: int, stop: int) -> bytes:
        """The raw bytes between two positions (for hashing an exact encoding)."""
        return self._data[start:stop]

    def finish(self) -> None:
        """Raise :class:`TrailingBytesError` if bytes remain."""
        if self._pos != self._end:
            raise TrailingBytesError(
                "trailing bytes after a complete value", f"{self._end - self._pos} bytes left"
            )

    # -- fixed-size integers -------------------------------------------------------------

    def _take(self, n: int) -> int:
        pos = self._pos
        new = pos + n
        if new > self._end:
            raise DecodeError("truncated", f"needs {n} bytes at offset {pos}, {self._end - pos} left")
        self._pos = new
        return pos

    def u8(self) -> int:
        pos = self._take(1)
        return self._data[pos]

    def u16(self) -> int:
        pos = self._take(2)
        return int.from_bytes(self._data[pos : pos + 2], "big")

    def u32(self) -> int:
        pos = self._take(4)
        return int.from_bytes(self._data[pos : pos + 4], "big")

    def u64(self) -> int:
        pos = self._take(8)
        return int.from_bytes(self._data[pos : pos + 8], "big")

    def boolean(self) -> bool:
        value = self.u8()
        if value > 1:
            raise DecodeError("boolean must be 0 or 1", f"got {value}")
        return value == 1

    def fixed(self, n: int) -> bytes:
        pos = self._take(n)
        return self._data[pos : pos + n]

    # -- variable-length -----------------------------------------------------------------

    def varint(self) -> int:
        value, self._pos = decode_varint(self._data, self._pos, self._end)
        return value

    def opaque(self, max_len: int | None = None) -> bytes:
        """``opaque x<V>``: varint length then that many bytes."""
        length = self.varint()
        if max_len is not None and length > max_len:
            raise DecodeError("vector longer than allowed", f"{length} > {max_len}")
        pos = self._take(length)
        return self._data[pos : pos + length]

    def opaque8(self) -> bytes:
        """``opaque x<0..255>`` (one-byte length), used by a few TLS-style fields."""
        length = self.u8()
        pos = self._take(length)
        return self._data[pos : pos + length]

    def vector(self, read_item: Callable[[Reader], T], max_items: int = MAX_VECTOR_ITEMS) -> list[T]:
        """``T x<V>``: varint byte length, then elements that must fill it exactly."""
        length = self.varint()
        start = self._pos
        stop = start + length
        if stop > self._end:
            raise DecodeError("truncated: vector", f"declares {length} bytes, {self._end - start} left")
        outer_end = self._end
        self._end = stop
        items: list[T] = []
        try:
            while self._pos < stop:
                before = self._pos
                items.append(read_item(self))
                if self._pos == before:
                    raise DecodeError("vector element consumed no bytes")
                if len(items) > max_items:
                    raise DecodeError("vector has too many elements", f"> {max_items}")
        finally:
            self._end = outer_end
        return items

    def optional(self, read_item: Callable[[Reader], T]) -> T | None:
        """``optional<T>``: presence octet 0 or 1, then the value if present."""
        present = self.u8()
        if present == 0:
            return None
        if present != 1:
            # "a presence octet with a value other than 0 or 1 MUST be rejected as malformed"
            raise DecodeError("RFC 9420 §2.1.1: optional presence octet must be 0 or 1", f"got {present}")
        return read_item(self)


def decode(data: bytes, read: Callable[[Reader], T]) -> T:
    """Decode exactly one value from ``data``; trailing bytes are an error."""
    reader = Reader(bytes(data))
    value = read(reader)
    reader.finish()
    return value
