"""1:1 calls end to end: a real server process over TLS, the callee running ``enseal listen`` and
the caller ``enseal call`` in their own processes, real speech and video.

Checked: both sides show the same 20-digit code; the decoded audio matches what was sent
(``audio_similarity`` >= ``AUDIO_MATCH_THRESHOLD``, decision record 0105); a peer-to-peer call
relays zero media bytes; with the direct path blocked the call runs through the relay and the
relay carries only SFrame ciphertext; the canary (chat text and speech) never appears in the
server's database, logs or relayed bytes; and each policy case gives a standard call whose reason
both users see.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np
import pytest

from enseal.media import AUDIO_MATCH_THRESHOLD, AudioFileSource, audio_similarity, decode_datagram
from enseal.server.relay import read_capture
from enseal.sframe import decode_header

from .conftest import Deployment

pytestmark = pytest.mark.slow

CODE = re.compile(r"Security code: (\d{4} \d{4} \d{4} \d{4} \d{4})")
CALL_ID = re.compile(r"\(call ([A-Za-z0-9_-]{22,64})\)")
CHAT_CANARY = "canary-call-chat 0b7e the gate opens at six"


def pcm(path: Path) -> np.ndarray:
    with AudioFileSource(path) as source:
        return np.concatenate([frame.samples for frame in source])


def voiced_windows(samples: np.ndarray) -> list[bytes]:
    """32-sample runs of actual speech (silence would match anything)."""
    return [
        samples[i : i + 32].tobytes()
        for i in range(0, len(samples) - 32, 1024)
        if int(np.abs(samples[i : i + 32].astype(np.int32)).max()) > 1000
    ]


def run_call(
    deployment: Deployment,
    caller: Path,
    callee: Path,
    callee_address: str,
    folder: Path,
    speech: dict[str, Path] | None = None,
    *,
    extra: tuple[str, ...] = (),
    seconds: str = "4",
) -> tuple[str, str]:
    """``listen --once`` on the callee, ``call`` from the caller; both outputs."""
    media = ("--send", str(speech["callee"])) if speech else ()
    listener = deployment.spawn(
        callee, "listen", "--auto-answer", "--once", *media, "--record", str(folder / "callee-got"), *extra
    )
    try:
        deadline = time.monotonic() + 60
        assert listener.stdout is not None
        line = listener.stdout.readline()
        while "Listening as" not in line:
            assert line or listener.poll() is None, "listen exited early"
            assert time.monotonic() < deadline
            line = listener.stdout.readline()
        media = ("--send", str(speech["caller"])) if speech else ()
        caller_output = deployment.enseal(
            caller, "call", callee_address, *media, "--record", str(folder / "caller-got"), "--seconds", seconds, *extra
        )
        callee_output = line + listener.communicate(timeout=60)[0]
        assert listener.returncode == 0, callee_output
    finally:
        if listener.poll() is None:
            listener.kill()
    return caller_output, callee_output


def users(
    deployment: Deployment, tenant: str, *, policy: str = "user_override", **tenant_extra: object
) -> tuple[Path, Path]:
    deployment.tenant(tenant, **tenant_extra)
    deployment.policy(tenant, "E2EE calls", calls=policy, target={"kind": "tenant"})
    return deployment.user(f"alice@{tenant}"), deployment.user(f"bob@{tenant}")


def test_e2ee_call_peer_to_peer(deployment: Deployment, speech: dict[str, Path], tmp_path: Path) -> None:
    alice, bob = users(deployment, "p2p")
    for profile in (alice, bob):
        deployment.enseal(profile, "settings", "e2ee-calls", "on")
    deployment.enseal(alice, "chat", "send", "bob@p2p", CHAT_CANARY)
    said, heard = run_call(deployment, alice, bob, "bob@p2p", tmp_path, speech)

    assert "end-to-end encrypted" in said and "end-to-end encrypted" in heard
    codes = CODE.findall(said), CODE.findall(heard)
    assert len(codes[0]) == 1 and codes[0] == codes[1], (said, heard)
    assert "peer to peer" in said and "peer to peer" in heard
    assert "Relay bytes sent: 0," in said and "Relay bytes sent: 0," in heard
    call_id = CALL_ID.search(said).group(1)  # type: ignore[union-attr]
    stats = deployment.admin("GET", f"/v1/admin/calls/{call_id}/relay-stats")
    assert stats["caller"]["bytes_in"] == stats["callee"]["bytes_in"] == 0
    assert stats["caller"]["connections"] == stats["callee"]["connections"] == 0

    similarity = audio_similarity(pcm(speech["caller"]), pcm(tmp_path / "callee-got.wav"))
    assert similarity >= AUDIO_MATCH_THRESHOLD, similarity
    back = audio_similarity(pcm(speech["callee"]), pcm(tmp_path / "caller-got.wav"))
    assert back >= AUDIO_MATCH_THRESHOLD, back
    assert audio_similarity(pcm(speech["callee"]), pcm(tmp_path / "callee-got.wav")) < AUDIO_MATCH_THRESHOLD
    assert (tmp_path / "callee-got.mkv").stat().st_size > 10_000

    seen = deployment.server_bytes() + deployment.relayed_bytes()
    assert CHAT_CANARY.encode() not in seen
    assert not any(window in seen for window in voiced_windows(pcm(speech["caller"])))


def test_relay_when_the_direct_path_is_blocked(deployment: Deployment, speech: dict[str, Path], tmp_path: Path) -> None:
    alice, bob = users(deployment, "relay")
    for profile in (alice, bob):
        deployment.enseal(profile, "settings", "e2ee-calls", "on")
    said, heard = run_call(deployment, alice, bob, "bob@relay", tmp_path, speech, extra=("--relay-only",))

    assert "through the server's relay" in said and "through the server's relay" in heard
    codes = CODE.findall(said), CODE.findall(heard)
    assert len(codes[0]) == 1 and codes[0] == codes[1]
    similarity = audio_similarity(pcm(speech["caller"]), pcm(tmp_path / "callee-got.wav"))
    assert similarity >= AUDIO_MATCH_THRESHOLD, similarity

    call_id = CALL_ID.search(said).group(1)  # type: ignore[union-attr]
    records = [r for r in read_capture(deployment.relayed_bytes()) if r[0] == call_id]
    assert len(records) > 100
    kids = set()
    for _, _, datagram in records:
        if datagram[0] == 0x01:
            parsed = decode_datagram(datagram)
            if parsed.fragment_index == 0:
                kids.add(decode_header(parsed.fragment).kid)
    assert kids == {0x01, 0x11}  # SFrame under the call group's two leaves, epoch 1 (record 0300)
    seen = deployment.server_bytes() + b"".join(r[2] for r in records)
    assert not any(window in seen for window in voiced_windows(pcm(speech["caller"])))


@pytest.mark.parametrize(
    ("case", "expected_reason"),
    [
        ("tenant_off", "tenant"),
        ("policy_disabled", "polic"),
        ("not_opted_in", "turned on"),
        ("compliance_recording", "compliance"),
    ],
)
def test_policy_gives_a_standard_call_with_the_reason_on_both_sides(
    deployment: Deployment, tmp_path: Path, case: str, expected_reason: str
) -> None:
    tenant = case.replace("_", "-")
    alice, bob = users(
        deployment,
        tenant,
        policy="disabled" if case == "policy_disabled" else "user_override",
        **({"e2ee": "forbidden"} if case == "tenant_off" else {}),
    )
    deployment.enseal(alice, "settings", "e2ee-calls", "on", check=case not in ("tenant_off", "policy_disabled"))
    if case != "not_opted_in":
        deployment.enseal(bob, "settings", "e2ee-calls", "on", check=case not in ("tenant_off", "policy_disabled"))
    if case == "compliance_recording":
        deployment.admin("PATCH", f"/v1/tenants/{tenant}/users/bob", {"compliance_recording": True})
    said, heard = run_call(deployment, alice, bob, f"bob@{tenant}", tmp_path, seconds="1")
    for output in (said, heard):
        label = next(line for line in output.splitlines() if line.startswith(("Ringing ", "Incoming call from ")))
        assert label.endswith("standard encryption (the service can access the media)"), output
        reasons = [line for line in output.splitlines() if line.strip().startswith("- ")]
        assert any(expected_reason in line.lower() for line in reasons), output
        assert CODE.search(output) is None
