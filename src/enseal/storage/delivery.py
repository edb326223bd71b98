"""Repository of the MLS delivery service: the groups the server follows (public view, latest
GroupInfo), their access lists and rosters, and each group's items in delivery order -- the
handshake log, the application-message history and Welcomes (docs/protocol.md, "Groups and
delivery").

Items are numbered per group (``group_seq``) from the group row's counter, so the caller must
hold the group row (``get(..., for_update=True)``) while appending: that lock is also what makes
"the first valid commit for an epoch wins" hold across server nodes; the unique
``(group_id, commit_epoch)`` constraint backs it up. Retention bounds are enforced on append.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from enseal.storage.accounts import MAX_LIST, user_record
from enseal.storage.errors import AlreadyExists, NotFound
from enseal.storage.models import DeviceRow, GroupItemRow, MlsGroupMemberRow, MlsGroupRow, MlsGroupUserRow, UserRow
from enseal.storage.records import GroupItemRecord, GroupMemberRecord, MlsGroupRecord, UserRecord
from enseal.storage.timestamps import from_ms, to_ms

MAX_LOG_EPOCHS: Final = 1000
"""Handshakes of this many most recent epochs are kept; a device further behind rejoins."""
MAX_HISTORY_MESSAGES: Final = 10_000
"""Application messages kept per group (the newest)."""
HISTORY_RETENTION: Final = timedelta(days=90)
"""Application messages and Welcomes older than this are deleted."""

HANDSHAKE_KINDS: Final = ("proposal", "commit")
APPLICATION: Final = "application"
WELCOME: Final = "welcome"


def _group(row: MlsGroupRow) -> MlsGroupRecord:
    return MlsGroupRecord(
        group_id=row.id,
        kind=row.kind,
        tenant_id=row.tenant_id,
        created_by=row.created_by,
        created_at=from_ms(row.created_at),
        epoch=row.epoch,
        view=row.view,
        group_info=row.group_info,
    )


def item_record(row: GroupItemRow) -> GroupItemRecord:
    return GroupItemRecord(
        id=row.id,
        group_id=row.group_id,
        group_seq=row.group_seq,
        kind=row.kind,
        epoch=row.epoch,
        sender_device_id=row.sender_device_id,
        sender=row.sender,
        client_message_id=row.client_message_id,
        removes_leaf=row.removes_leaf,
        data=row.data,
        created_at=from_ms(row.created_at),
    )


class MlsGroupRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    # -- groups ----------------------------------------------------------------------------------

    async def create(
        self,
        *,
        group_id: str,
        kind: str,
        tenant_id: str,
        created_by: str,
        epoch: int,
        view: bytes,
        group_info: bytes,
        user_ids: Iterable[int],
        members: Sequence[GroupMemberRecord],
        now: datetime,
        conversation_key: str | None = None,
    ) -> MlsGroupRecord:
        """A new group; ``conversation_key`` (unique) keeps one group per set of users."""
        if await self._session.get(MlsGroupRow, group_id) is not None:
            raise AlreadyExists("a group with this MLS group_id is registered", group_id)
        if conversation_key is not None:
            existing = await self._session.scalar(
                select(MlsGroupRow.id).where(MlsGroupRow.conversation_key == conversation_key)
            )
            if existing is not None:
                raise AlreadyExists("a group of this kind with exactly these users exists", existing)
        row = MlsGroupRow(
            id=group_id,
            kind=kind,
            conversation_key=conversation_key,
            tenant_id=tenant_id,
            created_by=created_by,
            created_at=to_ms(now),
            updated_at=to_ms(now),
            epoch=epoch,
            next_seq=1,
            view=view,
            group_info=group_info,
        )
        self._session.add(row)
        await self._session.flush()
        self._session.add_all(MlsGroupUserRow(group_id=group_id, user_id=user_id) for user_id in set(user_ids))
        await self.replace_members(group_id, members)
        return _group(row)

    async def get(self, group_id: str, *, for_update: bool = False) -> MlsGroupRecord:
        """The group; ``for_update`` locks its row until the transaction ends (PostgreSQL; SQLite
        transactions are serialized anyway)."""
        statement = select(MlsGroupRow).where(MlsGroupRow.id == group_id)
        if for_update:
            statement = statement.with_for_update()
        row = (await self._session.execute(statement)).scalar_one_or_none()
        if row is None:
            raise NotFound("no such group", group_id)
        return _group(row)

    async def save_state(
        self, group_id: str, *, epoch: int, view: bytes, group_info: bytes | None, now: datetime
    ) -> None:
        values: dict[str, object] = {"epoch": epoch, "view": view, "updated_at": to_ms(now)}
        if group_info is not None:
            values["group_info"] = group_info
        await self._session.execute(update(MlsGroupRow).where(MlsGroupRow.id == group_id).values(**values))

    # -- access list and roster ---------------------------------------------------------------------

    async def users(self, group_id: str) -> list[UserRecord]:
        statement = (
            select(UserRow)
            .join(MlsGroupUserRow, MlsGroupUserRow.user_id == UserRow.id)
            .where(MlsGroupUserRow.group_id == group_id)
            .order_by(UserRow.tenant_id, UserRow.name)
        )
        return [user_record(row) for row in await self._session.scalars(statement)]

    async def user_ids(self, group_id: str) -> set[int]:
        statement = select(MlsGroupUserRow.user_id).where(MlsGroupUserRow.group_id == group_id)
        return set(await self._session.scalars(statement))

    async def forget_conversation_key(self, group_id: str) -> None:
        """The access list changed: the group no longer stands for exactly its original users."""
        await self._session.execute(update(MlsGroupRow).where(MlsGroupRow.id == group_id).values(conversation_key=None))

    async def add_users(self, group_id: str, user_ids: Iterable[int]) -> None:
        new = set(user_ids) - await self.user_ids(group_id)
        self._session.add_all(MlsGroupUserRow(group_id=group_id, user_id=user_id) for user_id in new)
        await self._session.flush()

    async def remove_users(self, group_id: str, user_ids: Iterable[int]) -> None:
        await self._session.execute(
            delete(MlsGroupUserRow).where(
                MlsGroupUserRow.group_id == group_id, MlsGroupUserRow.user_id.in_(list(user_ids))
            )
        )

    async def members(self, group_id: str) -> list[GroupMemberRecord]:
        statement = (
            select(MlsGroupMemberRow)
            .where(MlsGroupMemberRow.group_id == group_id)
            .order_by(MlsGroupMemberRow.leaf_index)
        )
        return [
            GroupMemberRecord(leaf_index=row.leaf_index, device_id=row.device_id, user_id=row.user_id)
            for row in await self._session.scalars(statement)
        ]

    async def replace_members(self, group_id: str, members: Sequence[GroupMemberRecord]) -> None:
        await self._session.execute(delete(MlsGroupMemberRow).where(MlsGroupMemberRow.group_id == group_id))
        self._session.add_all(
            MlsGroupMemberRow(group_id=group_id, leaf_index=m.leaf_index, device_id=m.device_id, user_id=m.user_id)
            for m in members
        )
        await self._session.flush()

    async def groups_of_device(self, device_id: str) -> list[str]:
        """Groups whose roster holds ``device_id``."""
        statement = (
            select(MlsGroupMemberRow.group_id)
            .where(MlsGroupMemberRow.device_id == device_id)
            .distinct()
            .order_by(MlsGroupMemberRow.group_id)
            .limit(MAX_LIST)
        )
        return list(await self._session.scalars(statement))

    async def groups_of_user(self, user_id: int) -> list[str]:
        """Groups whose access list holds ``user_id``."""
        statement = (
            select(MlsGroupUserRow.group_id)
            .where(MlsGroupUserRow.user_id == user_id)
            .order_by(MlsGroupUserRow.group_id)
            .limit(MAX_LIST)
        )
        return list(await self._session.scalars(statement))

    async def get_many(self, group_ids: Iterable[str]) -> list[MlsGroupRecord]:
        statement = select(MlsGroupRow).where(MlsGroupRow.id.in_(list(group_ids))).order_by(MlsGroupRow.id)
        return [_group(row) for row in await self._session.scalars(statement)]

    async def groups_with_revoked_members(self) -> list[str]:
        """Groups whose roster still holds a revoked device (the server proposes their removal)."""
        statement = (
            select(MlsGroupMemberRow.group_id)
            .join(DeviceRow, DeviceRow.id == MlsGroupMemberRow.device_id)
            .where(DeviceRow.revoked_at.is_not(None))
            .distinct()
            .limit(MAX_LIST)
        )
        return list(await self._session.scalars(statement))

    # -- items -------------------------------------------------------------------------------------

    async def append(
        self,
        group_id: str,
        *,
        kind: str,
        epoch: int,
        sender_device_id: str | None,
        sender: str,
        data: bytes,
        now: datetime,
        client_message_id: str | None = None,
        commit_epoch: int | None = None,
        removes_leaf: int | None = None,
    ) -> GroupItemRecord:
        """Append an item with the group's next ``group_seq`` (hold the group row locked)."""
        seq = await self._session.scalar(
            update(MlsGroupRow)
            .where(MlsGroupRow.id == group_id)
            .values(next_seq=MlsGroupRow.next_seq + 1)
            .returning(MlsGroupRow.next_seq)
        )
        if seq is None:
            raise NotFound("no such group", group_id)
        row = GroupItemRow(
            group_id=group_id,
            group_seq=int(seq) - 1,
            kind=kind,
            epoch=epoch,
            sender_device_id=sender_device_id,
            sender=sender,
            client_message_id=client_message_id,
            commit_epoch=commit_epoch,
            removes_leaf=removes_leaf,
            data=data,
            created_at=to_ms(now),
        )
        self._session.add(row)
        await self._session.flush()
        return item_record(row)

    async def commit_of_epoch(self, group_id: str, epoch: int) -> GroupItemRecord | None:
        """The commit that ended ``epoch``, if it is still kept."""
        statement = select(GroupItemRow).where(GroupItemRow.group_id == group_id, GroupItemRow.commit_epoch == epoch)
        row = (await self._session.execute(statement)).scalar_one_or_none()
        return None if row is None else item_record(row)

    async def message_by_client_id(
        self, group_id: str, sender_device_id: str, client_message_id: str
    ) -> GroupItemRecord | None:
        statement = select(GroupItemRow).where(
            GroupItemRow.group_id == group_id,
            GroupItemRow.sender_device_id == sender_device_id,
            GroupItemRow.client_message_id == client_message_id,
        )
        row = (await self._session.execute(statement)).scalar_one_or_none()
        return None if row is None else item_record(row)

    async def server_removals(self, group_id: str, epoch: int) -> set[int]:
        """Leaves the server proposed to remove in ``epoch``."""
        statement = select(GroupItemRow.removes_leaf).where(
            GroupItemRow.group_id == group_id, GroupItemRow.epoch == epoch, GroupItemRow.removes_leaf.is_not(None)
        )
        return {int(leaf) for leaf in await self._session.scalars(statement) if leaf is not None}

    async def log(self, group_id: str, *, since_epoch: int, after: int, limit: int) -> list[GroupItemRecord]:
        """Handshakes sent in ``since_epoch`` or later with ``group_seq > after``, in order."""
        statement = (
            select(GroupItemRow)
            .where(
                GroupItemRow.group_id == group_id,
                GroupItemRow.kind.in_(HANDSHAKE_KINDS),
                GroupItemRow.epoch >= since_epoch,
                GroupItemRow.group_seq > after,
            )
            .order_by(GroupItemRow.group_seq)
            .limit(limit)
        )
        return [item_record(row) for row in await self._session.scalars(statement)]

    async def oldest_log_epoch(self, group_id: str) -> int | None:
        statement = select(func.min(GroupItemRow.epoch)).where(
            GroupItemRow.group_id == group_id, GroupItemRow.kind.in_(HANDSHAKE_KINDS)
        )
        value = await self._session.scalar(statement)
        return None if value is None else int(value)

    async def history(self, group_id: str, *, after: int, limit: int) -> list[GroupItemRecord]:
        """Application messages with ``group_seq > after``, oldest first."""
        statement = (
            select(GroupItemRow)
            .where(GroupItemRow.group_id == group_id, GroupItemRow.kind == APPLICATION, GroupItemRow.group_seq > after)
            .order_by(GroupItemRow.group_seq)
            .limit(limit)
        )
        return [item_record(row) for row in await self._session.scalars(statement)]

    async def prune(self, group_id: str, *, epoch: int, now: datetime) -> None:
        """Enforce the retention bounds of one group (its mailbox entries go with the items)."""
        await self._session.execute(
            delete(GroupItemRow).where(
                GroupItemRow.group_id == group_id,
                GroupItemRow.kind.in_(HANDSHAKE_KINDS),
                GroupItemRow.epoch < epoch - MAX_LOG_EPOCHS,
            )
        )
        await self._session.execute(
            delete(GroupItemRow).where(
                GroupItemRow.group_id == group_id,
                GroupItemRow.kind.in_((APPLICATION, WELCOME)),
                GroupItemRow.created_at < to_ms(now - HISTORY_RETENTION),
            )
        )
        newest_dropped = await self._session.scalar(
            select(GroupItemRow.group_seq)
            .where(GroupItemRow.group_id == group_id, GroupItemRow.kind == APPLICATION)
            .order_by(GroupItemRow.group_seq.desc())
            .offset(MAX_HISTORY_MESSAGES)
            .limit(1)
        )
        if newest_dropped is not None:
            await self._session.execute(
                delete(GroupItemRow).where(
                    GroupItemRow.group_id == group_id,
                    GroupItemRow.kind == APPLICATION,
                    GroupItemRow.group_seq <= newest_dropped,
                )
            )
