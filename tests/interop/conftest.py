"""Fixtures for interop with another MLS implementation: ts-mls, run by Node.js.

`ts-mls <https://github.com/LukaJCB/ts-mls>`_ is an independent TypeScript implementation of
RFC 9420, installable from the npm registry (decision 0702). ``tsmls/peer.mjs`` drives it as a
peer over JSON lines. The pinned packages are installed with ``npm ci`` into
``tests/interop/tsmls/node_modules`` on first use.

Without Node.js and npm the interop tests are skipped, except in CI (``CI`` set), where they fail:
CI must prove that another implementation talks to ours.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tests.interop.tsmls_peer import TsMlsPeer

PEER_DIR = Path(__file__).parent / "tsmls"

MakePeer = Callable[..., TsMlsPeer]


def _install(peer_dir: Path) -> None:
    """``npm ci`` unless the installed tree already matches the lockfile."""
    installed = peer_dir / "node_modules" / ".package-lock.json"
    lock = peer_dir / "package-lock.json"
    if installed.exists() and installed.stat().st_mtime >= lock.stat().st_mtime:
        return
    result = subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=peer_dir, capture_output=True, text=True, timeout=600, check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"npm ci failed in {peer_dir}:\n{result.stderr[-2000:]}")


@pytest.fixture(scope="session")
def tsmls_installed() -> Path:
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"{' and '.join(missing)} required in CI for the ts-mls interop tests")
        pytest.skip(f"{' and '.join(missing)} not installed: cannot run ts-mls, the second MLS implementation")
    try:
        _install(PEER_DIR)
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        if os.environ.get("CI"):
            pytest.fail(str(exc))
        pytest.skip(f"could not install ts-mls from the npm registry: {exc}")
    return PEER_DIR


@pytest.fixture
def tsmls(tsmls_installed: Path) -> Iterator[MakePeer]:
    """``tsmls(suite)`` starts a ts-mls peer for an MLS cipher suite; all are stopped afterwards."""
    peers: list[TsMlsPeer] = []

    def make(suite: int, *, conformant: bool = True) -> TsMlsPeer:
        peer = TsMlsPeer.start(tsmls_installed / "peer.mjs", suite, conformant=conformant)
        peers.append(peer)
        return peer

    yield make
    for peer in peers:
        peer.close()
