"""``/v1/ws``: one authenticated WebSocket per device (docs/protocol.md, "Events").

The device authenticates the upgrade request with ``Authorization: Bearer <access token>``; a
missing or bad token closes the handshake (HTTP 403). The server sends ``hello`` then every
notice the fan-out has for the device; it answers ``ping`` with ``pong``. The socket closes with
code 4401 when the access token expires (sign in again and reconnect), 4403 when the device is
revoked, 4408 when the device fell too far behind (reconnect and resynchronise).
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any, Final

import pydantic
from fastapi import APIRouter, WebSocket
from starlette.websockets import WebSocketDisconnect

from enseal.errors import EnsealError
from enseal.server.errors import classify
from enseal.server.fanout import Notice, Subscription
from enseal.server.principals import ACCESS_TOKEN_PREFIX, device_of_token
from enseal.server.state import ServerState
from enseal.wire import ClientFrame, EventEnvelope, EventType
from enseal.wire.errors import ErrorCode, ErrorDetail
from enseal.wire.events import MAX_CLIENT_FRAME_BYTES

router = APIRouter()

CLOSE_POLICY: Final = 1008
CLOSE_TOKEN_EXPIRED: Final = 4401
CLOSE_REVOKED: Final = 4403
CLOSE_OVERFLOW: Final = 4408


class _Connection:
    def __init__(self, websocket: WebSocket, state: ServerState) -> None:
        self.websocket = websocket
        self.state = state
        self.seq = 0

    async def send(self, type_: str, data: dict[str, Any], *, event_id: str | None = None) -> None:
        self.seq += 1
        envelope = EventEnvelope(type=type_, seq=self.seq, id=event_id, at=self.state.clock(), data=data)
        await self.websocket.send_text(envelope.model_dump_json())

    async def handle(self, text: str) -> None:
        if len(text) > MAX_CLIENT_FRAME_BYTES:
            await self._error(ErrorDetail(code=ErrorCode.BODY_TOO_LARGE, reason="frame too large"))
            return
        try:
            frame = ClientFrame.model_validate_json(text)
        except pydantic.ValidationError as exc:
            await self._error(
                ErrorDetail(code=ErrorCode.INVALID_REQUEST, reason="the frame does not validate", detail=str(exc)[:500])
            )
            return
        if frame.type == "ping":
            await self.send(EventType.PONG.value, dict(frame.data) | ({"ref": frame.ref} if frame.ref else {}))
        else:
            await self.send(EventType.ACK.value, {"ref": frame.ref} if frame.ref else {})

    async def _error(self, detail: ErrorDetail) -> None:
        await self.send(EventType.ERROR.value, detail.model_dump(mode="json", exclude_none=True))


def _bearer(websocket: WebSocket) -> str | None:
    header = websocket.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.startswith(ACCESS_TOKEN_PREFIX + "_") or len(token) > 128:
        return None
    return token.strip()


@router.websocket("/v1/ws")
async def events(websocket: WebSocket) -> None:
    state = websocket.app.state.enseal
    assert isinstance(state, ServerState)
    token = _bearer(websocket)
    principal = None
    if token is not None:
        try:
            principal = await device_of_token(state, token)
        except EnsealError as exc:
            classify(exc)  # a refusal is quiet; anything unexpected is logged
    if principal is None:
        await websocket.close(code=CLOSE_POLICY)
        return
    await websocket.accept()
    device = principal.device
    connection = _Connection(websocket, state)
    subscription = state.fanout.subscribe(device.device_id)
    try:
        await connection.send(
            EventType.HELLO.value,
            {"device_id": device.device_id, "user": device.user.address, "server_id": state.server_id},
        )
        close_code = await _pump(connection, subscription, principal.session_expires_at)
        await websocket.close(code=close_code)
    except WebSocketDisconnect:
        pass
    finally:
        state.fanout.unsubscribe(subscription)


async def _pump(connection: _Connection, subscription: Subscription, expires_at: datetime) -> int:
    """Relay notices and answer frames until the device leaves or the session must end."""
    receiving: asyncio.Future[str] = asyncio.ensure_future(connection.websocket.receive_text())
    waiting: asyncio.Future[Notice | None] = asyncio.ensure_future(subscription.next())
    pending: set[asyncio.Future[Any]]
    try:
        while True:
            remaining = (expires_at - connection.state.clock()).total_seconds()
            if remaining <= 0:
                return CLOSE_TOKEN_EXPIRED
            pending = {receiving, waiting}
            done, _ = await asyncio.wait(pending, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
            if receiving in done:
                await connection.handle(receiving.result())
                receiving = asyncio.ensure_future(connection.websocket.receive_text())
            if waiting in done:
                notice = waiting.result()
                if notice is None:
                    return CLOSE_OVERFLOW
                await connection.send(notice.type, notice.data, event_id=notice.id)
                if notice.closes:
                    return CLOSE_REVOKED
                waiting = asyncio.ensure_future(subscription.next())
    finally:
        for task in (receiving, waiting):
            task.cancel()
