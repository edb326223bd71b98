"""The WebSocket event protocol (docs/protocol.md, "Events"): one authenticated WebSocket per
device at ``/v1/ws`` carries JSON text frames, each an :class:`EventEnvelope` from the server or a
:class:`ClientFrame` from the device.

The envelope is what the delivery service (group messages, welcomes, call signalling) will use:
``seq`` is per device connection, ``id`` is stable for a stored item so a device can
acknowledge it and drop duplicates after a reconnect.
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


class EventEnvelope(Response):
    v: Literal[1] = EVENT_PROTOCOL_VERSION
    type: str = Field(description="an EventType value")
    seq: int = Field(description="1, 2, 3 ... per connection")
    id: str | None = Field(default=None, description="stable id of a stored item, for acks and de-duplication")
    at: datetime
    data: dict[str, Any] = Field(default_factory=dict)


class ClientFrame(Request):
    """A frame from the device. ``ping`` is the only type of phase 1; ``ack`` is reserved."""

    v: Literal[1] = EVENT_PROTOCOL_VERSION
    type: Literal["ping", "ack"]
    ref: Annotated[str, Field(max_length=64, pattern=r"^[A-Za-z0-9_.:-]*$")] | None = None
    data: dict[str, Annotated[str, Field(max_length=1024)]] = Field(default_factory=dict, max_length=16)
