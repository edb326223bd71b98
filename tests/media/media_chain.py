"""Small pieces the media tests share: run a whole sequence through an encoder or decoder."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

from enseal.media import EncodedFrame, OpusDecoder, OpusEncoder, PcmFrame, PcmRecorder


def pcm_of(frames: Iterable[PcmFrame]) -> npt.NDArray[np.int16]:
    """The samples of consecutive PCM frames as one array."""
    return np.concatenate([f.samples for f in frames])


def opus_encode(frames: Iterable[PcmFrame], **encoder_args: int) -> list[EncodedFrame]:
    encoder = OpusEncoder(**encoder_args)
    encoded = [e for f in frames for e in encoder.encode(f)]
    return encoded + encoder.flush()


def opus_decode(frames: Iterable[EncodedFrame]) -> npt.NDArray[np.int16]:
    """Decode in order and lay the PCM on its timeline (gaps filled with silence)."""
    decoder = OpusDecoder()
    recorder = PcmRecorder()
    for frame in frames:
        for pcm in decoder.decode(frame):
            recorder.write(pcm)
    return recorder.samples()
