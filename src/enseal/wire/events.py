"""The WebSocket event protocol (docs/protocol.md, "Events"): one authenticated WebSocket per
device at ``/v1/ws`` carries JSON text frames, each an :class:`EventEnvelope` from the server or a
:class:`ClientFrame` from the device.

``seq`` numbers the frames of one connection. Durable deliveries from the device's mailbox
(group messages, handshakes, Welcomes) also carry ``mailbox_seq`` (1, 2, 3 ... per device, the
same across connections) and ``id`` (its decimal form); the device acknowledges them with an
``ack`` frame whose ``ref`` is a ``mailbox_seq`` (cumulative), and after a reconnect delivery
resumes after the last acknowledged entry (or after ``?after=N`` on the URL). Everything else
(call signalling, notices) is best effort.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated, Any, Literal

from pydantic import Field

from enseal.wire.common import Request, Response

EVENT_PROTOCOL_VERSION: Literal[1] = 1
MAX_CLIENT_FRAME_BYTES = 65536
"""Largest text frame a device may send."""


class EventType(Enum):
    """Events the server sends. Devices ignore types they do not know."""

    HELLO = "hello"
    """First frame after connecting: ``data`` = {device_id, user, server_id}."""
    PONG = "pong"
    """Answer to a ``ping``; echoes ``data``."""
    ACK = "ack"
    """Answer to a client frame that needs one (``data.ref`` = the client's ``ref``)."""
    ERROR = "error"
    """A client frame was refused: ``data`` = an :class:`~enseal.wire.errors.ErrorDetail`."""
    DEVICE_REVOKED = "device.revoked"
    """This device was revoked; the server closes the socket after sending it."""
    DEVICE_ADDED = "device.added"
    """Another device of the same user registered."""
    KEY_PACKAGES_LOW = "key_packages.low"
    """This device's one-time KeyPackages for a suite fell below the refill mark."""
    POLICY_CHANGED = "policy.changed"
    """The user's effective policy or settings may have changed; fetch /v1/me/policy."""
    GROUP_MESSAGE = "group.message"
    """Mailbox: an application message (``data`` = GroupMessageData)."""
    GROUP_HANDSHAKE = "group.handshake"
    """Mailbox: a proposal or commit (``data`` = GroupHandshakeData)."""
    GROUP_WELCOME = "group.welcome"
    """Mailbox: a Welcome for this device (``data`` = GroupWelcomeData)."""
    GROUP_USERS_CHANGED = "group.users_changed"
    """A group's access list changed: ``data`` = {group_id, added, removed}."""
    MAILBOX_GAP = "mailbox.gap"
    """Entries up to ``data.dropped_upto`` overflowed the mailbox unread: refetch history and logs."""
    CALL_INVITE = "call.invite"
    CALL_RINGING = "call.ringing"
    CALL_ACCEPT = "call.accept"
    CALL_WELCOME = "call.welcome"
    CALL_MEDIA_KEY = "call.media_key"
    CALL_CANDIDATES = "call.candidates"
    CALL_CONNECTED = "call.connected"
    CALL_END = "call.end"
    """Call signalling: ``data`` = {call_id, message (the signalling JSON), sender (credential
    identity, or null from the server), call (CallBody)}."""
    CALL_RECORDER = "call.recorder"
    """A recorder joined (``present`` true) or left the call: ``data`` = {call_id, present,
    recording_id, call}."""


class EventEnvelope(Response):
    v: Literal[1] = EVENT_PROTOCOL_VERSION
    type: str = Field(description="an EventType value")
    seq: int = Field(description="1, 2, 3 ... per connection")
    id: str | None = Field(default=None, description="stable id of a stored item, for acks and de-duplication")
    mailbox_seq: int | None = Field(default=None, description="position in the device's mailbox (durable items)")
    at: datetime
    data: dict[str, Any] = Field(default_factory=dict)


class ClientFrame(Request):
    """A frame from the device: ``ping`` (answered by ``pong``) or ``ack`` (``ref`` = a
    ``mailbox_seq``: every entry up to it is acknowledged; answered by ``ack``)."""

    v: Literal[1] = EVENT_PROTOCOL_VERSION
    type: Literal["ping", "ack"]
    ref: Annotated[str, Field(max_length=64, pattern=r"^[A-Za-z0-9_.:-]*$")] | None = None
    data: dict[str, Annotated[str, Field(max_length=1024)]] = Field(default_factory=dict, max_length=16)
