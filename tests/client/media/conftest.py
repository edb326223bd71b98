"""Fixtures for the media-path tests: short spoken clips from espeak-ng.

Without espeak-ng the speech tests are skipped, except in CI (``CI`` set), where they fail:
CI must prove the call path on real speech.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

CANARY_SPEECH = {
    "caller": "Canary seven four two, this is the caller.",
    "callee": "Blue harbour nine, callee speaking.",
}
"""What each side says. The relay tests check that none of this audio crosses the relay in clear."""


@pytest.fixture(scope="session")
def call_speech(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One short .wav clip per side of the call, spoken by espeak-ng."""
    if shutil.which("espeak-ng") is None:
        if os.environ.get("CI"):
            pytest.fail("espeak-ng is required in CI to synthesise the speech of the call tests")
        pytest.skip("espeak-ng is not installed: cannot synthesise the speech of the call tests")
    folder = tmp_path_factory.mktemp("call-speech")
    clips = {}
    for side, text in CANARY_SPEECH.items():
        path = folder / f"{side}.wav"
        subprocess.run(["espeak-ng", "-s", "190", "-w", str(path), text], check=True, capture_output=True)
        clips[side] = path
    return clips
