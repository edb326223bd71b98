"""Strict codec: round trips (hypothesis) and one negative test per strictness rule."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from enseal.codec import VARINT_MAX, Reader, Writer, decode, decode_varint, encode_varint
from enseal.errors import DecodeError, LocalProtocolError, TrailingBytesError


@given(st.integers(min_value=0, max_value=VARINT_MAX))
def test_varint_round_trip_is_minimal(value: int) -> None:
    data = encode_varint(value)
    assert len(data) == (1 if value < 64 else 2 if value < 16384 else 4)
    assert decode_varint(data, 0, len(data)) == (value, len(data))


@pytest.mark.parametrize("value", [-1, VARINT_MAX + 1])
def test_varint_out_of_range_is_refused(value: int) -> None:
    with pytest.raises(LocalProtocolError):
        encode_varint(value)


@pytest.mark.parametrize("data", [b"\x40\x3f", b"\x80\x00\x3f\xff", b"\x80\x00\x00\x01"])
def test_non_minimal_varint_rejected(data: bytes) -> None:
    with pytest.raises(DecodeError, match="minimally"):
        decode_varint(data, 0, len(data))


def test_varint_prefix_11_rejected() -> None:
    with pytest.raises(DecodeError, match="0b11"):
        decode_varint(b"\xc0\x00\x00\x00\x00\x00\x00\x01", 0, 8)


@pytest.mark.parametrize("data", [b"", b"\x40", b"\x80\x00\x40"])
def test_truncated_varint_rejected(data: bytes) -> None:
    with pytest.raises(DecodeError, match="truncated"):
        decode_varint(data, 0, len(data))


def test_rfc_examples() -> None:
    assert decode_varint(bytes.fromhex("9d7f3e7d"), 0, 4) == (494878333, 4)
    assert decode_varint(bytes.fromhex("7bbd"), 0, 2) == (15293, 2)
    assert decode_varint(bytes.fromhex("25"), 0, 1) == (37, 1)


def _write_record(w: Writer, rec: tuple[int, int, bytes, list[bytes], bytes | None]) -> None:
    a, b, blob, items, opt = rec
    w.u16(a)
    w.u64(b)
    w.opaque(blob)
    w.vector(items, Writer.opaque)
    w.optional(opt, Writer.opaque)


def _read_record(r: Reader) -> tuple[int, int, bytes, list[bytes], bytes | None]:
    return (r.u16(), r.u64(), r.opaque(), r.vector(Reader.opaque), r.optional(Reader.opaque))


records = st.tuples(
    st.integers(0, 0xFFFF),
    st.integers(0, 2**64 - 1),
    st.binary(max_size=300),
    st.lists(st.binary(max_size=70), max_size=8),
    st.none() | st.binary(max_size=20),
)


@given(records)
def test_struct_round_trip(rec: tuple[int, int, bytes, list[bytes], bytes | None]) -> None:
    w = Writer()
    _write_record(w, rec)
    data = w.getvalue()
    assert decode(data, _read_record) == rec


@given(records, st.binary(min_size=1, max_size=4))
def test_trailing_bytes_rejected(rec: tuple[int, int, bytes, list[bytes], bytes | None], extra: bytes) -> None:
    w = Writer()
    _write_record(w, rec)
    with pytest.raises(TrailingBytesError):
        decode(w.getvalue() + extra, _read_record)


@given(records, st.data())
def test_every_truncation_rejected(rec: tuple[int, int, bytes, list[bytes], bytes | None], data: st.DataObject) -> None:
    w = Writer()
    _write_record(w, rec)
    full = w.getvalue()
    cut = data.draw(st.integers(0, len(full) - 1))
    with pytest.raises(DecodeError):
        decode(full[:cut], _read_record)


def test_optional_presence_must_be_0_or_1() -> None:
    with pytest.raises(DecodeError, match="presence"):
        decode(b"\x02\x00", lambda r: r.optional(Reader.opaque))


def test_vector_elements_must_fill_length_exactly() -> None:
    # declares 3 bytes but holds one u16 and a half
    with pytest.raises(DecodeError, match="truncated"):
        decode(b"\x03\x00\x01\x00", lambda r: r.vector(Reader.u16))


def test_vector_longer_than_data_rejected() -> None:
    with pytest.raises(DecodeError, match="truncated"):
        decode(b"\x3f\x00", Reader.opaque)


def test_vector_of_empty_elements_rejected() -> None:
    with pytest.raises(DecodeError, match="no bytes"):
        decode(b"\x02\x00\x00", lambda r: r.vector(lambda _r: None))


def test_vector_item_bound() -> None:
    with pytest.raises(DecodeError, match="too many"):
        decode(b"\x04\x01\x02\x03\x04", lambda r: r.vector(Reader.u8, max_items=3))


def test_opaque_max_len() -> None:
    with pytest.raises(DecodeError, match="longer"):
        decode(b"\x03abc", lambda r: r.opaque(max_len=2))


def test_boolean_strict() -> None:
    with pytest.raises(DecodeError):
        decode(b"\x02", Reader.boolean)


@pytest.mark.parametrize(("method", "value"), [("u8", 256), ("u16", 65536), ("u32", 2**32), ("u64", -1)])
def test_writer_refuses_values_that_do_not_fit(method: str, value: int) -> None:
    with pytest.raises(LocalProtocolError):
        getattr(Writer(), method)(value)
