"""The REST fallback of the device mailbox (docs/protocol.md, "Mailbox"): page the entries the
WebSocket would deliver, and acknowledge them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from enseal.server.mailbox_entries import entry_body
from enseal.server.principals import Device, State
from enseal.wire.groups import MAX_PAGE_ITEMS
from enseal.wire.mailbox import MailboxAckRequest, MailboxPage, MailboxState

router = APIRouter(prefix="/v1", tags=["mailbox"])


@router.get("/mailbox", response_model=MailboxPage)
async def fetch(
    principal: Device,
    state: State,
    after: Annotated[int | None, Query(ge=0, le=2**62, description="default: the last acknowledged entry")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_ITEMS)] = 100,
) -> MailboxPage:
    """Unacknowledged entries after ``after``, in order."""
    device_id = principal.device.device_id
    async with state.store.transaction() as tx:
        mailbox = await tx.mailboxes.state(device_id)
        start = mailbox.acked_seq if after is None else max(after, mailbox.acked_seq)
        entries = await tx.mailboxes.entries(device_id, after=start, limit=limit + 1)
    return MailboxPage(
        entries=[entry_body(entry) for entry in entries[:limit]],
        acked_seq=mailbox.acked_seq,
        last_seq=mailbox.last_seq,
        dropped_upto=mailbox.dropped_upto,
        more=len(entries) > limit,
    )


@router.post("/mailbox/ack", response_model=MailboxState)
async def acknowledge(body: MailboxAckRequest, principal: Device, state: State) -> MailboxState:
    """Acknowledge every entry up to ``upto``; they are deleted."""
    async with state.store.transaction() as tx:
        mailbox = await tx.mailboxes.acknowledge(principal.device.device_id, body.upto)
    return MailboxState(acked_seq=mailbox.acked_seq, last_seq=mailbox.last_seq, dropped_upto=mailbox.dropped_upto)
