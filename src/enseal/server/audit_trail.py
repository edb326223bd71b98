"""Every admin and policy action is audited, whether it succeeds or is refused (docs/server.md,
"Audit log"). Metadata only: actor, action, tenant, target, result and the refusal's reason."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from enseal.errors import EnsealError
from enseal.server.errors import classify
from enseal.server.state import ServerState
from enseal.storage import Transaction

log = logging.getLogger("enseal.server.audit")


@asynccontextmanager
async def audited(
    state: ServerState, *, actor: str, action: str, tenant: str | None, target: str | None = None
) -> AsyncIterator[Transaction]:
    """A transaction for one admin action. Its audit entry commits with it ("ok"); if the action
    fails, the transaction rolls back and a "refused:<code>" entry is written on its own."""
    try:
        async with state.store.transaction() as tx:
            yield tx
            await tx.audit.record(
                at=state.clock(), actor=actor, action=action, tenant_id=tenant, target=target, result="ok"
            )
    except EnsealError as error:
        _status, detail = classify(error)
        try:
            async with state.store.transaction() as tx:
                await tx.audit.record(
                    at=state.clock(),
                    actor=actor,
                    action=action,
                    tenant_id=tenant,
                    target=target,
                    result=f"refused:{detail.code.value}",
                    detail=detail.reason,
                )
        except EnsealError:
            log.exception("could not audit a refused %s", action)
        raise
