"""Signalling messages: round trips (property tests) and strict refusal of everything else."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from enseal.signalling import (
    MAX_MESSAGE_BYTES,
    CallCandidates,
    CallEnd,
    CallInvite,
    CallMessage,
    Candidate,
    Endpoint,
    EndReason,
    MalformedSignallingMessage,
    MediaOffer,
    decode_message,
    encode_message,
    message_from_json,
    message_to_json,
)

from .message_strategies import messages

CALL_ID = "AAAAAAAAAAAAAAAAAAAAAA"


@given(messages)
def test_round_trip(message: CallMessage) -> None:
    encoded = encode_message(message)
    assert len(encoded) <= MAX_MESSAGE_BYTES
    assert decode_message(encoded) == message
    assert decode_message(encoded.decode()) == message
    assert message_from_json(json.loads(encoded)) == message
    assert encode_message(decode_message(encoded)) == encoded  # one encoding per message


@given(messages, st.data())
def test_any_changed_field_is_refused_or_decodes_to_a_valid_message(message: CallMessage, data: st.DataObject) -> None:
    obj = message_to_json(message)
    key = data.draw(st.sampled_from(sorted(obj)))
    obj[key] = data.draw(st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=20), st.just([])))
    try:
        decoded = message_from_json(obj)
    except MalformedSignallingMessage:
        return
    assert encode_message(decoded) == encode_message(message_from_json(message_to_json(decoded)))


@given(st.binary(max_size=300))
def test_garbage_raises_only_the_typed_error(data: bytes) -> None:
    with pytest.raises(MalformedSignallingMessage):
        decode_message(data)


def invite_json() -> dict[str, Any]:
    invite = CallInvite(
        call_id=CALL_ID, callee="bob@acme", media=MediaOffer(), e2ee_capable=True, call_secret=bytes(32)
    )
    return message_to_json(invite)


def refused(obj: object) -> str:
    with pytest.raises(MalformedSignallingMessage) as info:
        message_from_json(obj)
    return info.value.reason


def test_decodes_the_documented_form() -> None:
    text = (
        '{"v":1,"type":"call.end","call_id":"%s","reason":"hung_up"}' % CALL_ID  # noqa: UP031
    )
    assert decode_message(text) == CallEnd(call_id=CALL_ID, reason=EndReason.HUNG_UP)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda o: o.update(extra=1), "unknown field"),
        (lambda o: o.pop("callee"), "lacks a field"),
        (lambda o: o.pop("type"), "lacks a field"),
        (lambda o: o.update(v=2), "unknown signalling version"),
        (lambda o: o.update(v=True), "v must be an integer"),
        (lambda o: o.update(type="call.transfer"), "unknown signalling message type"),
        (lambda o: o.update(e2ee_capable=1), "e2ee_capable must be true or false"),
        (lambda o: o.update(call_secret=o["call_secret"].rstrip("=")), "base64"),
        (lambda o: o.update(call_secret="AAAA" * 11), "out of bounds"),
        (lambda o: o.update(call_id="short"), "out of bounds"),
        (lambda o: o.update(callee="Bob@acme"), "out of bounds"),
        (lambda o: o.update(encryption="quantum"), "unknown encryption"),
        (lambda o: o.update(media={"audio": ["opus"]}), "lacks a field"),
        (lambda o: o.update(media={"audio": ["opus", "opus"], "video": []}), "out of bounds"),
        (lambda o: o.update(media={"audio": ["x"] * 9, "video": []}), "more than 8"),
        (lambda o: o.update(media=[]), "must be an object"),
    ],
)
def test_invite_refusals(change: Any, reason: str) -> None:
    obj = invite_json()
    change(obj)
    assert reason in refused(obj)


def test_non_canonical_base64_is_refused() -> None:
    obj = invite_json()
    obj["call_secret"] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB="  # non-zero padding bits
    assert "canonical" in refused(obj)


@pytest.mark.parametrize(
    "text",
    [
        b'{"v":1,"v":1,"type":"call.connected","call_id":"AAAAAAAAAAAAAAAAAAAAAA"}',
        b'{"v":1.0,"type":"call.connected","call_id":"AAAAAAAAAAAAAAAAAAAAAA"}',
        b'{"v":NaN,"type":"call.connected","call_id":"AAAAAAAAAAAAAAAAAAAAAA"}',
        b"[1]",
        b'{"v":1,"type":"call.connected","call_id":"AAAAAAAAAAAAAAAAAAAAAA"} x',
        b"\xff\xfe",
        b'{"v":1,"type":"call.connected","call_id":"AAAAAAAAAAAAAAAAAAAAAA","pad":"' + b"a" * MAX_MESSAGE_BYTES + b'"}',
        b"[" * 100_000,
    ],
)
def test_json_level_refusals(text: bytes) -> None:
    with pytest.raises(MalformedSignallingMessage):
        decode_message(text)


def candidates_json(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"v": 1, "type": "call.candidates", "call_id": CALL_ID, "candidates": list(entries)}


@pytest.mark.parametrize(
    "entry",
    [
        {"address": "192.168.001.1", "port": 5000, "priority": 1},
        {"address": "::FFFF:1.2.3.4", "port": 5000, "priority": 1},
        {"address": "example.com", "port": 5000, "priority": 1},
        {"address": "10.0.0.1", "port": 0, "priority": 1},
        {"address": "10.0.0.1", "port": 65536, "priority": 1},
        {"address": "10.0.0.1", "port": 5000, "priority": 0},
        {"address": "10.0.0.1", "port": 5000, "priority": 2**32},
        {"address": "10.0.0.1", "port": "5000", "priority": 1},
        {"address": "10.0.0.1", "port": 5000},
    ],
)
def test_candidate_refusals(entry: dict[str, Any]) -> None:
    refused(candidates_json(entry))


def test_candidate_count_and_duplicates_are_bounded() -> None:
    entry = {"address": "10.0.0.1", "port": 5000, "priority": 1}
    refused(candidates_json(entry, entry))
    many = [{"address": "10.0.0.1", "port": 5000 + i, "priority": 1} for i in range(17)]
    assert "more than 16" in refused(candidates_json(*many))
    decoded = message_from_json(candidates_json(*many[:16]))
    assert isinstance(decoded, CallCandidates) and len(decoded.candidates) == 16


def test_secrets_stay_out_of_repr() -> None:
    invite = CallInvite(
        call_id=CALL_ID, callee="bob@acme", media=MediaOffer(), e2ee_capable=False, call_secret=b"\x42" * 32
    )
    assert "call_secret" not in repr(invite) and "BBBB" not in repr(invite)
    candidate = Candidate(endpoint=Endpoint(address="10.0.0.1", port=1), priority=1)
    assert "10.0.0.1" in repr(candidate)
