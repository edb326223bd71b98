"""Top-level (de)serialization and strict enum reading."""

from __future__ import annotations

import pytest

from enseal.codec import Reader, Writer
from enseal.errors import DecodeError, TrailingBytesError
from enseal.mls.code_points import GREASE_VALUES, ContentType
from enseal.mls.commit import Commit
from enseal.mls.wire import deserialize, read_enum, serialize


def test_deserialize_rejects_trailing_bytes() -> None:
    data = serialize(Commit())
    assert deserialize(Commit, data) == Commit()
    with pytest.raises(TrailingBytesError):
        deserialize(Commit, data + b"\x00")


@pytest.mark.parametrize("value", [0, 4, 255])
def test_unknown_enum_value_is_a_decode_error(value: int) -> None:
    with pytest.raises(DecodeError, match="unknown ContentType"):
        read_enum(Reader(bytes((value,))), ContentType, 1)


def test_known_enum_value_reads() -> None:
    w = Writer()
    w.u8(3)
    assert read_enum(Reader(w.getvalue()), ContentType, 1) is ContentType.COMMIT


def test_grease_values_are_the_fifteen_of_the_rfc() -> None:
    assert len(GREASE_VALUES) == 15
    assert min(GREASE_VALUES) == 0x0A0A
    assert max(GREASE_VALUES) == 0xEAEA
    assert all(v & 0xFF == v >> 8 and v & 0x0F == 0x0A for v in GREASE_VALUES)
