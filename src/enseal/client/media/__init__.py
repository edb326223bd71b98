"""enseal.client.media: the media path of a call (layer L5, asyncio).

* :func:`connect_media` -- the call's :class:`MediaTransport`: direct UDP
  (:class:`UdpTransport`, host candidates and MAC'd connectivity checks) when the peers reach
  each other, else the server's relay (:class:`RelayTransport` over a :class:`RelayChannel`;
  :class:`InMemoryRelay` for tests), with a bounded fallback time.
* :class:`MediaSession` -- the pipeline: real-time sources, Opus/VP8, SFrame through a
  :class:`FrameCrypto` (:class:`SFrameCrypto` for E2EE and for standard encryption), datagrams,
  jitter buffers, decoders, sinks, keyframe requests, counters.

docs/media-path.md describes the whole path.
"""

from enseal.client.media.connect import CallMediaTransport, CandidateExchange, connect_media
from enseal.client.media.errors import (
    DirectPathFailed,
    DirectPathLost,
    MediaPathError,
    RelayClosed,
    TransportClosed,
)
from enseal.client.media.feedback import FEEDBACK_MAGIC, FEEDBACK_METADATA
from enseal.client.media.frame_crypto import STANDARD_CALL_LEAF, FrameCrypto, SFrameCrypto
from enseal.client.media.host_addresses import interface_addresses
from enseal.client.media.relay import (
    RELAY_CONNECT_TIMEOUT_SECONDS,
    RELAY_QUEUE_DATAGRAMS,
    InMemoryRelay,
    InMemoryRelayChannel,
    RelayChannel,
    RelayConnector,
    RelayTransport,
)
from enseal.client.media.session import (
    DEFAULT_AUDIO_STREAM_ID,
    DEFAULT_VIDEO_STREAM_ID,
    KEYFRAME_ANSWER_INTERVAL_SECONDS,
    KEYFRAME_REQUEST_INTERVAL_SECONDS,
    MAX_REMOTE_STREAMS,
    KindStats,
    MediaSession,
    MediaStats,
    PcmSink,
    PictureSink,
)
from enseal.client.media.transport import (
    MAX_RECEIVE_QUEUE,
    MediaTransport,
    PathCounters,
    PathKind,
    TransportStats,
)
from enseal.client.media.udp_transport import SocketBinder, UdpTransport

__all__ = [
    "DEFAULT_AUDIO_STREAM_ID",
    "DEFAULT_VIDEO_STREAM_ID",
    "FEEDBACK_MAGIC",
    "FEEDBACK_METADATA",
    "KEYFRAME_ANSWER_INTERVAL_SECONDS",
    "KEYFRAME_REQUEST_INTERVAL_SECONDS",
    "MAX_RECEIVE_QUEUE",
    "MAX_REMOTE_STREAMS",
    "RELAY_CONNECT_TIMEOUT_SECONDS",
    "RELAY_QUEUE_DATAGRAMS",
    "STANDARD_CALL_LEAF",
    "CallMediaTransport",
    "CandidateExchange",
    "DirectPathFailed",
    "DirectPathLost",
    "FrameCrypto",
    "InMemoryRelay",
    "InMemoryRelayChannel",
    "KindStats",
    "MediaPathError",
    "MediaSession",
    "MediaStats",
    "MediaTransport",
    "PathCounters",
    "PathKind",
    "PcmSink",
    "PictureSink",
    "RelayChannel",
    "RelayClosed",
    "RelayConnector",
    "RelayTransport",
    "SFrameCrypto",
    "SocketBinder",
    "TransportClosed",
    "TransportStats",
    "UdpTransport",
    "connect_media",
    "interface_addresses",
]
