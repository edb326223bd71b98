"""Strict codec for the TLS presentation language with MLS variable-length vectors
(RFC 8446 section 3; RFC 9420 section 2.1). Layer L1: imports only L0.
"""

from enseal.codec.reader import MAX_VECTOR_ITEMS, Reader, decode
from enseal.codec.varint import VARINT_MAX, decode_varint, encode_varint
from enseal.codec.writer import Writer, encode

__all__ = [
    "MAX_VECTOR_ITEMS",
    "VARINT_MAX",
    "Reader",
    "Writer",
    "decode",
    "decode_varint",
    "encode",
    "encode_varint",
]
