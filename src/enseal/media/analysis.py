"""Checks that the media that arrived is the media that was sent.

* :func:`audio_similarity` -- normalised cross-correlation of sent and received PCM, maximised
  over a bounded lag window so codec delay (Opus pre-skip, 312 samples) and a lost first frame
  do not matter. 1.0 means identical up to gain and delay; unrelated audio scores near 0. Use
  :data:`AUDIO_MATCH_THRESHOLD` (measured: docs/decisions/0105-audio-similarity-threshold.md).
* :func:`luma_psnr` -- PSNR of a received picture against its reference, on the Y plane. For
  pictures of the generated test pattern,
  :func:`~enseal.media.video_pattern.read_frame_number` names the reference to compare with.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from enseal.errors import LocalProtocolError
from enseal.media.frames import AUDIO_CLOCK_RATE, VideoPicture

AUDIO_MATCH_THRESHOLD = 0.5
"""Similarity at or above which received audio is taken to be the audio sent. Measured with
espeak-ng speech through Opus at 16 and 32 kbit/s: the same clip scores >= 0.91 without loss
and >= 0.67 with 10 % frame loss; other speech scores <= 0.16, the same sentence in another
voice <= 0.26 (docs/decisions/0105-audio-similarity-threshold.md)."""

DEFAULT_MAX_LAG = AUDIO_CLOCK_RATE // 10
"""Default lag window of :func:`audio_similarity`: +/- 100 ms (4800 samples)."""

MAX_LAG = 10 * AUDIO_CLOCK_RATE
"""Largest lag window a caller may ask for (10 s)."""

MIN_OVERLAP_FRACTION = 0.5
"""Lags at which the signals overlap by less than this fraction of the shorter one are not
considered, so a few overlapping samples cannot produce a spurious match."""

VIDEO_MATCH_PSNR = 30.0
"""Luma PSNR in dB at or above which a received picture is taken to be its reference (the
test pattern through VP8 at 300 kbit/s scores above 40 dB; the neighbouring picture below 20)."""

_PEAK = 255.0


def audio_similarity(
    sent: npt.NDArray[np.int16], received: npt.NDArray[np.int16], *, max_lag: int = DEFAULT_MAX_LAG
) -> float:
    """Highest normalised cross-correlation of ``received`` against ``sent`` over lags in
    ``[-max_lag, max_lag]`` samples, in [-1, 1].

    At lag ``L`` the score is ``sum(x[n] * y[n+L]) / sqrt(sum(x[n]^2) * sum(y[n+L]^2))`` over
    the samples where both signals exist. A signal with no energy where they overlap scores 0.
    """
    for name, signal in (("sent", sent), ("received", received)):
        if signal.ndim != 1 or len(signal) == 0:
            raise LocalProtocolError(f"{name} must be a non-empty 1-D array, got shape {signal.shape}")
    if not 0 <= max_lag <= MAX_LAG:
        raise LocalProtocolError(f"max_lag must be in [0, {MAX_LAG}] samples, got {max_lag}")
    x = sent.astype(np.float64)
    y = received.astype(np.float64)
    size = 1 << (len(x) + len(y)).bit_length()
    # cross[L mod size] = sum_n x[n] * y[n + L]
    cross = np.fft.irfft(np.conj(np.fft.rfft(x, size)) * np.fft.rfft(y, size), size)
    lags = np.arange(-max_lag, max_lag + 1)
    starts = np.maximum(0, -lags)
    ends = np.minimum(len(x), len(y) - lags)
    usable = (ends - starts) >= MIN_OVERLAP_FRACTION * min(len(x), len(y))
    if not usable.any():
        return 0.0
    lags, starts, ends = lags[usable], starts[usable], ends[usable]
    x_energy = np.concatenate([[0.0], np.cumsum(x * x)])
    y_energy = np.concatenate([[0.0], np.cumsum(y * y)])
    energy = (x_energy[ends] - x_energy[starts]) * (y_energy[ends + lags] - y_energy[starts + lags])
    products = cross[lags % size]
    with np.errstate(divide="ignore", invalid="ignore"):
        scores = np.where(energy > 0, products / np.sqrt(np.where(energy > 0, energy, 1.0)), 0.0)
    return float(np.clip(scores.max(), -1.0, 1.0))


def luma_psnr(reference: VideoPicture, picture: VideoPicture) -> float:
    """Peak signal-to-noise ratio of ``picture``'s Y plane against ``reference``'s, in dB
    (``math.inf`` when identical)."""
    if (reference.width, reference.height) != (picture.width, picture.height):
        raise LocalProtocolError(
            f"cannot compare a {picture.width}x{picture.height} picture with a "
            f"{reference.width}x{reference.height} reference"
        )
    error = reference.luma.astype(np.float64) - picture.luma.astype(np.float64)
    mse = float(np.mean(error * error))
    return math.inf if mse == 0 else 10.0 * math.log10(_PEAK * _PEAK / mse)
