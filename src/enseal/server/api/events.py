"""``/v1/ws``: one authenticated WebSocket per device (docs/protocol.md, "Events", "Mailbox").

The device authenticates the upgrade request with ``Authorization: Bearer <access token>``; a
missing or bad token closes the handshake (HTTP 403). The server sends ``hello``, then the
device's unacknowledged mailbox entries in order (at most :data:`MAX_IN_FLIGHT` unacknowledged),
then new entries and notices as they come; it answers ``ping`` with ``pong`` and takes ``ack``
frames (``ref`` = a ``mailbox_seq``, cumulative). ``?after=N`` on the URL resumes after entry
``N`` (and acknowledges up to it). The socket closes with code 4401 when the access token
expires (sign in again and reconnect), 4403 when the device is revoked, 4408 when the device
fell too far behind (reconnect and resynchronise).
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
from enseal.server.fanout import MAILBOX_WAKEUP, Notice, Subscription
from enseal.server.mailbox_entries import MAILBOX_BATCH, MAX_IN_FLIGHT, entry_type_and_data
from enseal.server.principals import ACCESS_TOKEN_PREFIX, DevicePrincipal, device_of_token
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
    def __init__(self, websocket: WebSocket, state: ServerState, device_id: str) -> None:
        self.websocket = websocket
        self.state = state
        self.device_id = device_id
        self.seq = 0
        self.mailbox_sent = 0
        """The last mailbox entry sent on this connection."""
        self.mailbox_acked = 0
        self.dropped_upto = 0

    async def send(
        self, type_: str, data: dict[str, Any], *, event_id: str | None = None, mailbox_seq: int | None = None
    ) -> None:
        self.seq += 1
        envelope = EventEnvelope(
            type=type_, seq=self.seq, id=event_id, mailbox_seq=mailbox_seq, at=self.state.clock(), data=data
        )
        await self.websocket.send_text(envelope.model_dump_json(exclude_none=False))

    async def start_mailbox(self, after: int | None) -> dict[str, int]:
        """Acknowledge up to ``after`` (if given) and position delivery after it."""
        async with self.state.store.transaction() as tx:
            if after is not None:
                mailbox = await tx.mailboxes.acknowledge(self.device_id, after)
            else:
                mailbox = await tx.mailboxes.state(self.device_id)
        self.mailbox_acked = self.mailbox_sent = mailbox.acked_seq
        self.dropped_upto = mailbox.dropped_upto
        return {"acked_seq": mailbox.acked_seq, "last_seq": mailbox.last_seq, "dropped_upto": mailbox.dropped_upto}

    async def deliver_mailbox(self) -> None:
        """Send the entries after the last one sent, up to the in-flight window."""
        while (room := MAX_IN_FLIGHT - (self.mailbox_sent - self.mailbox_acked)) > 0:
            async with self.state.store.transaction() as tx:
                entries = await tx.mailboxes.entries(
                    self.device_id, after=self.mailbox_sent, limit=min(room, MAILBOX_BATCH)
                )
                mailbox = await tx.mailboxes.state(self.device_id)
            if mailbox.dropped_upto > max(self.dropped_upto, self.mailbox_sent):
                self.dropped_upto = mailbox.dropped_upto
                self.mailbox_sent = max(self.mailbox_sent, mailbox.dropped_upto)
                await self.send(EventType.MAILBOX_GAP.value, {"dropped_upto": mailbox.dropped_upto})
            if not entries:
                return
            for entry in entries:
                type_, data = entry_type_and_data(entry)
                await self.send(type_, data, event_id=str(entry.seq), mailbox_seq=entry.seq)
                self.mailbox_sent = entry.seq

    async def handle(self, text: str) -> None:
        if len(text) > MAX_CLIENT_FRAME_BYTES:
            await self.error(ErrorDetail(code=ErrorCode.BODY_TOO_LARGE, reason="frame too large"))
            return
        try:
            frame = ClientFrame.model_validate_json(text)
        except pydantic.ValidationError as exc:
            await self.error(
                ErrorDetail(code=ErrorCode.INVALID_REQUEST, reason="the frame does not validate", detail=str(exc)[:500])
            )
            return
        if frame.type == "ping":
            await self.send(EventType.PONG.value, dict(frame.data) | ({"ref": frame.ref} if frame.ref else {}))
            return
        if frame.ref is not None and frame.ref.isdigit() and len(frame.ref) <= 18:
            async with self.state.store.transaction() as tx:
                mailbox = await tx.mailboxes.acknowledge(self.device_id, int(frame.ref))
            self.mailbox_acked = max(self.mailbox_acked, mailbox.acked_seq)
            self.mailbox_sent = max(self.mailbox_sent, self.mailbox_acked)
        await self.send(EventType.ACK.value, {"ref": frame.ref} if frame.ref else {})
        await self.deliver_mailbox()

    async def error(self, detail: ErrorDetail) -> None:
        await self.send(EventType.ERROR.value, detail.model_dump(mode="json", exclude_none=True))


def _bearer(websocket: WebSocket) -> str | None:
    header = websocket.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.startswith(ACCESS_TOKEN_PREFIX + "_") or len(token) > 128:
        return None
    return token.strip()


async def authenticate_websocket(websocket: WebSocket, state: ServerState) -> DevicePrincipal | None:
    """The device of the upgrade request's bearer token, or None (a refusal is not logged)."""
    token = _bearer(websocket)
    if token is None:
        return None
    try:
        return await device_of_token(state, token)
    except EnsealError as exc:
        classify(exc)  # a refusal is quiet; anything unexpected is logged
        return None


