"""SFrame sender and receiver contexts (RFC 9605 section 4.4): counters, keys by KID, typed refusals."""

from __future__ import annotations

import os
import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from enseal.errors import LocalProtocolError
from enseal.sframe import (
    DEFAULT_SFRAME_SUITE,
    MAX_COUNTER,
    CounterExhaustedError,
    FrameAuthenticationError,
    FrameReplayError,
    FrameTooOldError,
    ReceiveKeyLimitError,
    SFrameCipherSuite,
    SFrameDecodeError,
    SFrameReceiver,
    SFrameSender,
    UnknownKeyIdError,
    decode_header,
    encode_header,
)

SUITE = DEFAULT_SFRAME_SUITE
KID = 0x255
BASE_KEY = bytes(range(16))


def pair(
    kid: int = KID, suite: SFrameCipherSuite = SUITE, next_counter: int = 0
) -> tuple[SFrameSender, SFrameReceiver]:
    receiver = SFrameReceiver(suite)
    receiver.add_key(kid, BASE_KEY)
    return SFrameSender(suite, kid, BASE_KEY, next_counter=next_counter), receiver


@pytest.mark.parametrize("suite", list(SFrameCipherSuite), ids=lambda s: s.name)
def test_round_trip_every_suite_with_metadata(suite: SFrameCipherSuite) -> None:
    sender, receiver = pair(suite=suite)
    for i in range(20):
        frame = sender.protect(b"frame %d" % i, b"rtp-ext")
        assert receiver.unprotect(frame, b"rtp-ext") == b"frame %d" % i
    with pytest.raises(FrameAuthenticationError):
        receiver.unprotect(sender.protect(b"x", b"meta"), b"other meta")


def test_counter_counts_up_and_never_repeats() -> None:
    sender, _ = pair()
    headers = [decode_header(sender.protect(b"x")) for _ in range(300)]
    assert [h.counter for h in headers] == list(range(300))
    assert {h.kid for h in headers} == {KID}
    assert sender.next_counter == 300


@pytest.mark.parametrize("start", [0, 5, 250, (1 << 16) - 3, (1 << 24) - 2, (1 << 56) - 1])
def test_header_forms_across_length_boundaries(start: int) -> None:
    sender, receiver = pair(next_counter=start)
    for counter in range(start, start + 12):
        frame = sender.protect(b"payload")
        assert frame.startswith(encode_header(KID, counter))
        assert receiver.unprotect(frame) == b"payload"


def test_counter_refuses_to_wrap() -> None:
    sender, receiver = pair(next_counter=MAX_COUNTER)
    last = sender.protect(b"last")
    assert decode_header(last).counter == MAX_COUNTER
    assert receiver.unprotect(last) == b"last"
    for _ in range(2):
        with pytest.raises(CounterExhaustedError):
            sender.protect(b"wrapped")
    assert sender.next_counter == MAX_COUNTER + 1
    with pytest.raises(LocalProtocolError):
        SFrameSender(SUITE, KID, BASE_KEY, next_counter=MAX_COUNTER + 2)


def test_replayed_frame_is_refused() -> None:
    sender, receiver = pair()
    frame = sender.protect(b"hello")
    receiver.unprotect(frame)
    with pytest.raises(FrameReplayError):
        receiver.unprotect(frame)


def test_reordering_inside_the_window_and_too_old() -> None:
    sender, receiver = SFrameSender(SUITE, KID, BASE_KEY), SFrameReceiver(SUITE, replay_window=64)
    receiver.add_key(KID, BASE_KEY)
    frames = [sender.protect(b"%d" % i) for i in range(200)]
    receiver.unprotect(frames[100])
    receiver.unprotect(frames[40])  # 60 behind: inside the window, first time
    with pytest.raises(FrameReplayError):
        receiver.unprotect(frames[40])
    with pytest.raises(FrameTooOldError):
        receiver.unprotect(frames[36])  # 64 behind
    assert receiver.unprotect(frames[101]) == b"101"
    assert receiver.unprotect(frames[99]) == b"99"


def test_failed_authentication_does_not_consume_the_counter() -> None:
    sender, receiver = pair()
    frame = sender.protect(b"genuine")
    forged = frame[:-1] + bytes([frame[-1] ^ 0x01])
    with pytest.raises(FrameAuthenticationError):
        receiver.unprotect(forged)
    assert receiver.unprotect(frame) == b"genuine"


