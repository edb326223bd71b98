"""Repository of per-device mailboxes (docs/protocol.md, "Mailbox"): each delivery of a group
item to a device gets the device's next ``mailbox_seq``; entries stay until acknowledged.

Every device has a mailbox row from registration on. Queuing for many devices is one
``UPDATE ... RETURNING`` over their rows (taken in device-id order, so concurrent transactions
lock them in the same order) and one bulk insert. A mailbox holds at most
:data:`MAX_MAILBOX_ENTRIES`; beyond that its oldest entries are dropped and ``dropped_upto``
says up to where.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from sqlalchemy import and_, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from enseal.storage.delivery import item_record
from enseal.storage.errors import NotFound
from enseal.storage.models import DeviceRow, GroupItemRow, MailboxEntryRow, MailboxRow, MlsGroupRow
from enseal.storage.records import MailboxEntryRecord, MailboxStateRecord

MAX_MAILBOX_ENTRIES: Final = 10_000
"""Unacknowledged entries one device's mailbox holds; older ones are dropped beyond it."""


_STATE_COLUMNS: Final = (MailboxRow.last_seq, MailboxRow.acked_seq, MailboxRow.dropped_upto)


class MailboxRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def create(self, device_id: str) -> None:
        self._session.add(MailboxRow(device_id=device_id, last_seq=0, acked_seq=0, dropped_upto=0))
        await self._session.flush()

    async def enqueue(self, device_ids: Iterable[str], item_id: int) -> dict[str, int]:
        """Queue item ``item_id`` for each device; returns each device's new ``mailbox_seq``
        (revoked devices and devices without a mailbox are skipped)."""
        ordered = sorted(set(device_ids))
        if not ordered:
            return {}
        active = select(DeviceRow.id).where(DeviceRow.id.in_(ordered), DeviceRow.revoked_at.is_(None))
        result = await self._session.execute(
            update(MailboxRow)
            .where(MailboxRow.device_id.in_(active))
            .values(last_seq=MailboxRow.last_seq + 1)
            .returning(MailboxRow.device_id, MailboxRow.last_seq, MailboxRow.acked_seq, MailboxRow.dropped_upto)
        )
        assigned: dict[str, int] = {}
        overflowing: list[tuple[str, int]] = []
        for device_id, last_seq, acked_seq, dropped_upto in result.all():
            assigned[device_id] = int(last_seq)
            floor = int(last_seq) - MAX_MAILBOX_ENTRIES
            if floor > max(int(acked_seq), int(dropped_upto)):
                overflowing.append((device_id, floor))
        if assigned:
            await self._session.execute(
                insert(MailboxEntryRow),
                [{"device_id": device, "seq": seq, "item_id": item_id} for device, seq in assigned.items()],
            )
        for device_id, floor in overflowing:
            await self._session.execute(
                delete(MailboxEntryRow).where(MailboxEntryRow.device_id == device_id, MailboxEntryRow.seq <= floor)
            )
            await self._session.execute(
                update(MailboxRow).where(MailboxRow.device_id == device_id).values(dropped_upto=floor)
            )
        return assigned

    async def state(self, device_id: str, *, for_update: bool = False) -> MailboxStateRecord:
        statement = select(*_STATE_COLUMNS).where(MailboxRow.device_id == device_id)
        if for_update:
            statement = statement.with_for_update()
        row = (await self._session.execute(statement)).one_or_none()
        if row is None:
            raise NotFound("no mailbox for this device", device_id)
        return MailboxStateRecord(last_seq=int(row[0]), acked_seq=int(row[1]), dropped_upto=int(row[2]))

    async def entries(self, device_id: str, *, after: int, limit: int) -> list[MailboxEntryRecord]:
        """Entries with ``seq > after``, in order, with their items."""
        statement = (
            select(MailboxEntryRow.seq, GroupItemRow, MlsGroupRow.kind)
            .join(GroupItemRow, GroupItemRow.id == MailboxEntryRow.item_id)
            .join(MlsGroupRow, MlsGroupRow.id == GroupItemRow.group_id)
            .where(and_(MailboxEntryRow.device_id == device_id, MailboxEntryRow.seq > after))
            .order_by(MailboxEntryRow.seq)
            .limit(limit)
        )
        return [
            MailboxEntryRecord(seq=int(seq), item=item_record(item), group_kind=kind)
            for seq, item, kind in (await self._session.execute(statement)).all()
        ]

    async def acknowledge(self, device_id: str, upto: int) -> MailboxStateRecord:
        """Acknowledge every entry up to ``upto`` (capped at the last one queued); they are deleted."""
        state = await self.state(device_id, for_update=True)
        acked = max(state.acked_seq, min(upto, state.last_seq))
        if acked != state.acked_seq:
            await self._session.execute(
                delete(MailboxEntryRow).where(MailboxEntryRow.device_id == device_id, MailboxEntryRow.seq <= acked)
            )
            await self._session.execute(
                update(MailboxRow).where(MailboxRow.device_id == device_id).values(acked_seq=acked)
            )
        return MailboxStateRecord(last_seq=state.last_seq, acked_seq=acked, dropped_upto=state.dropped_upto)

    async def clear(self, device_id: str) -> None:
        """Drop every entry of a revoked device."""
        await self._session.execute(delete(MailboxEntryRow).where(MailboxEntryRow.device_id == device_id))
