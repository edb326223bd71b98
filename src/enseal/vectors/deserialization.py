"""Runner for ``deserialization.json``: MLS varint length headers (RFC 9420 section 2.1.2)."""

from __future__ import annotations

from collections.abc import Iterator

from enseal.codec import Reader, encode_varint
from enseal.vectors.outcome import Case, expect_equal
from enseal.vectors.shape import has_keys, hexb, integer, list_cases

NAME = "deserialization"


def recognise(filename: str, data: object) -> bool:
    return filename.startswith(NAME) and has_keys(data, {"vlbytes_header", "length"})


def cases(data: object) -> Iterator[Case]:
    return list_cases(NAME, data)


def run(case: Case) -> None:
    header = hexb(case.data, "vlbytes_header")
    length = integer(case.data, "length")
    reader = Reader(header)
    expect_equal("decoded length", reader.varint(), length)
    reader.finish()
    expect_equal("re-encoded header", encode_varint(length), header)
