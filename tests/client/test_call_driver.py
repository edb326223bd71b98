"""Calls between two devices in process: the client's call driver with real MLS call groups,
real SFrame, real Opus/VP8 and real UDP (or the in-memory relay), signalling through the
in-process switchboard of :mod:`call_switchboard` (the server's part).

Each media test runs a ~3 s call in real time.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

from enseal.client.call_driver import (
    CallMedia,
    CallOutcome,
    CallProgress,
    SecurityCodeReady,
    answer_call,
    check_feature,
    place_call,
)
from enseal.client.errors import CallRefused, UntrustedDevice
from enseal.client.media import PathKind
from enseal.media import AUDIO_MATCH_THRESHOLD, AudioFileSource, audio_similarity, decode_datagram
from enseal.sframe import decode_header
from enseal.signalling import CallEncryption, EndReason

from .call_switchboard import Device, Switchboard

CALL_SECONDS = 3.0

pytestmark = pytest.mark.anyio


def pcm(path: Path) -> np.ndarray:
    with AudioFileSource(path) as source:
        return np.concatenate([frame.samples for frame in source])


async def run_call(
    board: Switchboard,
    alice: Device,
    bob: Device,
    folder: Path,
    speech: dict[str, Path] | None,
    *,
    direct: bool = True,
    accept: bool = True,
) -> tuple[CallOutcome, CallOutcome, list[CallProgress], list[CallProgress]]:
    seen: dict[str, list[CallProgress]] = {"alice": [], "bob": []}

    def media(user: str) -> CallMedia:
        return CallMedia(
            audio_file=None if speech is None else speech[user],
            record_audio=folder / f"{user}-received.wav",
            record_video=folder / f"{user}-received.mkv",
            direct=direct,
        )

    async def bob_side() -> CallOutcome:
        invite = await bob.signalling.next_invite()
        return await answer_call(
            board.environment(bob), invite, media("bob"), progress=seen["bob"].append, accept=accept
        )

    answering = asyncio.create_task(bob_side())
    caller = await place_call(
        board.environment(alice), bob.user, media("alice"), seconds=CALL_SECONDS, progress=seen["alice"].append
    )
    callee = await asyncio.wait_for(answering, 10)
    return caller, callee, seen["alice"], seen["bob"]


@pytest.fixture
def board(tmp_path: Path) -> Switchboard:
    return Switchboard()


@pytest.mark.slow
async def test_e2ee_call_peer_to_peer_same_code_and_speech_arrives(
    board: Switchboard, tmp_path: Path, speech: dict[str, Path]
) -> None:
    alice = board.device("alice@acme", tmp_path)
    bob = board.device("bob@acme", tmp_path)
    caller, callee, alice_saw, bob_saw = await run_call(board, alice, bob, tmp_path, speech)

    assert caller.encryption is callee.encryption is CallEncryption.END_TO_END
    assert caller.security_code is not None and callee.security_code is not None
    assert str(caller.security_code) == str(callee.security_code)
    assert len(caller.security_code.digits) == 20
    codes = [p.code for p in [*alice_saw, *bob_saw] if isinstance(p, SecurityCodeReady)]
    assert len(codes) == 2 and str(codes[0]) == str(codes[1])

    assert caller.path is callee.path is PathKind.DIRECT
    assert board.relays.get(caller.call_id) is None or board.relays[caller.call_id].channels_opened == 0
    assert caller.stats is not None and caller.stats.transport.relay.bytes_sent == 0
    assert caller.end_reason is EndReason.HUNG_UP and callee.end_reason is EndReason.HUNG_UP

    heard_by_bob = audio_similarity(pcm(speech["alice"]), pcm(tmp_path / "bob-received.wav"))
    heard_by_alice = audio_similarity(pcm(speech["bob"]), pcm(tmp_path / "alice-received.wav"))
    assert heard_by_bob >= AUDIO_MATCH_THRESHOLD, heard_by_bob
    assert heard_by_alice >= AUDIO_MATCH_THRESHOLD, heard_by_alice
    # the other person's speech is not what arrived: the check can fail
    assert audio_similarity(pcm(speech["bob"]), pcm(tmp_path / "bob-received.wav")) < AUDIO_MATCH_THRESHOLD
    assert callee.stats is not None and callee.stats.video.frames_received > 0
    assert callee.stats.audio.frames_undecryptable == callee.stats.video.frames_undecryptable == 0


@pytest.mark.slow
async def test_e2ee_call_through_the_relay_carries_only_sframe_ciphertext(
    board: Switchboard, tmp_path: Path, speech: dict[str, Path]
) -> None:
    alice = board.device("alice@acme", tmp_path)
    bob = board.device("bob@acme", tmp_path)
    caller, callee, _, _ = await run_call(board, alice, bob, tmp_path, speech, direct=False)

    assert caller.path is callee.path is PathKind.RELAY
    relay = board.relays[caller.call_id]
    assert relay.channels_opened == 2 and relay.bytes_forwarded > 10_000
    kids = set()
    for datagram in relay.forwarded:
        if datagram[0] == 0x01:  # a media datagram (0xF1: an SFrame-protected keyframe request)
            parsed = decode_datagram(datagram)
            if parsed.fragment_index == 0:
                kids.add(decode_header(parsed.fragment).kid)
    # KID = leaf << 4 | epoch (record 0300): leaves 0 and 1 of the call group at epoch 1
    assert kids == {0x01, 0x11}
    received = pcm(tmp_path / "bob-received.wav")
    assert audio_similarity(pcm(speech["alice"]), received) >= AUDIO_MATCH_THRESHOLD
    # no run of the spoken samples crosses the relay in clear
    spoken = pcm(speech["alice"]).tobytes()
    relayed = b"".join(relay.forwarded)
    window = 64
    assert not any(spoken[i : i + window] in relayed for i in range(0, len(spoken) - window, 4096))


@pytest.mark.slow
async def test_call_is_standard_when_the_callee_cannot_do_e2ee_and_says_why(
    board: Switchboard, tmp_path: Path, speech: dict[str, Path]
) -> None:
    alice = board.device("alice@acme", tmp_path)
    bob = board.device("bob@acme", tmp_path, e2ee=False)
    caller, callee, _, _ = await run_call(board, alice, bob, tmp_path, speech)

    assert caller.encryption is callee.encryption is CallEncryption.STANDARD
    assert caller.security_code is None and callee.security_code is None
    assert [r.code for r in caller.reasons] == [r.code for r in callee.reasons] == ["not_opted_in"]
    assert audio_similarity(pcm(speech["alice"]), pcm(tmp_path / "bob-received.wav")) >= AUDIO_MATCH_THRESHOLD
    check_feature("recording", caller.encryption)  # allowed without E2EE


async def test_declined_call_ends_on_both_sides(board: Switchboard, tmp_path: Path) -> None:
    alice = board.device("alice@acme", tmp_path)
    bob = board.device("bob@acme", tmp_path)
    caller, callee, _, _ = await run_call(board, alice, bob, tmp_path, None, accept=False)
    assert caller.end_reason is callee.end_reason is EndReason.DECLINED
    assert caller.stats is None and caller.security_code is None


async def test_busy_callee_replies_busy(board: Switchboard, tmp_path: Path) -> None:
    alice = board.device("alice@acme", tmp_path)
    bob = board.device("bob@acme", tmp_path)
    environment = board.environment(bob)
    environment.busy = lambda: True

    async def bob_side() -> CallOutcome:
        return await answer_call(environment, await bob.signalling.next_invite(), CallMedia(), progress=print)

    answering = asyncio.create_task(bob_side())
    caller = await place_call(board.environment(alice), bob.user, CallMedia(), seconds=1, progress=print)
    assert caller.end_reason is EndReason.BUSY
    assert (await answering).end_reason is EndReason.BUSY


def test_features_that_need_the_media_are_refused_under_e2ee() -> None:
    for feature in (
        "recording",
        "transcription",
        "call_transfer",
        "call_park",
        "call_merge",
        "add_participant_to_call",
        "forward_to_voicemail",
    ):
        with pytest.raises(CallRefused, match="not available in an end-to-end encrypted call"):
            check_feature(feature, CallEncryption.END_TO_END)
        check_feature(feature, CallEncryption.STANDARD)


async def test_a_substituted_caller_key_stops_the_call_before_any_media(board: Switchboard, tmp_path: Path) -> None:
    alice = board.device("alice@acme", tmp_path)
    bob = board.device("bob@acme", tmp_path)
    # bob's directory pinned another key for alice's device (a key-substituting server)
    bob.directory.learn("alice@acme", alice.identity.device_id, bytes(32))

    async def bob_side() -> CallOutcome:
        return await answer_call(
            board.environment(bob), await bob.signalling.next_invite(), CallMedia(), progress=print
        )

    answering = asyncio.create_task(bob_side())
    caller_task = asyncio.create_task(
        place_call(board.environment(alice), bob.user, CallMedia(), seconds=1, progress=print)
    )
    with pytest.raises(UntrustedDevice, match="key substitution"):
        await asyncio.wait_for(answering, 10)
    caller = await asyncio.wait_for(caller_task, 30)
    assert caller.stats is None
    assert caller.end_reason is EndReason.FAILED
