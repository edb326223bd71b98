"""A call between two devices whose networks cannot reach each other, with real processes.

alice's and bob's ``enseal`` processes run in two network namespaces that each reach only the
server's host (``namespace_pair`` in tests/conftest.py): no direct path exists, so nothing is
forced with flags. The call must still connect, through the server's WSS relay, end-to-end
encrypted with the same code on both sides, the audio must arrive, and every relayed byte must be
SFrame ciphertext under the call group's keys.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from enseal.media import AUDIO_MATCH_THRESHOLD, audio_similarity, decode_datagram
from enseal.server.launcher import enseal_command, init_data_dir, launch_server
from enseal.server.relay import read_capture
from enseal.sframe import decode_header

from .conftest import PASSPHRASE
from .test_calls import CALL_ID, CODE, pcm, voiced_windows

pytestmark = pytest.mark.slow


def test_call_between_isolated_networks_runs_through_the_relay(
    tmp_path: Path, speech: dict[str, Path], namespace_pair: Callable[..., Any]
) -> None:
    with namespace_pair(subnet=202) as (space_a, space_b):
        initialised = init_data_dir(tmp_path / "server", hostnames=[space_a.host_address, space_b.host_address])
        capture = tmp_path / "relay.capture"
        server = launch_server(initialised.data_dir.root, relay_capture=capture, listen_host="0.0.0.0")
        try:
            with httpx.Client(base_url=server.url, verify=server.ssl_context(), timeout=30) as operator:
                key = operator.post("/v1/admin/bootstrap", json={"token": initialised.bootstrap_token.text()})
                operator.headers["Authorization"] = f"Bearer {key.json()['api_key']}"
                operator.post("/v1/tenants", json={"tenant": "isolated", "kind": "commercial"}).raise_for_status()
                operator.post("/v1/tenants/isolated/policies",
                              json={"name": "E2EE calls", "calls": "user_override", "meetings": "disabled"}
                              ).raise_for_status()
                operator.put("/v1/tenants/isolated/policy-assignments",
                             json={"target": {"kind": "tenant"}, "policy": "E2EE calls"}).raise_for_status()
                codes = {
                    name: operator.post("/v1/tenants/isolated/users", json={"name": name}).json()["enrollment"][
                        "enrollment_code"]
                    for name in ("alice", "bob")
                }

            def enseal(space: Any, profile: Path, *args: str) -> list[str]:
                return space.command(*enseal_command(), *args)

            env = {**os.environ, "ENSEAL_PASSPHRASE": PASSPHRASE, "COLUMNS": "200"}
            profiles = {"alice": tmp_path / "alice", "bob": tmp_path / "bob"}
            spaces = {"alice": space_a, "bob": space_b}
            for name in ("alice", "bob"):
                space, profile = spaces[name], profiles[name]
                url = f"https://{space.host_address}:{server.port}"
                for args in (
                    ("register", f"{name}@isolated", "--server", url, "--ca", str(server.data_dir.ca_certificate),
                     "--code", codes[name]),
                    ("settings", "e2ee-calls", "on"),
                ):
                    done = subprocess.run(enseal(space, profile, *args), env={**env, "ENSEAL_PROFILE": str(profile)},
                                          capture_output=True, text=True, timeout=90, stdin=subprocess.DEVNULL,
                                          check=False)
                    assert done.returncode == 0, done.stdout + done.stderr

            listener = subprocess.Popen(
                enseal(space_b, profiles["bob"], "listen", "--auto-answer", "--once", "--send", str(speech["callee"]),
                       "--record", str(tmp_path / "bob-got")),
                env={**env, "ENSEAL_PROFILE": str(profiles["bob"])}, stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True,
            )
            try:
                assert listener.stdout is not None
                deadline = time.monotonic() + 60
                line = listener.stdout.readline()
                while "Listening as" not in line:
                    assert line or listener.poll() is None, "listen exited early"
                    assert time.monotonic() < deadline
                    line = listener.stdout.readline()
                call = subprocess.run(
                    enseal(space_a, profiles["alice"], "call", "bob@isolated", "--send", str(speech["caller"]),
                           "--record", str(tmp_path / "alice-got"), "--seconds", "4"),
                    env={**env, "ENSEAL_PROFILE": str(profiles["alice"])}, capture_output=True, text=True,
                    timeout=120, stdin=subprocess.DEVNULL, check=False,
                )
                said = call.stdout + call.stderr
                assert call.returncode == 0, said
                heard = line + listener.communicate(timeout=60)[0]
                assert listener.returncode == 0, heard
            finally:
                if listener.poll() is None:
                    listener.kill()
        finally:
            server.stop()

    assert "end-to-end encrypted" in said and "end-to-end encrypted" in heard
    assert "through the server's relay" in said and "through the server's relay" in heard
    found = CODE.findall(said), CODE.findall(heard)
    assert len(found[0]) == 1 and found[0] == found[1], (said, heard)
    assert audio_similarity(pcm(speech["caller"]), pcm(tmp_path / "bob-got.wav")) >= AUDIO_MATCH_THRESHOLD
    assert audio_similarity(pcm(speech["callee"]), pcm(tmp_path / "alice-got.wav")) >= AUDIO_MATCH_THRESHOLD

    call_id = CALL_ID.search(said).group(1)  # type: ignore[union-attr]
    records = [r for r in read_capture(capture.read_bytes()) if r[0] == call_id]
    assert len(records) > 100
    kids = set()
    for _, _, datagram in records:
        if datagram[0] == 0x01:
            parsed = decode_datagram(datagram)
            if parsed.fragment_index == 0:
                kids.add(decode_header(parsed.fragment).kid)
    assert kids == {0x01, 0x11}  # SFrame under the call group's two leaves (record 0300)
    relayed = b"".join(r[2] for r in records)
    assert not any(window in relayed for window in voiced_windows(pcm(speech["caller"])))
