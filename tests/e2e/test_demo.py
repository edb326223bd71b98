"""``enseal demo`` runs the whole story and exits 0 (the README's main command)."""

from __future__ import annotations

import os
import subprocess

import pytest

from enseal.server.launcher import enseal_command

pytestmark = pytest.mark.slow


def test_the_demo_passes() -> None:
    done = subprocess.run(
        [*enseal_command(), "demo"],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        env={**os.environ, "COLUMNS": "200"},
        stdin=subprocess.DEVNULL,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "Every step passed." in output
    assert "Traceback" not in output
    for step in ("same security code", "peer to peer", "recording allowed", "chat text not found"):
        assert step in output, step
