"""Feedback datagrams on the media path: the receiver of a video stream asks its sender for a
keyframe (after a loss, or when it joined late), like RTCP PLI (RFC 4585 section 6.3.1).

A feedback datagram travels on the same path as media, told apart by its first byte::

    offset  size  field
     0       1    magic = 0xF1 (FEEDBACK_MAGIC; media datagrams start with 1, checks with 0xC1)
     1       -    SFrame ciphertext of the body, with metadata FEEDBACK_METADATA

    body:   1 byte type (1 = keyframe request), 4 bytes stream id (big-endian)

The body is SFrame-protected with the call's frame keys, so the relay can neither read nor forge
a request (a forged flood of keyframe requests would make the sender burn bandwidth).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final

from enseal.errors import DecodeError

FEEDBACK_MAGIC: Final = 0xF1
FEEDBACK_METADATA: Final = b"enseal media feedback v1"
"""SFrame metadata bound to every feedback body (RFC 9605 section 4.4.3), so a feedback body
cannot pass for a media frame or the other way round."""

KEYFRAME_REQUEST: Final = 1
_BODY = struct.Struct(">BI")


class MalformedFeedbackError(DecodeError):
    """A feedback datagram (after decryption) does not decode strictly."""


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyframeRequest:
    stream_id: int


def is_feedback_datagram(data: bytes) -> bool:
    return len(data) > 0 and data[0] == FEEDBACK_MAGIC


def keyframe_request_body(request: KeyframeRequest) -> bytes:
    """The plaintext body to protect with FEEDBACK_METADATA and send after the magic byte."""
    return _BODY.pack(KEYFRAME_REQUEST, request.stream_id)


def parse_feedback_body(body: bytes) -> KeyframeRequest:
    """Decode a decrypted feedback body."""
    if len(body) != _BODY.size:
        raise MalformedFeedbackError("feedback body has the wrong length", f"{len(body)} bytes")
    kind, stream_id = _BODY.unpack(body)
    if kind != KEYFRAME_REQUEST:
        raise MalformedFeedbackError("unknown feedback type", str(kind))
    return KeyframeRequest(stream_id=stream_id)