@settings(max_examples=50)
@given(st.integers(min_value=0), st.integers(min_value=0, max_value=7))
def test_every_altered_bit_is_refused(position: int, bit: int) -> None:
    sender, receiver = pair()
    frame = sender.protect(b"a video frame of some length", b"meta")
    altered = bytearray(frame)
    altered[position % len(frame)] ^= 1 << bit
    with pytest.raises((FrameAuthenticationError, SFrameDecodeError, UnknownKeyIdError)):
        receiver.unprotect(bytes(altered), b"meta")


def test_altered_payload_is_an_authentication_error() -> None:
    sender, receiver = pair()
    frame = bytearray(sender.protect(b"payload bytes"))
    frame[5] ^= 0x80
    with pytest.raises(FrameAuthenticationError):
        receiver.unprotect(bytes(frame))


def test_unknown_kid() -> None:
    sender, _ = pair(kid=0x999)
    _, receiver = pair()
    with pytest.raises(UnknownKeyIdError) as info:
        receiver.unprotect(sender.protect(b"x"))
    assert info.value.kid == 0x999


def test_truncated_and_malformed_frames() -> None:
    sender, receiver = pair(next_counter=1000)
    frame = sender.protect(b"payload")
    with pytest.raises(SFrameDecodeError):
        receiver.unprotect(b"")
    with pytest.raises(SFrameDecodeError):
        receiver.unprotect(frame[:2])  # header is 1 + 2 + 2 bytes
    with pytest.raises(FrameAuthenticationError):
        receiver.unprotect(frame[:5])  # complete header, no tag
    header = decode_header(frame)
    # The same KID and CTR with the CTR padded to three bytes: not minimal.
    padded = bytes([frame[0] + 1]) + frame[1:3] + b"\x00" + frame[3:5] + frame[header.size :]
    with pytest.raises(SFrameDecodeError, match="minimally"):
        receiver.unprotect(padded)
    # The KID padded with a leading zero byte.
    padded_kid = bytes([frame[0] + 0x10]) + b"\x00" + frame[1:]
    with pytest.raises(SFrameDecodeError, match="minimally"):
        receiver.unprotect(padded_kid)


def test_unprotect_frame_reports_kid_and_counter() -> None:
    sender, receiver = pair(next_counter=77)
    frame = receiver.unprotect_frame(sender.protect(b"x"))
    assert (frame.kid, frame.counter, frame.plaintext) == (KID, 77, b"x")
    assert "plaintext" not in repr(frame)


def test_key_management() -> None:
    sender, receiver = pair()
    with pytest.raises(LocalProtocolError):
        receiver.add_key(KID, BASE_KEY)  # would reset the replay window
    receiver.remove_key(KID)
    receiver.remove_key(KID)
    assert receiver.kids == frozenset()
    with pytest.raises(UnknownKeyIdError):
        receiver.unprotect(sender.protect(b"x"))
    small = SFrameReceiver(SUITE, max_keys=2)
    small.add_key(1, BASE_KEY)
    small.add_key(2, BASE_KEY)
    with pytest.raises(ReceiveKeyLimitError):
        small.add_key(3, BASE_KEY)


def test_resolver_keys_are_kept_only_after_authentication() -> None:
    asked: list[int] = []

    def resolve(kid: int) -> bytes | None:
        asked.append(kid)
        return BASE_KEY if kid == KID else None

    receiver = SFrameReceiver(SUITE, resolve=resolve)
    sender = SFrameSender(SUITE, KID, BASE_KEY)
    frame = sender.protect(b"first")
    with pytest.raises(FrameAuthenticationError):
        receiver.unprotect(frame[:-1] + bytes([frame[-1] ^ 1]))
    assert receiver.kids == frozenset()
    assert receiver.unprotect(frame) == b"first"
    assert receiver.kids == {KID}
    with pytest.raises(FrameReplayError):
        receiver.unprotect(frame)  # the first frame counted in the new key's window
    assert receiver.unprotect(sender.protect(b"second")) == b"second"
    assert asked == [KID, KID]
    with pytest.raises(UnknownKeyIdError):
        receiver.unprotect(SFrameSender(SUITE, 0x42, BASE_KEY).protect(b"x"))


def test_secrets_stay_hidden() -> None:
    key = os.urandom(16)
    sender, receiver = SFrameSender(SUITE, KID, key), SFrameReceiver(SUITE)
    receiver.add_key(KID, key)
    for obj in (sender, receiver):
        assert key.hex() not in repr(obj)
    with pytest.raises(TypeError):
        pickle.dumps(sender)
