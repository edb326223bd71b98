"""Repository of sealed records: sensitive values that are not end-to-end ciphertext (the
server's signing key, the media keys of standard-encryption calls, recordings), each encrypted
with its own AES-256-GCM data key wrapped by the KEK (:mod:`enseal.storage.keyring`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from enseal.crypto.envelope import open_record, seal_record
from enseal.storage.errors import NotFound
from enseal.storage.keyring import Keyring
from enseal.storage.models import DataKeyRow, SealedRecordRow
from enseal.storage.timestamps import to_ms


def _context(purpose: str, data_key_id: int) -> bytes:
    return f"sealed_records|{purpose}|{data_key_id}".encode()


class SealedRecordRepository:
    def __init__(self, session: AsyncSession, keyring: Keyring) -> None:
        self._session = session
        self._keyring = keyring

    async def seal(self, *, purpose: str, plaintext: bytes, now: datetime, name: str | None = None) -> int:
        """Store ``plaintext`` encrypted; returns the record id. A ``name`` replaces its previous record."""
        if name is not None:
            await self.delete_named(name)
        data_key, wrapped = self._keyring.new_data_key()
        key_row = DataKeyRow(kek_id=self._keyring.kek_id, wrapped=wrapped, created_at=to_ms(now))
        self._session.add(key_row)
        await self._session.flush()
        ciphertext = seal_record(
            data_key, plaintext, context=_context(purpose, key_row.id), random_bytes=self._keyring.random_bytes
        )
        row = SealedRecordRow(
            name=name, purpose=purpose, data_key_id=key_row.id, ciphertext=ciphertext, created_at=to_ms(now)
        )
        self._session.add(row)
        await self._session.flush()
        return row.id

    async def open(self, record_id: int) -> bytes:
        return await self._open(SealedRecordRow.id == record_id, str(record_id))

    async def open_named(self, name: str) -> bytes:
        return await self._open(SealedRecordRow.name == name, name)

    async def _open(self, condition: ColumnElement[bool], what: str) -> bytes:
        query = (
            select(SealedRecordRow, DataKeyRow)
            .join(DataKeyRow, DataKeyRow.id == SealedRecordRow.data_key_id)
            .where(condition)
        )
        found = (await self._session.execute(query)).one_or_none()
        if found is None:
            raise NotFound("no such sealed record", what)
        record, key_row = found
        data_key = self._keyring.unwrap(kek_id=key_row.kek_id, wrapped=key_row.wrapped)
        return open_record(data_key, record.ciphertext, context=_context(record.purpose, key_row.id))

    async def delete_named(self, name: str) -> None:
        """Delete the named record and its data key (nothing if there is none)."""
        key_id = await self._session.scalar(select(SealedRecordRow.data_key_id).where(SealedRecordRow.name == name))
        if key_id is not None:
            await self._session.execute(delete(SealedRecordRow).where(SealedRecordRow.name == name))
            await self._session.execute(delete(DataKeyRow).where(DataKeyRow.id == key_id))
