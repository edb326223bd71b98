"""The WSS media relay (ARCHITECTURE.md section 4; docs/protocol.md, "Media relay"; decision
record 0808): per call, datagrams between the caller's device and the answering device, each a
binary WebSocket message, forwarded unread.

:class:`RelayHub` holds this node's relay connections (at most one per call and side), counts
datagrams and bytes per call and side, feeds the recorder of a standard call that is being
recorded, and tees every datagram into the optional capture file (:class:`RelayCapture`). A
:class:`RelayBus` carries datagrams and control commands between the nodes that hold a call's
connections: :class:`InProcessRelayBus` on one node, ``enseal.server.nats_fanout`` across nodes.
Nothing here looks inside a datagram except the recorder, which only exists when the service
holds the call's media key.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import struct
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Final, Protocol

from enseal.media import MAX_DATAGRAM_SIZE
from enseal.server.recorder import Recorder
from enseal.storage import Store

log = logging.getLogger("enseal.server.relay")

MAX_RELAY_DATAGRAM: Final = MAX_DATAGRAM_SIZE
"""Largest datagram the relay forwards (the media datagram bound of enseal.media)."""
RELAY_QUEUE_DATAGRAMS: Final = 1024
"""Datagrams queued for one connection; beyond, new ones are dropped and counted."""
MAX_TRACKED_CALLS: Final = 10_000
"""Calls whose counters a node keeps (the least recently used are forgotten)."""
MAX_RELAY_CONNECTIONS: Final = 10_000
"""Relay connections one node holds; beyond, new ones are refused (close 1013, try again later)."""
CLOSE_TRY_AGAIN: Final = 1013
CLOSE_REPLACED: Final = 4409
CLOSE_CALL_ENDED: Final = 4410
SIDES: Final = ("caller", "callee")
CAPTURE_MAGIC: Final = b"ENSEAL-RELAY-CAPTURE-1\n"
_CAPTURE_RECORD: Final = struct.Struct(">B")
_CAPTURE_TAIL: Final = struct.Struct(">BI")


def other_side(side: str) -> str:
    return "callee" if side == "caller" else "caller"


@dataclass(slots=True)
class SideCounters:
    datagrams_in: int = 0
    bytes_in: int = 0
    datagrams_out: int = 0
    bytes_out: int = 0
    datagrams_dropped: int = 0
    connections: int = 0


class RelayCapture:
    """Appends every forwarded datagram to a file (operator option ``relay_capture``), for
    demos and tests that scan what the relay carried. Record layout after the magic line:
    ``u8 len(call_id) | call_id | u8 side (0 caller, 1 callee) | u32 length | datagram``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        if os.fstat(self._fd).st_size == 0:
            os.write(self._fd, CAPTURE_MAGIC)

    def write(self, call_id: str, side: str, datagram: bytes) -> None:
        encoded = call_id.encode("ascii")
        os.write(
            self._fd,
            _CAPTURE_RECORD.pack(len(encoded))
            + encoded
            + _CAPTURE_TAIL.pack(SIDES.index(side), len(datagram))
            + datagram,
        )

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self._fd)


def read_capture(data: bytes) -> list[tuple[str, str, bytes]]:
    """``(call_id, side, datagram)`` of every record of a capture file."""
    if not data.startswith(CAPTURE_MAGIC):
        raise ValueError("not an Enseal relay capture")
    out = []
    offset = len(CAPTURE_MAGIC)
    while offset < len(data):
        (length,) = _CAPTURE_RECORD.unpack_from(data, offset)
        call_id = data[offset + 1 : offset + 1 + length].decode("ascii")
        offset += 1 + length
        side, size = _CAPTURE_TAIL.unpack_from(data, offset)
        offset += _CAPTURE_TAIL.size
        out.append((call_id, SIDES[side], data[offset : offset + size]))
        offset += size
    return out


class RelayConnection:
    """One side's relay WebSocket on this node: its queue of datagrams to send."""

    def __init__(self, call_id: str, side: str) -> None:
        self.call_id = call_id
        self.side = side
        self.close_code: int | None = None
        self._queue: asyncio.Queue[bytes | None] = asyncio.Queue(RELAY_QUEUE_DATAGRAMS + 1)

    def offer(self, datagram: bytes) -> bool:
        if self.close_code is not None or self._queue.qsize() >= RELAY_QUEUE_DATAGRAMS:
            return False
        self._queue.put_nowait(datagram)
        return True

    def close(self, code: int) -> None:
        if self.close_code is None:
            self.close_code = code
            self._queue.put_nowait(None)

    async def next(self) -> bytes | None:
        """The next datagram to send, or None once closed."""
        return await self._queue.get()


class RelayBus(Protocol):
    """Carries relay traffic to the node holding a call's connection for a side."""

    async def subscribe(self, call_id: str, side: str) -> None: ...

    async def unsubscribe(self, call_id: str, side: str) -> None: ...

    async def send(self, call_id: str, side: str, datagram: bytes) -> None: ...

    async def control(self, call_id: str, command: str) -> None: ...


