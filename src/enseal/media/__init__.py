"""enseal.media: the media chain of calls and meetings, without the network (layer L3).

Sending: a source yields raw frames (:class:`PcmFrame` every 20 ms, :class:`VideoPicture` at
the frame rate); an encoder turns each into an :class:`EncodedFrame`; the caller protects its
payload with SFrame, binding :func:`sframe_metadata` of the frame; a :class:`Packetiser` splits
the protected bytes into datagrams of at most the MTU.

Receiving: :func:`decode_datagram` parses a datagram; the caller routes it by
``(kind, stream_id)`` to that stream's :class:`Depacketiser` (the jitter buffer), which yields
:class:`FrameReady` / :class:`FramesLost` events; the caller unprotects ``frame.payload`` with
the same :func:`sframe_metadata`, hands ``frame.with_payload(plaintext)`` to a decoder, and the
decoded frames to a sink. :func:`audio_similarity` and :func:`luma_psnr` /
:func:`read_frame_number` check that what arrived is what was sent.

No sockets, no asyncio, no threads: the caller owns time (``now``) and pacing. Files are read
and written through PyAV.
"""

from enseal.media.analysis import (
    AUDIO_MATCH_THRESHOLD,
    DEFAULT_MAX_LAG,
    VIDEO_MATCH_PSNR,
    audio_similarity,
    luma_psnr,
)
from enseal.media.audio_sink import AudioFileSink, PcmRecorder
from enseal.media.audio_source import AudioFileSource, GeneratedAudioSource, generated_signal
from enseal.media.datagram import HEADER_SIZE, MAX_DATAGRAM_SIZE, Datagram, decode_datagram, sframe_metadata
from enseal.media.errors import (
    CorruptFrameError,
    InconsistentFragmentError,
    MalformedDatagramError,
    MediaFileError,
    OutOfOrderFrameError,
    PatternNotRecognisedError,
)
from enseal.media.frames import (
    AUDIO_CLOCK_RATE,
    AUDIO_FRAME_SAMPLES,
    VIDEO_CLOCK_RATE,
    EncodedFrame,
    MediaKind,
    PcmFrame,
    VideoPicture,
)
from enseal.media.jitter_buffer import (
    DEFAULT_MAX_HOLD,
    DEFAULT_REORDER_WINDOW,
    Depacketiser,
    DepacketiserEvent,
    DepacketiserStats,
    FrameReady,
    FramesLost,
)
from enseal.media.opus import DEFAULT_OPUS_BITRATE, OpusDecoder, OpusEncoder
from enseal.media.packetiser import DEFAULT_MTU, Packetiser
from enseal.media.video_pattern import read_frame_number
from enseal.media.video_sink import VideoFileSink
from enseal.media.video_source import GeneratedVideoSource, VideoFileSource
from enseal.media.vp8 import (
    DEFAULT_KEYFRAME_INTERVAL,
    DEFAULT_VP8_BITRATE,
    Vp8Decoder,
    Vp8DecoderState,
    Vp8Encoder,
)

__all__ = [
    "AUDIO_CLOCK_RATE",
    "AUDIO_FRAME_SAMPLES",
    "AUDIO_MATCH_THRESHOLD",
    "DEFAULT_KEYFRAME_INTERVAL",
    "DEFAULT_MAX_HOLD",
    "DEFAULT_MAX_LAG",
    "DEFAULT_MTU",
    "DEFAULT_OPUS_BITRATE",
    "DEFAULT_REORDER_WINDOW",
    "DEFAULT_VP8_BITRATE",
    "HEADER_SIZE",
    "MAX_DATAGRAM_SIZE",
    "VIDEO_CLOCK_RATE",
    "VIDEO_MATCH_PSNR",
    "AudioFileSink",
    "AudioFileSource",
    "CorruptFrameError",
    "Datagram",
    "Depacketiser",
    "DepacketiserEvent",
    "DepacketiserStats",
    "EncodedFrame",
    "FrameReady",
    "FramesLost",
    "GeneratedAudioSource",
    "GeneratedVideoSource",
    "InconsistentFragmentError",
    "MalformedDatagramError",
    "MediaFileError",
    "MediaKind",
    "OpusDecoder",
    "OpusEncoder",
    "OutOfOrderFrameError",
    "Packetiser",
    "PatternNotRecognisedError",
    "PcmFrame",
    "PcmRecorder",
    "VideoFileSink",
    "VideoFileSource",
    "VideoPicture",
    "Vp8Decoder",
    "Vp8DecoderState",
    "Vp8Encoder",
    "audio_similarity",
    "decode_datagram",
    "generated_signal",
    "luma_psnr",
    "read_frame_number",
    "sframe_metadata",
]
