"""One device's Call: the flows of a 1:1 call and what it refuses."""

from __future__ import annotations

import os
from dataclasses import replace

import pytest

from enseal.errors import LocalProtocolError
from enseal.signalling import (
    CONNECT_TIMEOUT_SECONDS,
    RING_TIMEOUT_SECONDS,
    Call,
    CallAccept,
    CallCandidates,
    CallConnected,
    CallEncryption,
    CallEnd,
    CallInvite,
    CallMediaKey,
    CallRinging,
    CallRole,
    CallState,
    CallStateError,
    CallWelcome,
    Candidate,
    CheckRole,
    ConnectivityKey,
    Endpoint,
    EndReason,
    MediaOffer,
    UnexpectedCallMessage,
    decode_message,
    encode_message,
)

AUDIO_ONLY = MediaOffer(video_codecs=())


def wire(message: CallInvite | CallAccept | CallEnd) -> object:
    """Messages cross the network as bytes."""
    return decode_message(encode_message(message))


def ringing_pair(encryption: CallEncryption, *, now: float = 0.0) -> tuple[Call, Call]:
    caller, invite = Call.place(callee="bob@acme", media=MediaOffer(), e2ee_capable=True, now=now, rng=os.urandom)
    assert caller.state is CallState.OUTGOING_RINGING and invite.encryption is None
    forwarded = replace(invite, encryption=encryption)  # the server stamps its decision
    callee = Call.incoming(forwarded, media=AUDIO_ONLY, e2ee_capable=True, now=now)
    caller.receive(CallRinging(call_id=invite.call_id, encryption=encryption), now)
    return caller, callee


def test_end_to_end_call_from_ring_to_hang_up() -> None:
    caller, callee = ringing_pair(CallEncryption.END_TO_END)
    assert callee.state is CallState.INCOMING_RINGING and caller.encryption is callee.encryption
    assert caller.connectivity_key == callee.connectivity_key
    assert (caller.role.check_role, callee.role.check_role) == (CheckRole.CONTROLLING, CheckRole.CONTROLLED)
    accept = callee.accept(now=1.0, key_package=b"kp")
    received = wire(accept)
    assert isinstance(received, CallAccept)
    caller.receive(received, 1.0)
    assert caller.state is callee.state is CallState.CONNECTING
    assert caller.key_package == b"kp"
    assert caller.common_media == callee.common_media == AUDIO_ONLY  # the callee offered no video
    callee.receive(caller.welcome_message(b"welcome"), 1.1)
    assert callee.welcome == b"welcome"
    candidate = Candidate(endpoint=Endpoint(address="10.0.0.2", port=4000), priority=5)
    caller.receive(callee.candidates([candidate]), 1.2)
    callee.receive(caller.candidates([]), 1.2)
    assert caller.remote_candidates == (candidate,) and callee.remote_candidates == ()
    connected = caller.media_up(1.5)
    callee.receive(connected, 1.5)
    assert isinstance(connected, CallConnected)
    assert caller.state is CallState.ACTIVE and caller.next_deadline() is None
    callee.media_up(1.6)
    end = callee.hang_up()
    assert end == CallEnd(call_id=callee.call_id, reason=EndReason.HUNG_UP)
    caller.receive(end, 2.0)
    assert caller.state is callee.state is CallState.ENDED
    assert caller.end_reason is callee.end_reason is EndReason.HUNG_UP
    with pytest.raises(CallStateError):
        caller.hang_up()


def test_standard_call_takes_the_service_key_once() -> None:
    caller, callee = ringing_pair(CallEncryption.STANDARD)
    with pytest.raises(LocalProtocolError):
        callee.accept(now=1.0, key_package=b"kp")
    caller.receive(callee.accept(now=1.0), 1.0)
    key = CallMediaKey(call_id=caller.call_id, media_key=bytes(range(16)))
    for call in (caller, callee):
        call.receive(key, 1.1)
        assert call.media_key is not None and call.media_key.reveal() == bytes(range(16))
        with pytest.raises(UnexpectedCallMessage, match="second media key"):
            call.receive(key, 1.2)
    with pytest.raises(CallStateError):
        caller.welcome_message(b"w")
    with pytest.raises(UnexpectedCallMessage):
        callee.receive(CallWelcome(call_id=callee.call_id, welcome=b"w"), 1.3)


def test_end_to_end_call_refuses_a_media_key_from_the_service() -> None:
    caller, callee = ringing_pair(CallEncryption.END_TO_END)
    caller.receive(callee.accept(now=1.0, key_package=b"kp"), 1.0)
    for call in (caller, callee):
        with pytest.raises(UnexpectedCallMessage, match="not standard-encrypted"):
            call.receive(CallMediaKey(call_id=call.call_id, media_key=bytes(16)), 1.1)
        assert call.media_key is None and call.state is CallState.CONNECTING


def test_the_label_cannot_change_or_claim_e2ee_for_a_device_without_it() -> None:
    caller, _ = ringing_pair(CallEncryption.STANDARD)
    with pytest.raises(UnexpectedCallMessage, match="may not change"):
        caller.receive(CallRinging(call_id=caller.call_id, encryption=CallEncryption.END_TO_END), 1.0)
    plain, invite = Call.place(callee="bob@acme", media=MediaOffer(), e2ee_capable=False, now=0, rng=os.urandom)
    with pytest.raises(UnexpectedCallMessage):
        plain.receive(CallRinging(call_id=plain.call_id, encryption=CallEncryption.END_TO_END), 1.0)
    with pytest.raises(UnexpectedCallMessage):
        Call.incoming(
            replace(invite, encryption=CallEncryption.END_TO_END), media=MediaOffer(), e2ee_capable=True, now=0
        )
    with pytest.raises(UnexpectedCallMessage, match="set by the server"):
        Call.incoming(invite, media=MediaOffer(), e2ee_capable=True, now=0)


