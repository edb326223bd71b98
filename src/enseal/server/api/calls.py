"""1:1 calls (docs/protocol.md, "Calls", "Media relay", "Recordings"): placing a call, its
signalling messages, feature requests, the WSS media relay with its counters, and recordings.
The rules are :mod:`enseal.server.calls`'s; the relay is :mod:`enseal.server.relay`'s."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated, Any, Final

from fastapi import APIRouter, Body, Path, Query, Response, WebSocket, status
from starlette.websockets import WebSocketDisconnect, WebSocketState

from enseal.server import calls
from enseal.server.api.events import CLOSE_POLICY, authenticate_websocket
from enseal.server.errors import Forbidden
from enseal.server.principals import Admin, Device, State, require_tenant
from enseal.server.recording_format import RECORDING_MAGIC, recording_to_wav
from enseal.server.relay import CLOSE_TRY_AGAIN, MAX_RELAY_DATAGRAM, SIDES, RelayConnection, RelayHub
from enseal.server.state import ServerState
from enseal.signalling import CallState
from enseal.storage import NotFound, RecordingRecord
from enseal.wire.calls import (
    CALL_ID_PATTERN,
    CallBody,
    CallFeatureRequest,
    CallFeatureResult,
    RecordingBody,
    RecordingFormat,
    RecordingList,
    RelaySideStats,
    RelayStatsBody,
)

router = APIRouter(prefix="/v1", tags=["calls"])

CallIdPath = Annotated[str, Path(pattern=CALL_ID_PATTERN, max_length=64, description="the call id")]
RecordingIdPath = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", max_length=32, description="the recording id")]
SignalBody = Annotated[
    dict[str, Any], Body(description="a signalling message, JSON as enseal.signalling.message_to_json writes it")
]
CLOSE_UNSUPPORTED: Final = 1003
CLOSE_TOO_BIG: Final = 1009


@router.post("/calls", status_code=status.HTTP_201_CREATED, response_model=CallBody)
async def place_call(body: SignalBody, principal: Device, state: State) -> CallBody:
    """Place a call with a ``call.invite``: the server decides its encryption and rings every
    active device of the callee (or ends it at once as busy)."""
    return await calls.place_call(state, principal, body)


@router.get("/calls/{call_id}", response_model=CallBody)
async def get_call(call_id: CallIdPath, principal: Device, state: State) -> CallBody:
    async with state.store.transaction() as tx:
        return calls.call_body(await calls.load_call(tx, call_id, principal.device.device_id))


@router.post("/calls/{call_id}/signal", response_model=CallBody)
async def signal(call_id: CallIdPath, body: SignalBody, principal: Device, state: State) -> CallBody:
    """``call.accept``, ``call.welcome``, ``call.candidates``, ``call.connected`` or ``call.end``."""
    return await calls.signal(state, principal, call_id, body)


@router.post("/calls/{call_id}/features", response_model=CallFeatureResult)
async def request_feature(
    call_id: CallIdPath, body: CallFeatureRequest, principal: Device, state: State
) -> CallFeatureResult:
    """Recording, transcription, transfer, park, merge, ...: refused under E2EE (403
    ``policy_denied`` with the reason), allowed otherwise; recording starts the recorder."""
    return await calls.request_feature(state, principal, call_id, body.feature)


def _stats(hub: RelayHub, call_id: str) -> RelayStatsBody:
    counters = hub.counters(call_id)
    sides = {
        side: RelaySideStats(
            datagrams_in=c.datagrams_in,
            bytes_in=c.bytes_in,
            datagrams_out=c.datagrams_out,
            bytes_out=c.bytes_out,
            datagrams_dropped=c.datagrams_dropped,
            connections=c.connections,
        )
        for side, c in counters.items()
    }
    return RelayStatsBody(call_id=call_id, node=hub.node_id, caller=sides["caller"], callee=sides["callee"])


@router.get("/calls/{call_id}/relay-stats", response_model=RelayStatsBody)
async def relay_stats(call_id: CallIdPath, principal: Device, state: State) -> RelayStatsBody:
    """What this node's relay carried for the call (a participant of the call)."""
    async with state.store.transaction() as tx:
        await calls.load_call(tx, call_id, principal.device.device_id)
    return _stats(state.relay, call_id)


@router.get("/admin/calls/{call_id}", response_model=CallBody, tags=["admin"])
async def admin_get_call(call_id: CallIdPath, principal: Admin, state: State) -> CallBody:
    async with state.store.transaction() as tx:
        call = await tx.calls.get(call_id)
    require_tenant(principal, call.caller.tenant_id)
    return calls.call_body(call)


