"""Re-measures what docs/decisions/0105-audio-similarity-threshold.md records: speech through
Opus scores well above AUDIO_MATCH_THRESHOLD against itself (even with 10 % loss) and well
below it against other speech, including the same sentence in another voice."""

from __future__ import annotations

import random

import pytest

from enseal.media import AUDIO_MATCH_THRESHOLD, AudioFileSource, audio_similarity

from .conftest import Synthesise
from .media_chain import opus_decode, opus_encode, pcm_of

SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "Please call Stella and ask her to bring these things with her from the store.",
    "End to end encryption keeps the content of the call between the participants.",
    "Six spoons of fresh snow peas, five thick slabs of blue cheese.",
]
VOICES = ["en", "en+f3"]
MARGIN = 0.15


@pytest.mark.slow
def test_threshold_separates_same_from_different_speech(espeak: Synthesise) -> None:
    clips = {}
    for i, text in enumerate(SENTENCES):
        for voice in VOICES:
            with AudioFileSource(espeak(f"corpus{i}{voice}", text, voice)) as source:
                clips[(i, voice)] = list(source)
    sent = {key: pcm_of(frames) for key, frames in clips.items()}
    same, different = [], []
    for n, (key, frames) in enumerate(clips.items()):
        encoded = opus_encode(frames)
        for loss in (0.0, 0.10):
            rng = random.Random(n)
            received = opus_decode(e for e in encoded if rng.random() >= loss)
            same.append(audio_similarity(sent[key], received))
            if loss == 0.0:
                different += [audio_similarity(sent[other], received) for other in clips if other != key]
    assert min(same) >= AUDIO_MATCH_THRESHOLD + MARGIN, sorted(same)[:3]
    assert max(different) <= AUDIO_MATCH_THRESHOLD - MARGIN, sorted(different)[-3:]
