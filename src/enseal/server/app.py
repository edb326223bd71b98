"""The ASGI application of the Enseal server (ARCHITECTURE.md section 4): REST under ``/v1``
with its OpenAPI document at ``/openapi.json``, and the device WebSocket at ``/v1/ws``.

``create_app(state)`` serves an already opened :class:`ServerState` (tests, in-process);
``create_app(opener=...)`` opens one when the server starts, runs its background tasks
(:mod:`enseal.server.background`) and closes it when it stops (``enseal server run``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI

from enseal import __version__
from enseal.errors import LocalProtocolError
from enseal.server.api import admin, calls, devices, events, groups, key_directory, mailbox, meta, policy
from enseal.server.background import start_background_tasks, stop_background_tasks
from enseal.server.body_limit import BodyLimit
from enseal.server.errors import install_error_handlers
from enseal.server.state import ServerState
from enseal.wire import ErrorBody

DESCRIPTION = """\
The Enseal server API, version 1. The server routes and enforces policy; it never holds a key
that decrypts an end-to-end encrypted message or media frame. See docs/protocol.md.

Errors are 4xx JSON bodies `{"error": {"code", "reason", "detail", ...}}`.
"""


def create_app(
    state: ServerState | None = None, *, opener: Callable[[], Awaitable[ServerState]] | None = None
) -> FastAPI:
    if (state is None) == (opener is None):
        raise LocalProtocolError("create_app takes either an opened state or an opener")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if opener is None:
            yield
            return
        opened = await opener()
        app.state.enseal = opened
        tasks = start_background_tasks(opened)
        try:
            yield
        finally:
            await stop_background_tasks(tasks)
            await opened.close()

    app = FastAPI(
        title="Enseal",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        responses={
            "4XX": {"model": ErrorBody, "description": "refused: see error.code"},
        },
    )
    if state is not None:
        app.state.enseal = state
    install_error_handlers(app)
    for router in (
        meta.router,
        admin.router,
        devices.router,
        key_directory.router,
        policy.router,
        events.router,
        groups.router,
        mailbox.router,
        calls.router,
    ):
        app.include_router(router)
    app.add_middleware(BodyLimit)
    return app