class RelayHub:
    """This node's relay connections, counters, recorders and capture."""

    def __init__(
        self, store: Store, clock: Callable[[], datetime], *, node_id: str, capture: RelayCapture | None = None
    ) -> None:
        self._store = store
        self._clock = clock
        self.node_id = node_id
        self.capture = capture
        self.bus: RelayBus = InProcessRelayBus(self)
        self._connections: dict[tuple[str, str], RelayConnection] = {}
        self._counters: OrderedDict[str, dict[str, SideCounters]] = OrderedDict()
        self._recorders: dict[str, Recorder] = {}

    def counters(self, call_id: str) -> dict[str, SideCounters]:
        found = self._counters.get(call_id)
        if found is None:
            found = self._counters[call_id] = {side: SideCounters() for side in SIDES}
            while len(self._counters) > MAX_TRACKED_CALLS:
                self._counters.popitem(last=False)
        else:
            self._counters.move_to_end(call_id)
        return found

    def recorder(self, call_id: str) -> Recorder | None:
        return self._recorders.get(call_id)

    # -- connections ------------------------------------------------------------------------------

    def full(self) -> bool:
        return len(self._connections) >= MAX_RELAY_CONNECTIONS

    async def open(self, call_id: str, side: str) -> RelayConnection:
        """A new connection for ``side``; an older one of the same side is closed (replaced)."""
        connection = RelayConnection(call_id, side)
        previous = self._connections.get((call_id, side))
        if previous is not None:
            previous.close(CLOSE_REPLACED)
        self._connections[(call_id, side)] = connection
        self.counters(call_id)[side].connections += 1
        if previous is None:
            await self.bus.subscribe(call_id, side)
        return connection

    async def release(self, connection: RelayConnection) -> None:
        key = (connection.call_id, connection.side)
        if self._connections.get(key) is connection:
            del self._connections[key]
            await self.bus.unsubscribe(connection.call_id, connection.side)
            if not any(call == connection.call_id for call, _ in self._connections):
                await self._stop_recorder(connection.call_id)

    async def forward(self, call_id: str, side: str, datagram: bytes) -> None:
        """A datagram from ``side``'s device, for the other side."""
        counters = self.counters(call_id)[side]
        counters.datagrams_in += 1
        counters.bytes_in += len(datagram)
        if self.capture is not None:
            self.capture.write(call_id, side, datagram)
        recorder = self._recorders.get(call_id)
        if recorder is not None:
            recorder.take(side, datagram)
        await self.bus.send(call_id, other_side(side), datagram)

    def deliver(self, call_id: str, side: str, datagram: bytes) -> None:
        """A datagram for ``side``'s connection, if it is on this node."""
        connection = self._connections.get((call_id, side))
        counters = self.counters(call_id)[side]
        if connection is not None and connection.offer(datagram):
            counters.datagrams_out += 1
            counters.bytes_out += len(datagram)
        else:
            counters.datagrams_dropped += 1

    # -- control ------------------------------------------------------------------------------------

    async def end_call(self, call_id: str) -> None:
        """The call ended: every node closes its connections and stops its recorder."""
        await self.bus.control(call_id, "end")

    async def start_recording(self, call_id: str, recording_id: str) -> None:
        await self.bus.control(call_id, f"record {recording_id}")

    async def on_control(self, call_id: str, command: str) -> None:
        if command == "end":
            for side in SIDES:
                connection = self._connections.get((call_id, side))
                if connection is not None:
                    connection.close(CLOSE_CALL_ENDED)
            await self._stop_recorder(call_id)
        elif command.startswith("record "):
            await self.ensure_recorder(call_id, command.removeprefix("record "))

    async def ensure_recorder(self, call_id: str, recording_id: str) -> None:
        """Start recording the call's sides connected here (nothing if none is, or no key)."""
        if call_id in self._recorders or not any(call == call_id for call, _ in self._connections):
            return
        recorder = await Recorder.open(self._store, self._clock, call_id=call_id, recording_id=recording_id)
        if recorder is not None and call_id not in self._recorders:
            self._recorders[call_id] = recorder

    async def _stop_recorder(self, call_id: str) -> None:
        recorder = self._recorders.pop(call_id, None)
        if recorder is not None:
            await recorder.stop()

    async def close(self) -> None:
        for connection in list(self._connections.values()):
            connection.close(CLOSE_CALL_ENDED)
        for call_id in list(self._recorders):
            await self._stop_recorder(call_id)
        if self.capture is not None:
            self.capture.close()


class InProcessRelayBus:
    """The relay bus of a single node: everything is local."""

    def __init__(self, hub: RelayHub) -> None:
        self._hub = hub

    async def subscribe(self, call_id: str, side: str) -> None:
        return None

    async def unsubscribe(self, call_id: str, side: str) -> None:
        return None

    async def send(self, call_id: str, side: str, datagram: bytes) -> None:
        self._hub.deliver(call_id, side, datagram)

    async def control(self, call_id: str, command: str) -> None:
        await self._hub.on_control(call_id, command)
