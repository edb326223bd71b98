"""Fixtures for the media tests: speech synthesised with espeak-ng.

Without espeak-ng the speech tests are skipped, except in CI (``CI`` set), where they fail:
CI must prove the chain on real speech.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

SPEECH = {
    "fox": "The quick brown fox jumps over the lazy dog.",
    "meeting": "Meeting starts at nine thirty tomorrow morning in the main room.",
}

Synthesise = Callable[[str, str, str], Path]


@pytest.fixture(scope="session")
def espeak(tmp_path_factory: pytest.TempPathFactory) -> Synthesise:
    """``espeak(name, text, voice)`` writes ``text`` spoken by ``voice`` to ``name.wav``."""
    if shutil.which("espeak-ng") is None:
        if os.environ.get("CI"):
            pytest.fail("espeak-ng is required in CI to synthesise the speech test clips")
        pytest.skip("espeak-ng is not installed: cannot synthesise the speech test clips")
    folder = tmp_path_factory.mktemp("speech")

    def synthesise(name: str, text: str, voice: str = "en") -> Path:
        path = folder / f"{name}.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-w", str(path), text], check=True, capture_output=True)
        return path

    return synthesise


@pytest.fixture(scope="session")
def speech(espeak: Synthesise) -> dict[str, Path]:
    """Two different spoken sentences as .wav files (22.05 kHz mono, as espeak-ng writes)."""
    return {name: espeak(name, text, "en") for name, text in SPEECH.items()}
