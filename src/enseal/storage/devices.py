"""Repositories of devices, sign-in challenges and device sessions (bearer-token digests)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from enseal.storage.accounts import MAX_LIST, user_record
from enseal.storage.errors import AlreadyExists, NotFound
from enseal.storage.models import (
    AuthChallengeRow,
    DeviceRow,
    DeviceSessionRow,
    KeyPackageRow,
    MailboxEntryRow,
    MailboxRow,
    UserRow,
)
from enseal.storage.records import ChallengeRecord, DeviceRecord, UserRecord
from enseal.storage.timestamps import from_ms, from_ms_or_none, to_ms

MAX_DEVICES_PER_USER = 32
"""Most active devices one user may register."""
MAX_OPEN_CHALLENGES_PER_DEVICE = 8
"""Unexpired sign-in challenges kept per device; older ones are dropped."""


def _device_record(row: DeviceRow, user: UserRow) -> DeviceRecord:
    return DeviceRecord(
        device_id=row.id,
        user=user_record(user),
        name=row.name,
        cipher_suite=row.cipher_suite,
        signature_key=row.signature_key,
        supports_e2ee=row.supports_e2ee,
        created_at=from_ms(row.created_at),
        revoked_at=from_ms_or_none(row.revoked_at),
    )


class DeviceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def create(
        self,
        *,
        device_id: str,
        user: UserRecord,
        name: str,
        cipher_suite: int,
        signature_key: bytes,
        supports_e2ee: bool,
        now: datetime,
    ) -> DeviceRecord:
        taken = await self._session.scalar(select(DeviceRow.id).where(DeviceRow.signature_key == signature_key))
        if taken is not None:
            raise AlreadyExists("the signature key is already registered to a device")
        row = DeviceRow(
            id=device_id,
            user_id=user.id,
            name=name,
            cipher_suite=cipher_suite,
            signature_key=signature_key,
            supports_e2ee=supports_e2ee,
            created_at=to_ms(now),
        )
        self._session.add(row)
        try:
            await self._session.flush()
        except IntegrityError as exc:
            raise AlreadyExists("the signature key is already registered to a device") from exc
        self._session.add(MailboxRow(device_id=device_id, last_seq=0, acked_seq=0, dropped_upto=0))
        await self._session.flush()
        return await self.get(device_id)

    async def count_active(self, user: UserRecord) -> int:
        statement = select(func.count()).where(DeviceRow.user_id == user.id, DeviceRow.revoked_at.is_(None))
        return int(await self._session.scalar(statement) or 0)

    async def get(self, device_id: str) -> DeviceRecord:
        statement = (
            select(DeviceRow, UserRow).join(UserRow, UserRow.id == DeviceRow.user_id).where(DeviceRow.id == device_id)
        )
        found = (await self._session.execute(statement)).one_or_none()
        if found is None:
            raise NotFound("no such device", device_id)
        return _device_record(found[0], found[1])

    async def get_many(self, device_ids: Iterable[str]) -> dict[str, DeviceRecord]:
        """The devices (revoked ones too) among ``device_ids`` that exist, by id."""
        ids = sorted(set(device_ids))
        if not ids:
            return {}
        statement = (
            select(DeviceRow, UserRow).join(UserRow, UserRow.id == DeviceRow.user_id).where(DeviceRow.id.in_(ids))
        )
        return {row.id: _device_record(row, user) for row, user in (await self._session.execute(statement)).all()}

    async def list_for_user(self, user: UserRecord, *, include_revoked: bool = True) -> list[DeviceRecord]:
        statement = (
            select(DeviceRow, UserRow)
            .join(UserRow, UserRow.id == DeviceRow.user_id)
            .where(DeviceRow.user_id == user.id)
            .order_by(DeviceRow.created_at, DeviceRow.id)
            .limit(MAX_LIST)
        )
        if not include_revoked:
            statement = statement.where(DeviceRow.revoked_at.is_(None))
        return [_device_record(row, user_row) for row, user_row in (await self._session.execute(statement)).all()]

    async def revoke(self, device: DeviceRecord, *, now: datetime) -> DeviceRecord:
        """Revoke the device: its sessions, challenges, KeyPackages and undelivered mailbox
        entries go with it, at once."""
        if device.revoked_at is None:
            await self._session.execute(
                update(DeviceRow).where(DeviceRow.id == device.device_id).values(revoked_at=to_ms(now))
            )
        for table in (DeviceSessionRow, AuthChallengeRow, KeyPackageRow, MailboxEntryRow):
            await self._session.execute(delete(table).where(table.device_id == device.device_id))
        return await self.get(device.device_id)


class ChallengeRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def create(
        self, *, challenge_id: str, device_id: str, nonce: bytes, expires_at: datetime, now: datetime
    ) -> None:
        await self._session.execute(
            delete(AuthChallengeRow).where(
                AuthChallengeRow.device_id == device_id, AuthChallengeRow.expires_at <= to_ms(now)
            )
        )
        open_ids = (
            await self._session.scalars(
                select(AuthChallengeRow.id)
                .where(AuthChallengeRow.device_id == device_id)
                .order_by(AuthChallengeRow.expires_at.desc())
                .offset(MAX_OPEN_CHALLENGES_PER_DEVICE - 1)
            )
        ).all()
        if open_ids:
            await self._session.execute(delete(AuthChallengeRow).where(AuthChallengeRow.id.in_(open_ids)))
        self._session.add(
            AuthChallengeRow(id=challenge_id, device_id=device_id, nonce=nonce, expires_at=to_ms(expires_at))
        )
        await self._session.flush()

    async def take(self, challenge_id: str, *, device_id: str, now: datetime) -> ChallengeRecord | None:
        """Remove and return the unexpired challenge, or None. A challenge is answered once."""
        row = await self._session.get(AuthChallengeRow, challenge_id)
        if row is None or row.device_id != device_id:
            return None
        record = ChallengeRecord(
            challenge_id=row.id, device_id=row.device_id, nonce=row.nonce, expires_at=from_ms(row.expires_at)
        )
        result = await self._session.execute(delete(AuthChallengeRow).where(AuthChallengeRow.id == challenge_id))
        if getattr(result, "rowcount", 0) != 1 or row.expires_at <= to_ms(now):
            return None
        return record


class SessionRepository:
    """Device sessions: the digest of each access token and its expiry."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def create(self, *, token_digest: bytes, device_id: str, now: datetime, expires_at: datetime) -> None:
        await self._session.execute(
            delete(DeviceSessionRow).where(
                DeviceSessionRow.device_id == device_id, DeviceSessionRow.expires_at <= to_ms(now)
            )
        )
        self._session.add(
            DeviceSessionRow(
                token_digest=token_digest, device_id=device_id, created_at=to_ms(now), expires_at=to_ms(expires_at)
            )
        )
        await self._session.flush()

    async def device_of(self, token_digest: bytes, *, now: datetime) -> tuple[DeviceRecord, datetime] | None:
        """The active device whose unexpired session has this token digest, and when the
        session expires; None if there is none."""
        statement = (
            select(DeviceRow, UserRow, DeviceSessionRow.expires_at)
            .join(DeviceSessionRow, DeviceSessionRow.device_id == DeviceRow.id)
            .join(UserRow, UserRow.id == DeviceRow.user_id)
            .where(
                DeviceSessionRow.token_digest == token_digest,
                DeviceSessionRow.expires_at > to_ms(now),
                DeviceRow.revoked_at.is_(None),
            )
        )
        found = (await self._session.execute(statement)).one_or_none()
        return None if found is None else (_device_record(found[0], found[1]), from_ms(found[2]))
