"""Repositories of admin API keys and the one-time bootstrap token (decision record 0505)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from enseal.storage.accounts import user_record
from enseal.storage.errors import Conflict
from enseal.storage.models import AdminKeyRow, BootstrapTokenRow, UserRow
from enseal.storage.records import AdminKeyRecord, UserRecord
from enseal.storage.timestamps import from_ms, to_ms

OPERATOR = "operator"
TENANT_ADMIN = "tenant_admin"


class AdminKeyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def create(
        self, *, key_id: str, key_digest: bytes, role: str, user: UserRecord | None, label: str, now: datetime
    ) -> AdminKeyRecord:
        row = AdminKeyRow(
            id=key_id,
            key_digest=key_digest,
            role=role,
            tenant_id=None if user is None else user.tenant_id,
            user_id=None if user is None else user.id,
            label=label,
            created_at=to_ms(now),
        )
        self._session.add(row)
        await self._session.flush()
        return AdminKeyRecord(key_id=key_id, role=role, tenant_id=row.tenant_id, user=user, label=label, created_at=now)

    async def find(self, key_digest: bytes) -> AdminKeyRecord | None:
        """The unrevoked key with this digest. A tenant-admin key whose user lost the role is no key."""
        statement = (
            select(AdminKeyRow, UserRow)
            .outerjoin(UserRow, UserRow.id == AdminKeyRow.user_id)
            .where(AdminKeyRow.key_digest == key_digest, AdminKeyRow.revoked_at.is_(None))
        )
        found = (await self._session.execute(statement)).one_or_none()
        if found is None:
            return None
        row, user = found
        if row.role == TENANT_ADMIN and (user is None or not user.tenant_admin):
            return None
        return AdminKeyRecord(
            key_id=row.id,
            role=row.role,
            tenant_id=row.tenant_id,
            user=None if user is None else user_record(user),
            label=row.label,
            created_at=from_ms(row.created_at),
        )


class BootstrapRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, *, digest: bytes, now: datetime) -> None:
        self._session.add(BootstrapTokenRow(digest=digest, created_at=to_ms(now)))
        await self._session.flush()

    async def consume(self, digest: bytes, *, now: datetime) -> None:
        result = await self._session.execute(
            update(BootstrapTokenRow)
            .where(BootstrapTokenRow.digest == digest, BootstrapTokenRow.used_at.is_(None))
            .values(used_at=to_ms(now))
        )
        if getattr(result, "rowcount", 0) != 1:
            raise Conflict("the bootstrap token is unknown or was already used")
