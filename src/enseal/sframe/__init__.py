"""SFrame (RFC 9605): end-to-end encryption of media frames, keyed from MLS (section 5.2).

Sans-I/O: bytes and ``now`` in, bytes out. The public API:

* :class:`SFrameSender` / :class:`SFrameReceiver` -- one send key with its CTR; receive keys by KID
  with a replay window. :class:`MlsSFrameKeys` -- both, keyed from an MLS group's exporter across
  epochs, with the previous epoch's grace window.
* :func:`encode_header` / :func:`decode_header`, :func:`derive_key_salt`,
  :class:`SFrameCipherSuite` -- the building blocks, for vectors and tools.
* Errors in :mod:`enseal.sframe.errors`.

``enseal.sframe`` does not import ``enseal.mls``: the client passes exporter output and indices.
"""

from enseal.sframe.errors import (
    CounterExhaustedError,
    ExpiredKeyIdError,
    FrameAuthenticationError,
    FrameReplayError,
    FrameTooOldError,
    ReceiveKeyLimitError,
    SFrameDecodeError,
    UnknownKeyIdError,
    UnsupportedSFrameCipherSuite,
)
from enseal.sframe.header import MAX_COUNTER, MAX_KID, SFrameHeader, decode_header, encode_header
from enseal.sframe.key_schedule import FrameKeyMaterial, derive_key_salt, frame_nonce
from enseal.sframe.mls_keys import (
    DEFAULT_KID_LAYOUT,
    EPOCH_BITS,
    EXPORTER_CONTEXT,
    EXPORTER_LABEL,
    MAX_CONTEXT_ID,
    PREVIOUS_EPOCH_GRACE_SECONDS,
    SENDER_BITS,
    KidLayout,
    KidParts,
    MlsExporter,
    MlsFrame,
    MlsSFrameKeys,
    exported_base_key,
)
from enseal.sframe.receiver import MAX_RECEIVE_KEYS, KeyResolver, ReceivedFrame, SFrameReceiver
from enseal.sframe.replay import REPLAY_WINDOW, ReplayWindow
from enseal.sframe.sender import SFrameSender
from enseal.sframe.suites import DEFAULT_SFRAME_SUITE, SFrameCipherSuite, sframe_cipher_suite

__all__ = [
    "DEFAULT_KID_LAYOUT",
    "DEFAULT_SFRAME_SUITE",
    "EPOCH_BITS",
    "EXPORTER_CONTEXT",
    "EXPORTER_LABEL",
    "MAX_CONTEXT_ID",
    "MAX_COUNTER",
    "MAX_KID",
    "MAX_RECEIVE_KEYS",
    "PREVIOUS_EPOCH_GRACE_SECONDS",
    "REPLAY_WINDOW",
    "SENDER_BITS",
    "CounterExhaustedError",
    "ExpiredKeyIdError",
    "FrameAuthenticationError",
    "FrameKeyMaterial",
    "FrameReplayError",
    "FrameTooOldError",
    "KeyResolver",
    "KidLayout",
    "KidParts",
    "MlsExporter",
    "MlsFrame",
    "MlsSFrameKeys",
    "ReceiveKeyLimitError",
    "ReceivedFrame",
    "ReplayWindow",
    "SFrameCipherSuite",
    "SFrameDecodeError",
    "SFrameHeader",
    "SFrameReceiver",
    "SFrameSender",
    "UnknownKeyIdError",
    "UnsupportedSFrameCipherSuite",
    "decode_header",
    "derive_key_salt",
    "encode_header",
    "exported_base_key",
    "frame_nonce",
    "sframe_cipher_suite",
]
