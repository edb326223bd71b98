from __future__ import annotations

import numpy as np
import pytest

from enseal.errors import LocalProtocolError
from enseal.media import AUDIO_FRAME_SAMPLES, EncodedFrame, MediaKind, PcmFrame, VideoPicture


def test_pcm_frame_is_960_int16_samples_and_read_only() -> None:
    frame = PcmFrame(timestamp=0, samples=np.zeros(AUDIO_FRAME_SAMPLES, dtype=np.int16))
    assert frame.duration == AUDIO_FRAME_SAMPLES
    with pytest.raises(ValueError, match="read-only"):
        frame.samples[0] = 1


@pytest.mark.parametrize(
    "samples",
    [np.zeros(959, dtype=np.int16), np.zeros(960, dtype=np.float32), np.zeros((1, 960), dtype=np.int16)],
)
def test_pcm_frame_rejects_other_shapes(samples: np.ndarray) -> None:
    with pytest.raises(LocalProtocolError):
        PcmFrame(timestamp=0, samples=samples)


def test_video_picture_checks_its_i420_shape() -> None:
    picture = VideoPicture(timestamp=0, width=4, height=2, yuv=np.zeros((3, 4), dtype=np.uint8))
    assert picture.luma.shape == (2, 4)
    with pytest.raises(LocalProtocolError):
        VideoPicture(timestamp=0, width=4, height=2, yuv=np.zeros((2, 4), dtype=np.uint8))
    with pytest.raises(LocalProtocolError):
        VideoPicture(timestamp=0, width=3, height=2, yuv=np.zeros((3, 3), dtype=np.uint8))
    with pytest.raises(LocalProtocolError):
        VideoPicture(timestamp=0, width=8192, height=2, yuv=np.zeros((3, 8192), dtype=np.uint8))


def test_encoded_frame_bounds_and_with_payload() -> None:
    frame = EncodedFrame(
        kind=MediaKind.VIDEO, stream_id=7, frame_number=3, timestamp=6000, duration=6000, keyframe=True, payload=b"x"
    )
    swapped = frame.with_payload(b"plain")
    assert swapped.payload == b"plain"
    assert (swapped.kind, swapped.stream_id, swapped.frame_number, swapped.timestamp) == (MediaKind.VIDEO, 7, 3, 6000)
    assert "plain" not in repr(swapped)
    with pytest.raises(LocalProtocolError):
        EncodedFrame(
            kind=MediaKind.AUDIO,
            stream_id=2**32,
            frame_number=0,
            timestamp=0,
            duration=960,
            keyframe=True,
            payload=b"x",
        )
    with pytest.raises(LocalProtocolError):
        EncodedFrame(
            kind=MediaKind.AUDIO, stream_id=0, frame_number=-1, timestamp=0, duration=960, keyframe=True, payload=b"x"
        )
