"""Fixtures of the client tests: spoken clips from espeak-ng (skipped without it, except in CI,
where they fail: CI must prove calls on real speech)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

SPEECH = {
    "alice": "Canary seven four two. Alice speaking, the blue harbour is open.",
    "bob": "Bob here. Nine green lanterns over the quiet river.",
}
"""What each user says in the call tests (the canary must never reach the server in clear)."""


def synthesise(text: str, path: Path) -> Path:
    if shutil.which("espeak-ng") is None:
        if os.environ.get("CI"):
            pytest.fail("espeak-ng is required in CI to synthesise the speech of the call tests")
        pytest.skip("espeak-ng is not installed: cannot synthesise speech for the call tests")
    subprocess.run(["espeak-ng", "-s", "175", "-w", str(path), text], check=True, capture_output=True)
    return path


@pytest.fixture(scope="session")
def speech(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("speech")
    return {user: synthesise(text, folder / f"{user}.wav") for user, text in SPEECH.items()}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