def _after(websocket: WebSocket) -> int | None:
    raw = websocket.query_params.get("after")
    if raw is None or not raw.isdigit() or len(raw) > 18:
        return None
    return int(raw)


@router.websocket("/v1/ws")
async def events(websocket: WebSocket) -> None:
    state = websocket.app.state.enseal
    assert isinstance(state, ServerState)
    principal = await authenticate_websocket(websocket, state)
    if principal is None:
        await websocket.close(code=CLOSE_POLICY)
        return
    await websocket.accept()
    device = principal.device
    connection = _Connection(websocket, state, device.device_id)
    subscription = await state.fanout.subscribe(device.device_id)
    try:
        mailbox = await connection.start_mailbox(_after(websocket))
        await connection.send(
            EventType.HELLO.value,
            {
                "device_id": device.device_id,
                "user": device.user.address,
                "server_id": state.server_id,
                "mailbox": mailbox,
            },
        )
        await connection.deliver_mailbox()
        close_code = await _pump(connection, subscription, principal.session_expires_at)
        await websocket.close(code=close_code)
    except WebSocketDisconnect:
        pass
    finally:
        state.fanout.unsubscribe(subscription)


async def _receive_text(websocket: WebSocket) -> str | None:
    """The next text frame; None for a binary one. Raises WebSocketDisconnect when the device leaves."""
    message = await websocket.receive()
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000))
    text = message.get("text")
    return text if isinstance(text, str) else None


async def _pump(connection: _Connection, subscription: Subscription, expires_at: datetime) -> int:
    """Relay notices and answer frames until the device leaves or the session must end."""
    receiving: asyncio.Future[str | None] = asyncio.ensure_future(_receive_text(connection.websocket))
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
                text = receiving.result()
                if text is None:
                    await connection.error(ErrorDetail(code=ErrorCode.BAD_REQUEST, reason="frames are JSON text"))
                else:
                    await connection.handle(text)
                receiving = asyncio.ensure_future(_receive_text(connection.websocket))
            if waiting in done:
                notice = waiting.result()
                if notice is None:
                    return CLOSE_OVERFLOW
                if notice.type == MAILBOX_WAKEUP:
                    await connection.deliver_mailbox()
                else:
                    await connection.send(notice.type, notice.data, event_id=notice.id)
                if notice.closes:
                    return CLOSE_REVOKED
                waiting = asyncio.ensure_future(subscription.next())
    finally:
        for task in (receiving, waiting):
            task.cancel()
