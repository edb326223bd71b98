"""Phase-2 request models validate strictly (unknown fields, sizes, patterns, base64url) and the
event envelope carries the mailbox sequence number."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pydantic
import pytest

from enseal.wire import EventEnvelope
from enseal.wire.binary import MAX_APPLICATION_MESSAGE_BYTES, MAX_HANDSHAKE_BYTES, encode_b64url
from enseal.wire.calls import CallFeatureRequest
from enseal.wire.groups import MAX_GROUP_USERS, CreateGroupRequest, HandshakeRequest, PostMessageRequest
from enseal.wire.mailbox import MailboxAckRequest

BLOB = encode_b64url(b"\x00\x01\x00\x01mls")


@pytest.mark.parametrize(
    ("model", "body"),
    [
        (CreateGroupRequest, {"kind": "chat", "group_info": BLOB, "users": ["bob@acme"]}),
        (HandshakeRequest, {"message": BLOB, "group_info": BLOB, "welcome": BLOB}),
        (PostMessageRequest, {"client_message_id": "a-Z_09", "message": BLOB}),
        (MailboxAckRequest, {"upto": 7}),
        (CallFeatureRequest, {"feature": "recording"}),
    ],
)
def test_valid_bodies_decode(model: type[pydantic.BaseModel], body: dict[str, Any]) -> None:
    model.model_validate(body)


@pytest.mark.parametrize(
    ("model", "body"),
    [
        (CreateGroupRequest, {"kind": "chat", "group_info": BLOB, "extra": 1}),
        (CreateGroupRequest, {"kind": "party", "group_info": BLOB}),
        (CreateGroupRequest, {"kind": "chat", "group_info": BLOB, "users": ["Bob@acme"]}),
        (CreateGroupRequest, {"kind": "chat", "group_info": BLOB, "users": ["bob@acme"] * (MAX_GROUP_USERS + 1)}),
        (CreateGroupRequest, {"kind": "chat", "group_info": ""}),
        (HandshakeRequest, {"message": BLOB + "="}),
        (HandshakeRequest, {"message": encode_b64url(bytes(MAX_HANDSHAKE_BYTES + 1))}),
        (PostMessageRequest, {"client_message_id": "has space", "message": BLOB}),
        (PostMessageRequest, {"client_message_id": "x" * 65, "message": BLOB}),
        (
            PostMessageRequest,
            {"client_message_id": "m", "message": encode_b64url(bytes(MAX_APPLICATION_MESSAGE_BYTES + 1))},
        ),
        (MailboxAckRequest, {"upto": -1}),
        (MailboxAckRequest, {"upto": "7"}),
        (CallFeatureRequest, {"feature": "teleport"}),
    ],
)
def test_bad_bodies_are_refused(model: type[pydantic.BaseModel], body: dict[str, Any]) -> None:
    with pytest.raises(pydantic.ValidationError):
        model.model_validate(body)


def test_the_envelope_carries_the_mailbox_sequence() -> None:
    envelope = EventEnvelope(
        type="group.message", seq=3, id="41", mailbox_seq=41, at=datetime(2026, 1, 1, tzinfo=UTC), data={}
    )
    assert envelope.model_dump(mode="json")["mailbox_seq"] == 41
    assert EventEnvelope(type="pong", seq=1, at=datetime(2026, 1, 1, tzinfo=UTC)).mailbox_seq is None
