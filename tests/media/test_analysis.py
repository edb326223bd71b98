from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from enseal.errors import LocalProtocolError
from enseal.media import (
    DEFAULT_MAX_LAG,
    GeneratedVideoSource,
    audio_similarity,
    generated_signal,
    luma_psnr,
)


def test_identical_audio_scores_one() -> None:
    signal = generated_signal(0.5)
    assert audio_similarity(signal, signal) == pytest.approx(1.0)


def test_delay_and_gain_within_the_window_do_not_matter() -> None:
    signal = generated_signal(1.0)
    delayed = np.concatenate([np.zeros(312, dtype=np.int16), (signal // 2)])
    assert audio_similarity(signal, delayed) == pytest.approx(1.0, abs=1e-3)
    early = signal[500:]
    assert audio_similarity(signal, early) == pytest.approx(1.0, abs=1e-3)


def test_delay_beyond_the_window_is_not_found() -> None:
    signal = generated_signal(1.0)
    delayed = np.concatenate([np.zeros(DEFAULT_MAX_LAG + 2_000, dtype=np.int16), signal])
    assert audio_similarity(signal, delayed) < 0.5
    assert audio_similarity(signal, delayed, max_lag=DEFAULT_MAX_LAG + 2_000) == pytest.approx(1.0, abs=1e-3)


def test_different_audio_scores_low() -> None:
    assert audio_similarity(generated_signal(1.0, seed=1), generated_signal(1.0, seed=2)) < 0.2
    noise = np.random.default_rng(0).integers(-8000, 8000, 48_000).astype(np.int16)
    assert audio_similarity(generated_signal(1.0), noise) < 0.1


def test_inverted_audio_does_not_count_as_the_same() -> None:
    signal = generated_signal(1.0)
    assert audio_similarity(signal, -signal) < 0.5


def test_silence_scores_zero() -> None:
    assert audio_similarity(generated_signal(0.5), np.zeros(24_000, dtype=np.int16)) == 0.0


def test_bad_arguments_are_local_errors() -> None:
    with pytest.raises(LocalProtocolError):
        audio_similarity(np.zeros(0, dtype=np.int16), generated_signal(0.1))
    with pytest.raises(LocalProtocolError):
        audio_similarity(generated_signal(0.1), generated_signal(0.1).reshape(2, -1))
    with pytest.raises(LocalProtocolError):
        audio_similarity(generated_signal(0.1), generated_signal(0.1), max_lag=-1)


@settings(max_examples=50, deadline=None)
@given(
    arrays(np.int16, st.integers(1, 3000)),
    arrays(np.int16, st.integers(1, 3000)),
    st.integers(0, 2000),
)
def test_similarity_is_always_in_minus_one_to_one(a: np.ndarray, b: np.ndarray, lag: int) -> None:
    score = audio_similarity(a, b, max_lag=lag)
    assert -1.0 <= score <= 1.0


def test_luma_psnr() -> None:
    source = GeneratedVideoSource(1.0)
    assert luma_psnr(source.render(3), source.render(3)) == math.inf
    assert luma_psnr(source.render(3), source.render(4)) < 30
    small = GeneratedVideoSource(1.0, width=160, height=120).render(3)
    with pytest.raises(LocalProtocolError):
        luma_psnr(source.render(3), small)
