"""Repository of the audit log: who did what to which target, when, and with what result.
Metadata only: never a token, a code, a key or message content."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from enseal.storage.models import AuditRow
from enseal.storage.records import AuditRecord
from enseal.storage.timestamps import from_ms, to_ms

MAX_AUDIT_PAGE = 500


def _clip(text: str | None, size: int) -> str | None:
    return None if text is None else text[:size]


class AuditRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def record(
        self,
        *,
        at: datetime,
        actor: str,
        action: str,
        tenant_id: str | None,
        target: str | None,
        result: str,
        detail: str | None = None,
    ) -> None:
        self._session.add(
            AuditRow(
                at=to_ms(at),
                actor=actor[:200],
                action=action[:64],
                tenant_id=_clip(tenant_id, 63),
                target=_clip(target, 300),
                result=result[:64],
                detail=_clip(detail, 500),
            )
        )
        await self._session.flush()

    async def page(self, *, tenant_id: str | None, before: int | None, limit: int) -> list[AuditRecord]:
        """Newest first; ``tenant_id`` None means every tenant (operators only)."""
        statement = select(AuditRow).order_by(AuditRow.id.desc()).limit(min(limit, MAX_AUDIT_PAGE))
        if tenant_id is not None:
            statement = statement.where(AuditRow.tenant_id == tenant_id)
        if before is not None:
            statement = statement.where(AuditRow.id < before)
        return [
            AuditRecord(
                id=row.id,
                at=from_ms(row.at),
                actor=row.actor,
                action=row.action,
                tenant_id=row.tenant_id,
                target=row.target,
                result=row.result,
                detail=row.detail,
            )
            for row in await self._session.scalars(statement)
        ]
