"""The ASGI application of the Enseal server (ARCHITECTURE.md section 4): REST under ``/v1``
with its OpenAPI document at ``/openapi.json``, and the device WebSocket at ``/v1/ws``.

``create_app(state)`` serves an already opened :class:`ServerState` (tests, in-process);
``create_app(opener=...)`` opens one when the server starts and closes it when it stops
(``enseal server run``). The delivery service (phase 2) adds its router here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI

from enseal import __version__
from enseal.errors import LocalProtocolError
from enseal.server.api import admin, devices, events, key_directory, meta, policy
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
        try:
            yield
        finally:
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
    for router in (meta.router, admin.router, devices.router, key_directory.router, policy.router, events.router):
        app.include_router(router)
    app.add_middleware(BodyLimit)
    return app
