"""Encoding conventions shared by every RFC 9420 structure in this package (section 2.1).

Every structure is a frozen keyword-only dataclass with ``encode(self, w: Writer)`` and
``decode(cls, r: Reader)``. :func:`serialize` and :func:`deserialize` are the top-level entry
points; :func:`deserialize` rejects trailing bytes. :func:`read_enum` is the one place where a
strict enum field is read: an unknown value is a :class:`~enseal.errors.DecodeError`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from enum import IntEnum
from typing import Protocol, Self, TypeVar

from enseal.codec import Reader, Writer
from enseal.errors import DecodeError

E = TypeVar("E", bound=IntEnum)
T = TypeVar("T", bound="Decodable")


class Encodable(Protocol):
    def encode(self, w: Writer) -> None: ...


class Decodable(Encodable, Protocol):
    @classmethod
    def decode(cls, r: Reader) -> Self: ...


def serialize(obj: Encodable) -> bytes:
    """The TLS-presentation encoding of ``obj``."""
    w = Writer()
    obj.encode(w)
    return w.getvalue()


def deserialize(cls: type[T], data: bytes) -> T:
    """Decode exactly one ``cls`` from ``data``; trailing bytes are a DecodeError."""
    r = Reader(bytes(data))
    value = cls.decode(r)
    r.finish()
    return value


_READERS: dict[int, Callable[[Reader], int]] = {1: Reader.u8, 2: Reader.u16}


def read_enum(r: Reader, enum: type[E], size: int) -> E:
    """Read a ``size``-byte integer that must be a known member of ``enum``."""
    value = _READERS[size](r)
    try:
        return enum(value)
    except ValueError:
        raise DecodeError(f"RFC 9420: unknown {enum.__name__} value", f"{value:#x}") from None


def write_enum(w: Writer, value: int, size: int) -> None:
    if size == 1:
        w.u8(value)
    else:
        w.u16(value)


def _write_item(w: Writer, item: Encodable) -> None:
    item.encode(w)


def write_vector(w: Writer, items: Iterable[Encodable]) -> None:
    """``T x<V>`` of structures."""
    w.vector(items, _write_item)


def write_optional(w: Writer, item: Encodable | None) -> None:
    """``optional<T>`` of a structure."""
    w.optional(item, _write_item)


def read_u16_list(r: Reader) -> tuple[int, ...]:
    """``uint16 x<V>`` as a tuple of ints (capability lists keep unknown values)."""
    return tuple(r.vector(Reader.u16))


def write_u16_list(w: Writer, values: tuple[int, ...]) -> None:
    w.vector(values, Writer.u16)
