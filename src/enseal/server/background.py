"""The server's periodic work, run by ``create_app(opener=...)`` while a real server runs: call
ring and connect timeouts, removal proposals for revoked group members still in a roster (after
a crash or an epoch that ended without them), and deletion of old call records.

Every node runs them; each step locks the rows it changes, so nodes do not trip over each other.
In-process tests call the steps directly (``expire_due_calls``, ``reconcile_revoked_members``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Final

from enseal.errors import EnsealError
from enseal.server.calls import CALL_HISTORY, expire_due_calls
from enseal.server.delivery import reconcile_revoked_members
from enseal.server.state import ServerState

log = logging.getLogger("enseal.server.background")

CALL_TIMEOUT_INTERVAL: Final = 1.0
"""Seconds between two sweeps for calls whose ring or connect timeout passed."""
RECONCILE_INTERVAL: Final = 60.0
"""Seconds between two sweeps for revoked devices still in a group's roster."""
PRUNE_INTERVAL: Final = 3600.0
"""Seconds between two deletions of call records older than CALL_HISTORY."""


async def _prune_calls(state: ServerState) -> None:
    async with state.store.transaction() as tx:
        await tx.calls.prune_ended(state.clock() - CALL_HISTORY)


async def _every(seconds: float, step: Callable[[], Awaitable[object]], name: str) -> None:
    while True:
        try:
            await step()
        except EnsealError:
            log.exception("background step %s failed; retrying later", name)
        await asyncio.sleep(seconds)


def start_background_tasks(state: ServerState) -> list[asyncio.Task[None]]:
    loop = asyncio.get_running_loop()
    return [
        loop.create_task(_every(CALL_TIMEOUT_INTERVAL, lambda: expire_due_calls(state), "call timeouts")),
        loop.create_task(_every(RECONCILE_INTERVAL, lambda: reconcile_revoked_members(state), "group removals")),
        loop.create_task(_every(PRUNE_INTERVAL, lambda: _prune_calls(state), "call records")),
    ]


async def stop_background_tasks(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task