def test_accept_must_match_the_encryption() -> None:
    caller, _ = ringing_pair(CallEncryption.END_TO_END)
    with pytest.raises(UnexpectedCallMessage, match="without a KeyPackage"):
        caller.receive(CallAccept(call_id=caller.call_id, media=MediaOffer()), 1.0)
    assert caller.state is CallState.OUTGOING_RINGING
    early, _ = Call.place(callee="bob@acme", media=MediaOffer(), e2ee_capable=True, now=0, rng=os.urandom)
    with pytest.raises(UnexpectedCallMessage, match="before the server"):
        early.receive(CallAccept(call_id=early.call_id, media=MediaOffer()), 1.0)


@pytest.mark.parametrize(
    ("ender", "reason"),
    [
        ("callee.decline", EndReason.DECLINED),
        ("callee.reply_busy", EndReason.BUSY),
        ("caller.cancel", EndReason.CANCELLED),
    ],
)
def test_ringing_calls_end_both_sides(ender: str, reason: EndReason) -> None:
    caller, callee = ringing_pair(CallEncryption.STANDARD)
    side, command = ender.split(".")
    ending, other = (caller, callee) if side == "caller" else (callee, caller)
    end = getattr(ending, command)()
    assert end.reason is reason
    other.receive(end, 1.0)
    assert (ending.end_reason, other.end_reason) == (reason, reason)


@pytest.mark.parametrize("reason", [EndReason.REFUSED_BY_POLICY, EndReason.BUSY, EndReason.TIMED_OUT])
def test_server_ends_an_outgoing_call(reason: EndReason) -> None:
    caller, _ = ringing_pair(CallEncryption.STANDARD)
    caller.receive(CallEnd(call_id=caller.call_id, reason=reason), 1.0)
    assert caller.end_reason is reason


def test_answered_elsewhere_stops_the_other_devices() -> None:
    _, callee = ringing_pair(CallEncryption.STANDARD)
    callee.receive(CallEnd(call_id=callee.call_id, reason=EndReason.ANSWERED_ELSEWHERE), 1.0)
    assert callee.end_reason is EndReason.ANSWERED_ELSEWHERE
    active, other = ringing_pair(CallEncryption.STANDARD)
    with pytest.raises(UnexpectedCallMessage):
        active.receive(CallEnd(call_id=active.call_id, reason=EndReason.ANSWERED_ELSEWHERE), 1.0)
    assert other.state is CallState.INCOMING_RINGING


def test_ring_timeout() -> None:
    caller, callee = ringing_pair(CallEncryption.STANDARD, now=100.0)
    assert caller.next_deadline() == callee.next_deadline() == 100.0 + RING_TIMEOUT_SECONDS
    assert caller.poll(100.0 + RING_TIMEOUT_SECONDS - 0.001) is None
    assert caller.state is CallState.OUTGOING_RINGING
    end = caller.poll(100.0 + RING_TIMEOUT_SECONDS)
    assert end is not None and end.reason is EndReason.TIMED_OUT
    assert callee.poll(100.0 + RING_TIMEOUT_SECONDS) is None  # the callee stops ringing quietly
    assert callee.end_reason is EndReason.TIMED_OUT


def test_connect_timeout_fails_the_call() -> None:
    caller, callee = ringing_pair(CallEncryption.STANDARD)
    caller.receive(callee.accept(now=10.0), 10.0)
    assert caller.next_deadline() == 10.0 + CONNECT_TIMEOUT_SECONDS
    end = caller.poll(10.0 + CONNECT_TIMEOUT_SECONDS)
    assert end is not None and end.reason is EndReason.FAILED
    assert caller.poll(1e9) is None


def test_messages_of_another_call_or_out_of_place_are_refused() -> None:
    caller, callee = ringing_pair(CallEncryption.STANDARD)
    other = CallEnd(call_id="B" * 22, reason=EndReason.HUNG_UP)
    with pytest.raises(UnexpectedCallMessage, match="another call"):
        caller.receive(other, 1.0)
    with pytest.raises(UnexpectedCallMessage):
        caller.receive(CallCandidates(call_id=caller.call_id, candidates=()), 1.0)  # still ringing
    with pytest.raises(UnexpectedCallMessage):
        callee.receive(CallRinging(call_id=callee.call_id, encryption=CallEncryption.STANDARD), 1.0)
    caller.receive(callee.accept(now=1.0), 1.0)
    caller.receive(CallCandidates(call_id=caller.call_id, candidates=()), 1.0)
    with pytest.raises(UnexpectedCallMessage, match="second candidate list"):
        caller.receive(CallCandidates(call_id=caller.call_id, candidates=()), 1.0)
    invite = CallInvite(
        call_id=caller.call_id, callee="bob@acme", media=MediaOffer(), e2ee_capable=True, call_secret=bytes(32)
    )
    with pytest.raises(UnexpectedCallMessage):
        caller.receive(invite, 1.0)


def test_connectivity_key_is_per_call() -> None:
    secret = bytes(32)
    assert ConnectivityKey.derive(secret, "A" * 22) != ConnectivityKey.derive(secret, "B" * 22)
    assert ConnectivityKey.derive(secret, "A" * 22) == ConnectivityKey.derive(secret, "A" * 22)
    assert "hidden" in repr(ConnectivityKey.derive(secret, "A" * 22))
    assert CallRole.CALLER.check_role is CheckRole.CONTROLLING
