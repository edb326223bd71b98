"""Durable per-device mailboxes (docs/protocol.md, "Mailbox"): what the delivery service queued
for a device (application messages, handshakes, Welcomes), numbered 1, 2, 3 ... per device
(``mailbox_seq``), delivered over ``/v1/ws`` and kept until the device acknowledges them. The
REST fallback pages and acknowledges the same entries.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field

from enseal.wire.binary import ApplicationMessageB64, HandshakeB64
from enseal.wire.common import Request, Response
from enseal.wire.groups import GroupKind, HandshakeType

MailboxEntryType = Literal["group.message", "group.handshake", "group.welcome"]


class MailboxEntryBody(Response):
    mailbox_seq: int
    type: MailboxEntryType
    at: datetime
    data: dict[str, Any] = Field(description="GroupMessageData, GroupHandshakeData or GroupWelcomeData")


class MailboxPage(Response):
    entries: list[MailboxEntryBody]
    acked_seq: int = Field(description="everything up to here was acknowledged and is gone")
    last_seq: int = Field(description="the newest entry queued")
    dropped_upto: int = Field(
        description="entries up to here were dropped unread because the mailbox overflowed (0: none);"
        " refetch the groups' history and logs"
    )
    more: bool


class MailboxAckRequest(Request):
    upto: Annotated[int, Field(ge=0, le=2**62)] = Field(description="acknowledge every entry up to this mailbox_seq")


class MailboxState(Response):
    acked_seq: int
    last_seq: int
    dropped_upto: int


class GroupMessageData(Response):
    """``group.message``: an application message of a member."""

    group_id: str
    group_seq: int
    epoch: int
    sender: str = Field(description="credential identity of the sending device")
    client_message_id: str
    message: ApplicationMessageB64


class GroupHandshakeData(Response):
    """``group.handshake``: a proposal or commit to process, in log order."""

    group_id: str
    group_seq: int
    epoch: int
    type: HandshakeType
    sender: str = Field(description="credential identity of the sending device, or 'server'")
    message: HandshakeB64


class GroupWelcomeData(Response):
    """``group.welcome``: this device was added; join with the KeyPackage the Welcome names."""

    group_id: str
    group_seq: int
    kind: GroupKind
    epoch: int = Field(description="the epoch the Welcome joins")
    sender: str
    welcome: HandshakeB64