@router.get("/admin/calls/{call_id}/relay-stats", response_model=RelayStatsBody, tags=["admin"])
async def admin_relay_stats(call_id: CallIdPath, principal: Admin, state: State) -> RelayStatsBody:
    async with state.store.transaction() as tx:
        call = await tx.calls.get(call_id)
    require_tenant(principal, call.caller.tenant_id)
    return _stats(state.relay, call_id)


# -- recordings ------------------------------------------------------------------------------------


def _recording_body(record: RecordingRecord) -> RecordingBody:
    return RecordingBody.model_validate(
        {
            "recording_id": record.recording_id,
            "call_id": record.call_id,
            "state": record.state,
            "started_at": record.started_at,
            "ended_at": record.ended_at,
            "frames": record.frames,
            "bytes": record.bytes,
        }
    )


@router.get("/calls/{call_id}/recordings", response_model=RecordingList)
async def list_recordings(call_id: CallIdPath, principal: Device, state: State) -> RecordingList:
    async with state.store.transaction() as tx:
        await calls.load_call(tx, call_id, principal.device.device_id)
        return RecordingList(recordings=[_recording_body(r) for r in await tx.recordings.of_call(call_id)])


@router.get(
    "/recordings/{recording_id}",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}, "audio/wav": {}}}},
)
async def download_recording(
    recording_id: RecordingIdPath,
    principal: Device,
    state: State,
    format: Annotated[RecordingFormat, Query()] = "frames",
) -> Response:
    """A recording of a call this device placed or answered, opened from its sealed chunks."""
    async with state.store.transaction() as tx:
        recording = await tx.recordings.get(recording_id)
        call = await tx.calls.get(recording.call_id)
        if principal.device.device_id not in (call.caller_device_id, call.answered_device_id):
            raise Forbidden("only the call's caller and answering device may download its recordings")
        chunks = [await tx.sealed.open(record_id) for record_id in await tx.recordings.chunk_records(recording_id)]
    records = b"".join(chunks)
    if format == "wav":
        return Response(content=await asyncio.to_thread(recording_to_wav, records), media_type="audio/wav")
    return Response(content=RECORDING_MAGIC + records, media_type="application/octet-stream")


# -- the media relay -------------------------------------------------------------------------------


@router.websocket("/calls/{call_id}/relay")
async def relay(websocket: WebSocket, call_id: str) -> None:
    """One side's relay connection: each binary message is one datagram for the other side."""
    state = websocket.app.state.enseal
    assert isinstance(state, ServerState)
    principal = await authenticate_websocket(websocket, state)
    side = None
    recording_id = None
    if principal is not None and len(call_id) <= 64:
        async with state.store.transaction() as tx:
            try:
                call = await tx.calls.get(call_id)
            except NotFound:
                call = None
        if call is not None and call.state in (CallState.CONNECTING.value, CallState.ACTIVE.value):
            side = call.side_of(principal.device.device_id)
            recording_id = call.recording_id
    if side is None or side not in SIDES:
        await websocket.close(code=CLOSE_POLICY)
        return
    if state.relay.full():
        await websocket.accept()
        await websocket.close(code=CLOSE_TRY_AGAIN)
        return
    # Take this side's place (and its subscription on the relay bus) before completing the
    # handshake: once a device sees its relay connection open, what the other side sends from
    # then on reaches it, even when the other side is connected to another node.
    connection = await state.relay.open(call_id, side)
    try:
        await websocket.accept()
        if recording_id is not None:
            await state.relay.ensure_recorder(call_id, recording_id)
        await _relay_pump(websocket, state.relay, connection)
    finally:
        await state.relay.release(connection)


async def _relay_pump(websocket: WebSocket, hub: RelayHub, connection: RelayConnection) -> None:
    async def receive() -> None:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            data = message.get("bytes")
            if data is None:
                connection.close(CLOSE_UNSUPPORTED)
                return
            if len(data) > MAX_RELAY_DATAGRAM:
                connection.close(CLOSE_TOO_BIG)
                return
            await hub.forward(connection.call_id, connection.side, data)

    async def send() -> None:
        while (datagram := await connection.next()) is not None:
            await websocket.send_bytes(datagram)

    tasks = [asyncio.ensure_future(receive()), asyncio.ensure_future(send())]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    except WebSocketDisconnect:
        pass
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
                await task
    if websocket.application_state is WebSocketState.CONNECTED:
        with contextlib.suppress(RuntimeError, WebSocketDisconnect):
            await websocket.close(code=connection.close_code or 1000)
