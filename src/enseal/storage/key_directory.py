"""Repository of the key directory: KeyPackages per device and cipher suite (RFC 9420 section
10; RFC 9750 section 5.3.4 on last-resort packages).

A one-time package is handed out once and deleted in the same transaction; the last-resort
package (at most one per device and suite) is handed out when no one-time package is left and is
kept. Expired packages are never handed out.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from enseal.storage.errors import AlreadyExists, Conflict
from enseal.storage.models import KeyPackageRow
from enseal.storage.records import KeyPackageRecord, KeyPackageStock
from enseal.storage.timestamps import from_ms, to_ms

MAX_ONE_TIME_PER_DEVICE_SUITE = 500
"""Most one-time KeyPackages one device may hold for one cipher suite."""
CLAIM_ATTEMPTS = 8
"""Tries to take a one-time package when concurrent claims race for the same rows."""


def _record(row: KeyPackageRow) -> KeyPackageRecord:
    return KeyPackageRecord(
        device_id=row.device_id,
        cipher_suite=row.cipher_suite,
        ref=row.ref,
        data=row.data,
        not_after=from_ms(row.not_after),
        last_resort=row.last_resort,
    )


class KeyPackageRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, package: KeyPackageRecord, *, now: datetime) -> None:
        if await self._session.scalar(select(KeyPackageRow.id).where(KeyPackageRow.ref == package.ref)) is not None:
            raise AlreadyExists("a KeyPackage with this KeyPackageRef was already published", package.ref.hex())
        if package.last_resort:
            await self._session.execute(
                delete(KeyPackageRow).where(
                    KeyPackageRow.device_id == package.device_id,
                    KeyPackageRow.cipher_suite == package.cipher_suite,
                    KeyPackageRow.last_resort.is_(True),
                )
            )
        else:
            held = await self._session.scalar(
                select(func.count()).where(
                    KeyPackageRow.device_id == package.device_id,
                    KeyPackageRow.cipher_suite == package.cipher_suite,
                    KeyPackageRow.last_resort.is_(False),
                )
            )
            if int(held or 0) >= MAX_ONE_TIME_PER_DEVICE_SUITE:
                raise Conflict(
                    f"a device holds at most {MAX_ONE_TIME_PER_DEVICE_SUITE} one-time KeyPackages per cipher suite"
                )
        self._session.add(
            KeyPackageRow(
                device_id=package.device_id,
                cipher_suite=package.cipher_suite,
                ref=package.ref,
                data=package.data,
                not_after=to_ms(package.not_after),
                last_resort=package.last_resort,
                created_at=to_ms(now),
            )
        )
        await self._session.flush()

    async def stock(self, device_id: str, *, now: datetime) -> list[KeyPackageStock]:
        statement = (
            select(KeyPackageRow.cipher_suite, KeyPackageRow.last_resort, func.count())
            .where(KeyPackageRow.device_id == device_id, KeyPackageRow.not_after > to_ms(now))
            .group_by(KeyPackageRow.cipher_suite, KeyPackageRow.last_resort)
        )
        one_time: dict[int, int] = {}
        last_resort: set[int] = set()
        for suite, is_last_resort, count in (await self._session.execute(statement)).all():
            if is_last_resort:
                last_resort.add(suite)
            else:
                one_time[suite] = int(count)
        return [
            KeyPackageStock(cipher_suite=suite, one_time=one_time.get(suite, 0), last_resort=suite in last_resort)
            for suite in sorted(one_time.keys() | last_resort)
        ]

    async def claim(self, device_id: str, cipher_suite: int, *, now: datetime) -> KeyPackageRecord | None:
        """Take the oldest unexpired one-time package (deleting it), else the last-resort one."""
        await self._session.execute(
            delete(KeyPackageRow).where(KeyPackageRow.device_id == device_id, KeyPackageRow.not_after <= to_ms(now))
        )
        base = select(KeyPackageRow).where(
            KeyPackageRow.device_id == device_id, KeyPackageRow.cipher_suite == cipher_suite
        )
        for _ in range(CLAIM_ATTEMPTS):
            row = (
                await self._session.scalars(
                    base.where(KeyPackageRow.last_resort.is_(False)).order_by(KeyPackageRow.id).limit(1)
                )
            ).first()
            if row is None:
                break
            record = _record(row)
            result = await self._session.execute(delete(KeyPackageRow).where(KeyPackageRow.id == row.id))
            if getattr(result, "rowcount", 0) == 1:
                return record
        row = (await self._session.scalars(base.where(KeyPackageRow.last_resort.is_(True)).limit(1))).first()
        return None if row is None else _record(row)
