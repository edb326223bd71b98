"""What a device's mailbox entries look like on the wire (docs/protocol.md, "Mailbox"): the same
``type`` and ``data`` over ``/v1/ws`` and the REST fallback, built from the stored group items."""

from __future__ import annotations

from typing import Any, Final

from enseal.storage import MailboxEntryRecord
from enseal.wire import EventType
from enseal.wire.mailbox import GroupHandshakeData, GroupMessageData, GroupWelcomeData, MailboxEntryBody

MAILBOX_BATCH: Final = 64
"""Entries read from the store at a time."""
MAX_IN_FLIGHT: Final = 256
"""Entries sent over a WebSocket and not yet acknowledged; delivery pauses beyond this."""


def entry_type_and_data(entry: MailboxEntryRecord) -> tuple[str, dict[str, Any]]:
    item = entry.item
    if item.kind == "application":
        data = GroupMessageData(
            group_id=item.group_id,
            group_seq=item.group_seq,
            epoch=item.epoch,
            sender=item.sender,
            client_message_id=item.client_message_id or "",
            message=item.data,
        ).model_dump(mode="json")
        return EventType.GROUP_MESSAGE.value, data
    if item.kind == "welcome":
        data = GroupWelcomeData.model_validate(
            {
                "group_id": item.group_id,
                "group_seq": item.group_seq,
                "kind": entry.group_kind,
                "epoch": item.epoch,
                "sender": item.sender,
                "welcome": item.data,
            }
        ).model_dump(mode="json")
        return EventType.GROUP_WELCOME.value, data
    data = GroupHandshakeData.model_validate(
        {
            "group_id": item.group_id,
            "group_seq": item.group_seq,
            "epoch": item.epoch,
            "type": item.kind,
            "sender": item.sender,
            "message": item.data,
        }
    ).model_dump(mode="json")
    return EventType.GROUP_HANDSHAKE.value, data


def entry_body(entry: MailboxEntryRecord) -> MailboxEntryBody:
    type_, data = entry_type_and_data(entry)
    return MailboxEntryBody.model_validate(
        {"mailbox_seq": entry.seq, "type": type_, "at": entry.item.created_at, "data": data}
    )
