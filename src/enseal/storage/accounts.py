"""Repositories of tenants, users, groups and enrollment codes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from enseal.storage.errors import AlreadyExists, Conflict, NotFound
from enseal.storage.models import EnrollmentCodeRow, GroupMemberRow, GroupRow, TenantRow, UserRow
from enseal.storage.records import GroupRecord, TenantRecord, UserRecord
from enseal.storage.timestamps import from_ms, to_ms

MAX_LIST = 1000
"""Most rows one list call returns."""


def tenant_record(row: TenantRow) -> TenantRecord:
    return TenantRecord(tenant_id=row.id, kind=row.kind, e2ee=row.e2ee, created_at=from_ms(row.created_at))


def user_record(row: UserRow) -> UserRecord:
    return UserRecord(
        id=row.id,
        tenant_id=row.tenant_id,
        name=row.name,
        tenant_admin=row.tenant_admin,
        compliance_recording=row.compliance_recording,
        e2ee_calls_opted_in=row.e2ee_calls_opted_in,
        created_at=from_ms(row.created_at),
    )


class TenantRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def create(self, *, tenant_id: str, kind: str, e2ee: str, now: datetime) -> TenantRecord:
        if await self._session.get(TenantRow, tenant_id) is not None:
            raise AlreadyExists("a tenant of that id exists", tenant_id)
        row = TenantRow(id=tenant_id, kind=kind, e2ee=e2ee, created_at=to_ms(now))
        self._session.add(row)
        try:
            await self._session.flush()
        except IntegrityError as exc:
            raise AlreadyExists("a tenant of that id exists", tenant_id) from exc
        return tenant_record(row)

    async def get(self, tenant_id: str, *, for_update: bool = False) -> TenantRecord:
        statement = select(TenantRow).where(TenantRow.id == tenant_id)
        if for_update:
            statement = statement.with_for_update()
        row = (await self._session.execute(statement)).scalar_one_or_none()
        if row is None:
            raise NotFound("no such tenant", tenant_id)
        return tenant_record(row)

    async def list(self) -> list[TenantRecord]:
        rows = await self._session.scalars(select(TenantRow).order_by(TenantRow.id).limit(MAX_LIST))
        return [tenant_record(row) for row in rows]

    async def set_e2ee(self, tenant_id: str, e2ee: str) -> TenantRecord:
        await self.get(tenant_id)
        await self._session.execute(update(TenantRow).where(TenantRow.id == tenant_id).values(e2ee=e2ee))
        return await self.get(tenant_id)


class UserRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def create(
        self, *, tenant_id: str, name: str, tenant_admin: bool, compliance_recording: bool, now: datetime
    ) -> UserRecord:
        if await self._find(tenant_id, name) is not None:
            raise AlreadyExists("a user of that name exists in the tenant", f"{name}@{tenant_id}")
        row = UserRow(
            tenant_id=tenant_id,
            name=name,
            tenant_admin=tenant_admin,
            compliance_recording=compliance_recording,
            e2ee_calls_opted_in=False,
            created_at=to_ms(now),
        )
        self._session.add(row)
        try:
            await self._session.flush()
        except IntegrityError as exc:
            raise AlreadyExists("a user of that name exists in the tenant", f"{name}@{tenant_id}") from exc
        return user_record(row)

    async def _find(self, tenant_id: str, name: str) -> UserRow | None:
        statement = select(UserRow).where(UserRow.tenant_id == tenant_id, UserRow.name == name)
        return (await self._session.execute(statement)).scalar_one_or_none()

    async def get(self, tenant_id: str, name: str) -> UserRecord:
        row = await self._find(tenant_id, name)
        if row is None:
            raise NotFound("no such user", f"{name}@{tenant_id}")
        return user_record(row)

    async def get_by_id(self, user_id: int) -> UserRecord:
        row = await self._session.get(UserRow, user_id)
        if row is None:
            raise NotFound("no such user", str(user_id))
        return user_record(row)

    async def list(self, tenant_id: str) -> list[UserRecord]:
        statement = select(UserRow).where(UserRow.tenant_id == tenant_id).order_by(UserRow.name).limit(MAX_LIST)
        return [user_record(row) for row in await self._session.scalars(statement)]

    async def update(
        self,
        user: UserRecord,
        *,
        tenant_admin: bool | None = None,
        compliance_recording: bool | None = None,
        e2ee_calls_opted_in: bool | None = None,
    ) -> UserRecord:
        values = {
            key: value
            for key, value in (
                ("tenant_admin", tenant_admin),
                ("compliance_recording", compliance_recording),
                ("e2ee_calls_opted_in", e2ee_calls_opted_in),
            )
            if value is not None
        }
        if values:
            await self._session.execute(update(UserRow).where(UserRow.id == user.id).values(**values))
        return await self.get_by_id(user.id)


class GroupRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def create(self, *, tenant_id: str, name: str, now: datetime) -> GroupRecord:
        if await self._find(tenant_id, name) is not None:
            raise AlreadyExists("a group of that name exists in the tenant", f"{name}@{tenant_id}")
        row = GroupRow(tenant_id=tenant_id, name=name, created_at=to_ms(now))
        self._session.add(row)
        try:
            await self._session.flush()
        except IntegrityError as exc:
            raise AlreadyExists("a group of that name exists in the tenant", f"{name}@{tenant_id}") from exc
        return GroupRecord(id=row.id, tenant_id=tenant_id, name=name, members=())

    async def _find(self, tenant_id: str, name: str) -> GroupRow | None:
        statement = select(GroupRow).where(GroupRow.tenant_id == tenant_id, GroupRow.name == name)
        return (await self._session.execute(statement)).scalar_one_or_none()

    async def _record(self, row: GroupRow) -> GroupRecord:
        statement = (
            select(UserRow.name)
            .join(GroupMemberRow, GroupMemberRow.user_id == UserRow.id)
            .where(GroupMemberRow.group_id == row.id)
            .order_by(UserRow.name)
        )
        members = tuple((await self._session.scalars(statement)).all())
        return GroupRecord(id=row.id, tenant_id=row.tenant_id, name=row.name, members=members)

    async def get(self, tenant_id: str, name: str) -> GroupRecord:
        row = await self._find(tenant_id, name)
        if row is None:
            raise NotFound("no such group", f"{name}@{tenant_id}")
        return await self._record(row)

    async def list(self, tenant_id: str) -> list[GroupRecord]:
        statement = select(GroupRow).where(GroupRow.tenant_id == tenant_id).order_by(GroupRow.name).limit(MAX_LIST)
        return [await self._record(row) for row in (await self._session.scalars(statement)).all()]

    async def add_member(self, group: GroupRecord, user: UserRecord) -> GroupRecord:
        if user.tenant_id != group.tenant_id:
            raise Conflict("a group's members are users of its tenant", user.address)
        if user.name not in group.members:
            self._session.add(GroupMemberRow(group_id=group.id, user_id=user.id))
            await self._session.flush()
        return await self.get(group.tenant_id, group.name)

    async def remove_member(self, group: GroupRecord, user: UserRecord) -> GroupRecord:
        if user.name not in group.members:
            raise NotFound("the user is not a member of the group", f"{user.address} in {group.name}")
        await self._session.execute(
            delete(GroupMemberRow).where(GroupMemberRow.group_id == group.id, GroupMemberRow.user_id == user.id)
        )
        return await self.get(group.tenant_id, group.name)

    async def names_of_user(self, user: UserRecord) -> frozenset[str]:
        statement = (
            select(GroupRow.name)
            .join(GroupMemberRow, GroupMemberRow.group_id == GroupRow.id)
            .where(GroupMemberRow.user_id == user.id)
        )
        return frozenset((await self._session.scalars(statement)).all())


class EnrollmentRepository:
    """One-time enrollment codes, stored as digests."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, *, user: UserRecord, digest: bytes, now: datetime, expires_at: datetime) -> None:
        self._session.add(
            EnrollmentCodeRow(digest=digest, user_id=user.id, created_at=to_ms(now), expires_at=to_ms(expires_at))
        )
        await self._session.flush()

    async def consume(self, *, user: UserRecord, digest: bytes, device_id: str, now: datetime) -> None:
        """Mark the code used by ``device_id``; :class:`Conflict` unless it is this user's,
        unused and unexpired. The same refusal for every case, so codes cannot be probed."""
        result = await self._session.execute(
            update(EnrollmentCodeRow)
            .where(
                EnrollmentCodeRow.digest == digest,
                EnrollmentCodeRow.user_id == user.id,
                EnrollmentCodeRow.used_at.is_(None),
                EnrollmentCodeRow.expires_at > to_ms(now),
            )
            .values(used_at=to_ms(now), device_id=device_id)
        )
        if getattr(result, "rowcount", 0) != 1:
            raise Conflict("the enrollment code is unknown, used, expired or for another user")
