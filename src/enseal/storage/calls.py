"""Repositories of 1:1 calls and their recordings (docs/protocol.md, "Calls", "Recordings").

A call row is the server's state machine of the call (``enseal.signalling`` states, from the
caller's side) and the policy decision; every node of a scaled-out server reads and changes it
under a row lock, so "first accept wins" and "busy" hold across nodes. A recording's frames are
sealed chunks (:mod:`enseal.storage.sealed`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Final

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from enseal.storage.accounts import user_record
from enseal.storage.errors import AlreadyExists, NotFound
from enseal.storage.models import CallRow, RecordingChunkRow, RecordingRow, UserRow
from enseal.storage.records import CallRecord, RecordingRecord, UserRecord
from enseal.storage.timestamps import from_ms, from_ms_or_none, to_ms

LINE_STATES: Final = ("outgoing ringing", "connecting", "active")
"""States in which a call occupies both users' line (a new call to either is busy)."""
DEADLINE_STATES: Final = ("outgoing ringing", "connecting")
"""States with a deadline (ring timeout, connect timeout)."""
MAX_DUE: Final = 100
"""Calls one sweep of the timeout checker handles."""

_Caller = aliased(UserRow)
_Callee = aliased(UserRow)


def _call(row: CallRow, caller: UserRow, callee: UserRow) -> CallRecord:
    return CallRecord(
        call_id=row.id,
        caller=user_record(caller),
        caller_device_id=row.caller_device_id,
        callee=user_record(callee),
        state=row.state,
        encryption=row.encryption,
        reasons=row.reasons,
        rung_devices=tuple(json.loads(row.rung_devices)),
        answered_device_id=row.answered_device_id,
        end_reason=row.end_reason,
        deadline=from_ms_or_none(row.deadline),
        recording_id=row.recording_id,
        created_at=from_ms(row.created_at),
        ended_at=from_ms_or_none(row.ended_at),
    )


class CallRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def lock_users(self, user_ids: Iterable[int]) -> None:
        """Lock the users' rows (in id order) so that busy checks of concurrent calls serialize."""
        ids = sorted(set(user_ids))
        await self._session.execute(
            select(UserRow.id).where(UserRow.id.in_(ids)).order_by(UserRow.id).with_for_update()
        )

    async def create(
        self,
        *,
        call_id: str,
        caller: UserRecord,
        caller_device_id: str,
        callee: UserRecord,
        state: str,
        encryption: str,
        reasons: str,
        rung_devices: Sequence[str],
        deadline: datetime | None,
        end_reason: str | None,
        now: datetime,
    ) -> CallRecord:
        if await self._session.get(CallRow, call_id) is not None:
            raise AlreadyExists("a call with this id exists", call_id)
        self._session.add(
            CallRow(
                id=call_id,
                caller_user_id=caller.id,
                caller_device_id=caller_device_id,
                callee_user_id=callee.id,
                state=state,
                encryption=encryption,
                reasons=reasons,
                rung_devices=json.dumps(list(rung_devices)),
                end_reason=end_reason,
                deadline=None if deadline is None else to_ms(deadline),
                created_at=to_ms(now),
                updated_at=to_ms(now),
                ended_at=to_ms(now) if state == "ended" else None,
            )
        )
        await self._session.flush()
        return await self.get(call_id)

    async def get(self, call_id: str, *, for_update: bool = False) -> CallRecord:
        statement = (
            select(CallRow, _Caller, _Callee)
            .join(_Caller, _Caller.id == CallRow.caller_user_id)
            .join(_Callee, _Callee.id == CallRow.callee_user_id)
            .where(CallRow.id == call_id)
        )
        if for_update:
            statement = statement.with_for_update(of=CallRow)
        found = (await self._session.execute(statement)).one_or_none()
        if found is None:
            raise NotFound("no such call", call_id)
        return _call(found[0], found[1], found[2])

    async def update(
        self,
        call_id: str,
        *,
        now: datetime,
        state: str | None = None,
        end_reason: str | None = None,
        answered_device_id: str | None = None,
        deadline: datetime | None = None,
        clear_deadline: bool = False,
        recording_id: str | None = None,
    ) -> CallRecord:
        values: dict[str, object] = {"updated_at": to_ms(now)}
        if state is not None:
            values["state"] = state
            if state == "ended":
                values["ended_at"] = to_ms(now)
                values["deadline"] = None
        if end_reason is not None:
            values["end_reason"] = end_reason
        if answered_device_id is not None:
            values["answered_device_id"] = answered_device_id
        if deadline is not None:
            values["deadline"] = to_ms(deadline)
        elif clear_deadline:
            values["deadline"] = None
        if recording_id is not None:
            values["recording_id"] = recording_id
        await self._session.execute(update(CallRow).where(CallRow.id == call_id).values(**values))
        return await self.get(call_id)

    async def occupying(self, user_ids: Iterable[int], *, now: datetime) -> list[str]:
        """Calls that occupy the line of any of the users (a call whose ring or connect timeout
        passed does not, even before the sweep ends it)."""
        ids = list(user_ids)
        statement = select(CallRow.id).where(
            CallRow.state.in_(LINE_STATES),
            or_(CallRow.caller_user_id.in_(ids), CallRow.callee_user_id.in_(ids)),
            or_(CallRow.deadline.is_(None), CallRow.deadline > to_ms(now)),
        )
        return list(await self._session.scalars(statement))

    async def due(self, now: datetime) -> list[str]:
        """Ringing or connecting calls whose deadline has passed."""
        statement = (
            select(CallRow.id)
            .where(CallRow.state.in_(DEADLINE_STATES), CallRow.deadline <= to_ms(now))
            .order_by(CallRow.deadline)
            .limit(MAX_DUE)
        )
        return list(await self._session.scalars(statement))

    async def of_device(self, device_id: str) -> list[str]:
        """Unended calls the device placed, rings for or answered."""
        statement = (
            select(CallRow.id)
            .where(
                CallRow.state.in_(LINE_STATES),
                or_(
                    CallRow.caller_device_id == device_id,
                    CallRow.answered_device_id == device_id,
                    CallRow.rung_devices.contains(device_id),
                ),
            )
            .limit(MAX_DUE)
        )
        return list(await self._session.scalars(statement))

    async def prune_ended(self, before: datetime) -> int:
        result = await self._session.execute(
            delete(CallRow).where(CallRow.state == "ended", CallRow.ended_at < to_ms(before))
        )
        return int(getattr(result, "rowcount", 0) or 0)


class RecordingRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def create(self, *, recording_id: str, call_id: str, now: datetime) -> RecordingRecord:
        self._session.add(RecordingRow(id=recording_id, call_id=call_id, state="recording", started_at=to_ms(now)))
        await self._session.flush()
        return await self.get(recording_id)

    async def get(self, recording_id: str) -> RecordingRecord:
        row = await self._session.get(RecordingRow, recording_id)
        if row is None:
            raise NotFound("no such recording", recording_id)
        return await self._record(row)

    async def _record(self, row: RecordingRow) -> RecordingRecord:
        frames, size = (
            await self._session.execute(
                select(
                    func.coalesce(func.sum(RecordingChunkRow.frames), 0),
                    func.coalesce(func.sum(RecordingChunkRow.bytes), 0),
                ).where(RecordingChunkRow.recording_id == row.id)
            )
        ).one()
        return RecordingRecord(
            recording_id=row.id,
            call_id=row.call_id,
            state=row.state,
            started_at=from_ms(row.started_at),
            ended_at=from_ms_or_none(row.ended_at),
            frames=int(frames),
            bytes=int(size),
        )

    async def of_call(self, call_id: str) -> list[RecordingRecord]:
        rows = await self._session.scalars(
            select(RecordingRow).where(RecordingRow.call_id == call_id).order_by(RecordingRow.started_at)
        )
        return [await self._record(row) for row in rows]

    async def add_chunk(
        self, recording_id: str, *, sealed_record_id: int, frames: int, size: int, now: datetime
    ) -> None:
        self._session.add(
            RecordingChunkRow(
                recording_id=recording_id,
                sealed_record_id=sealed_record_id,
                frames=frames,
                bytes=size,
                created_at=to_ms(now),
            )
        )
        await self._session.flush()

    async def chunk_records(self, recording_id: str) -> list[int]:
        """The sealed records of the recording's chunks, in the order they were stored."""
        statement = (
            select(RecordingChunkRow.sealed_record_id)
            .where(RecordingChunkRow.recording_id == recording_id)
            .order_by(RecordingChunkRow.id)
        )
        return list(await self._session.scalars(statement))

    async def finish(self, recording_id: str, *, now: datetime) -> None:
        await self._session.execute(
            update(RecordingRow)
            .where(RecordingRow.id == recording_id, RecordingRow.state == "recording")
            .values(state="complete", ended_at=to_ms(now))
        )
