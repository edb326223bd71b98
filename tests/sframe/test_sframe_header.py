"""SFrame header encoding and strict decoding (RFC 9605 section 4.3), and the receive-path tables."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from enseal.errors import LocalProtocolError
from enseal.sframe import MAX_COUNTER, MAX_KID, SFrameDecodeError, decode_header, encode_header
from enseal.sframe.header import HEADER_LAYOUT, key_field_entries

u64 = st.integers(min_value=0, max_value=MAX_KID)
# Values near every byte-length boundary, where encodings change form.
edges = st.sampled_from(sorted({0, 1, 7, 8, 9, 255, 256, 257, MAX_KID} | {(1 << (8 * n)) + d for n in range(1, 8)
                                                                          for d in (-1, 0, 1)}))
values = st.one_of(u64, edges)


@given(values, values)
def test_round_trip_is_minimal(kid: int, ctr: int) -> None:
    encoded = encode_header(kid, ctr)
    header = decode_header(encoded + b"payload")
    assert (header.kid, header.counter, header.size) == (kid, ctr, len(encoded))
    kid_len = 0 if kid < 8 else (kid.bit_length() + 7) // 8
    ctr_len = 0 if ctr < 8 else (ctr.bit_length() + 7) // 8
    assert len(encoded) == 1 + kid_len + ctr_len


def test_known_forms() -> None:
    # The four forms of RFC 9605 section 4.3.
    assert encode_header(3, 5) == bytes([0b0_011_0_101])
    assert encode_header(3, 0x1234) == bytes([0b0_011_1_001, 0x12, 0x34])
    assert encode_header(0x1234, 5) == bytes([0b1_001_0_101, 0x12, 0x34])
    assert encode_header(MAX_KID, MAX_COUNTER) == bytes([0xFF]) + b"\xff" * 16


@pytest.mark.parametrize(("kid", "ctr"), [(-1, 0), (0, -1), (MAX_KID + 1, 0), (0, MAX_COUNTER + 1)])
def test_encode_refuses_out_of_range(kid: int, ctr: int) -> None:
    with pytest.raises(LocalProtocolError):
        encode_header(kid, ctr)


@given(values, values)
def test_every_truncation_is_refused(kid: int, ctr: int) -> None:
    encoded = encode_header(kid, ctr)
    for cut in range(len(encoded)):
        with pytest.raises(SFrameDecodeError, match="truncated"):
            decode_header(encoded[:cut])


@pytest.mark.parametrize(
    "encoded",
    [
        bytes([0b1_000_0_000, 0x05]),  # KID 5 must be inline
        bytes([0b1_001_0_000, 0x00, 0x80]),  # KID 0x80 in two bytes
        bytes([0b0_000_1_000, 0x07]),  # CTR 7 must be inline
        bytes([0b0_000_1_001, 0x00, 0xFF]),  # CTR 0xFF in two bytes
        bytes([0b1_111_1_111]) + bytes(16),  # both zero, padded to 8 bytes
    ],
)
def test_non_minimal_fields_are_refused(encoded: bytes) -> None:
    with pytest.raises(SFrameDecodeError, match="minimally"):
        decode_header(encoded)


@given(values, values)
def test_receive_tables_recover_kid_and_ctr(kid: int, ctr: int) -> None:
    """What SFrameReceiver does on its fast path gives what decode_header gives."""
    encoded = encode_header(kid, ctr)
    size, key_shift = HEADER_LAYOUT[encoded[0]]
    assert size == len(encoded)
    h = int.from_bytes(encoded, "big")
    matches = [(xor, minimum) for field, xor, minimum in key_field_entries(kid) if field == h >> key_shift]
    assert len(matches) == 1
    xor, minimum = matches[0]
    assert h ^ xor == ctr
    assert ctr >= minimum


@given(st.integers(min_value=0, max_value=0xFFFF), st.integers(min_value=8, max_value=0xFFFF_FFFF))
def test_non_minimal_kid_matches_no_entry(kid: int, ctr: int) -> None:
    """A KID padded with a leading zero byte has a key field no entry of that KID uses."""
    klen = 1 if kid < 8 else (kid.bit_length() + 7) // 8
    clen = (ctr.bit_length() + 7) // 8
    padded = bytes([0x80 | klen << 4 | 0x08 | (clen - 1)]) + kid.to_bytes(klen + 1, "big") + ctr.to_bytes(clen, "big")
    size, key_shift = HEADER_LAYOUT[padded[0]]
    field = int.from_bytes(padded[:size], "big") >> key_shift
    assert field not in {f for f, _, _ in key_field_entries(kid)}
    with pytest.raises(SFrameDecodeError):
        decode_header(padded)


def test_sixteen_entries_per_kid() -> None:
    for kid in (0, 7, 8, 0x1234, MAX_KID):
        fields = [f for f, _, _ in key_field_entries(kid)]
        assert len(set(fields)) == 16
