"""Delivery service bodies (docs/protocol.md, "Groups and delivery"): MLS groups the server
follows, their handshake log, GroupInfo for external joins, application messages and history.

A group is named by the lower-case hex of its MLS ``group_id`` (16 to 32 random bytes chosen by
the creating client). Every MLS value travels as the bytes of an ``MLSMessage``, unpadded
base64url. The server sees handshakes (PublicMessage) and routes application messages
(PrivateMessage) it cannot read.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Final, Literal

from pydantic import Field, StringConstraints

from enseal.wire.binary import ApplicationMessageB64, HandshakeB64
from enseal.wire.common import Request, Response, UserAddressText

GROUP_ID_PATTERN: Final = r"^(?:[0-9a-f]{2}){16,32}$"
"""A group id: the lower-case hex of a 16-32 byte MLS group_id."""
CLIENT_MESSAGE_ID_PATTERN: Final = r"^[A-Za-z0-9_-]{1,64}$"
MAX_GROUP_USERS: Final = 2000
"""Most users one group's access list holds (a meeting of 1,000 and room to spare)."""
MAX_USERS_PER_CHANGE: Final = 500
"""Most users one access-list change adds or removes."""
MAX_PAGE_ITEMS: Final = 500
"""Most log entries, history entries or mailbox entries one page carries."""

GroupKind = Literal["chat", "call", "meeting"]
GroupIdText = Annotated[str, StringConstraints(pattern=GROUP_ID_PATTERN, max_length=64)]
ClientMessageId = Annotated[str, StringConstraints(pattern=CLIENT_MESSAGE_ID_PATTERN, max_length=64)]
HandshakeType = Literal["proposal", "commit"]


class CreateGroupRequest(Request):
    """Register a group with the delivery service, from its creator's device."""

    kind: GroupKind
    group_info: HandshakeB64 = Field(
        description="MLSMessage(GroupInfo) of the current epoch with the ratchet_tree extension, signed by the"
        " calling device's leaf; its GroupContext lists the server in external_senders"
    )
    users: Annotated[list[UserAddressText], Field(max_length=MAX_GROUP_USERS)] = Field(
        default_factory=list,
        description="who may be a member (the access list); the creator's user is always on it",
    )
    one_per_users: bool = Field(
        default=False,
        description="at most one group of this kind with exactly these users (a conversation): a second one is"
        " 409 already_exists whose detail is the existing group's id",
    )


class GroupMemberBody(Response):
    leaf_index: int
    user: str
    device_id: str
    credential_identity: str


class GroupBody(Response):
    group_id: str
    kind: GroupKind
    epoch: int
    created_at: datetime
    created_by: str = Field(description="credential identity of the creating device")
    members: list[GroupMemberBody] = Field(description="the roster of the current epoch, by leaf")
    users: list[str] = Field(description="the access list: users whose devices may be members")
    pending_removals: list[int] = Field(
        description="leaves the server proposed to remove in this epoch (revoked or departed devices); the next"
        " member commit must include them"
    )


class GroupSummary(Response):
    group_id: str
    kind: GroupKind
    epoch: int
    member: bool = Field(description="this device is in the current roster (else only its user is on the list)")


class GroupList(Response):
    groups: list[GroupSummary]


class UpdateGroupUsersRequest(Request):
    """Change the access list. Removing a user makes the server propose Remove for their devices."""

    add: Annotated[list[UserAddressText], Field(max_length=MAX_USERS_PER_CHANGE)] = Field(default_factory=list)
    remove: Annotated[list[UserAddressText], Field(max_length=MAX_USERS_PER_CHANGE)] = Field(default_factory=list)


class HandshakeRequest(Request):
    """A proposal or a commit for the group's current epoch."""

    message: HandshakeB64 = Field(description="MLSMessage(PublicMessage) of a proposal or commit")
    group_info: HandshakeB64 | None = Field(
        default=None,
        description="with a commit: MLSMessage(GroupInfo) of the new epoch with the ratchet_tree extension,"
        " signed by the committer",
    )
    welcome: HandshakeB64 | None = Field(
        default=None, description="with a commit that adds members: MLSMessage(Welcome) for them"
    )


class HandshakeAccepted(Response):
    group_id: str
    type: HandshakeType
    group_seq: int = Field(description="position of the message in the group's log")
    epoch: int = Field(description="the group's epoch now (the new epoch after a commit)")
    added: list[int] = Field(default_factory=list, description="leaves the commit added")
    removed: list[int] = Field(default_factory=list, description="leaves the commit removed")
    welcome_recipients: list[str] = Field(default_factory=list, description="device ids the Welcome goes to")
    duplicate: bool = Field(default=False, description="the same message was accepted before")


class GroupInfoBody(Response):
    group_id: str
    kind: GroupKind
    epoch: int
    group_info: HandshakeB64


class LogEntryBody(Response):
    group_seq: int
    epoch: int = Field(description="the epoch the message was sent in")
    type: HandshakeType
    sender: str = Field(description="credential identity of the sending device, or 'server'")
    message: HandshakeB64
    at: datetime


class GroupLog(Response):
    group_id: str
    epoch: int = Field(description="the group's current epoch")
    oldest_epoch: int = Field(description="the oldest epoch whose handshakes are still kept")
    entries: list[LogEntryBody]
    more: bool = Field(description="more entries follow: ask again after the last group_seq")


class PostMessageRequest(Request):
    """An application message for every other member device. Posting again with the same
    ``client_message_id`` is answered with the first result and delivers nothing twice."""

    client_message_id: ClientMessageId
    message: ApplicationMessageB64 = Field(description="MLSMessage(PrivateMessage) with content_type application")


class MessageAccepted(Response):
    group_id: str
    group_seq: int
    epoch: int
    client_message_id: str
    recipients: int = Field(description="member devices it was queued for")
    duplicate: bool = False


class HistoryEntry(Response):
    group_seq: int
    epoch: int
    sender: str = Field(description="credential identity of the sending device")
    client_message_id: str
    message: ApplicationMessageB64
    at: datetime


class GroupHistory(Response):
    group_id: str
    entries: list[HistoryEntry]
    more: bool


class LeaveAccepted(Response):
    group_id: str
    epoch: int
    pending_removals: list[int]
