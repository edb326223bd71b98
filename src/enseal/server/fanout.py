"""Delivery of server events to connected devices (ARCHITECTURE.md section 4: "one
authenticated WebSocket per device for events and delivery").

:class:`Fanout` is the seam: the API publishes :class:`~enseal.wire.EventEnvelope` data to device
ids; a WebSocket handler subscribes for its device. :class:`InProcessFanout` serves one process;
a NATS implementation (scale-out, later) publishes to a subject per device instead. Events are
best-effort notifications here; the delivery service adds durable per-device mailboxes and
replays them on reconnect, so a dropped event is never a lost message.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

MAX_QUEUED_EVENTS: Final = 256
"""Events queued for one connection; a connection that falls further behind is closed, and the
device resynchronises when it reconnects."""
MAX_CONNECTIONS_PER_DEVICE: Final = 4
"""Simultaneous WebSockets one device may hold; the oldest is closed when exceeded."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Notice:
    """An event for a device, before the connection gives it a sequence number."""

    type: str
    data: dict[str, Any] = field(default_factory=dict)
    id: str | None = None
    closes: bool = False
    """The connection closes after delivering this event (e.g. the device was revoked)."""


class Subscription:
    """One connection's queue of notices."""

    def __init__(self, device_id: str) -> None:
        self.device_id = device_id
        self._queue: asyncio.Queue[Notice | None] = asyncio.Queue(MAX_QUEUED_EVENTS)
        self.overflowed = False

    def offer(self, notice: Notice | None) -> None:
        try:
            self._queue.put_nowait(notice)
        except asyncio.QueueFull:
            self.overflowed = True
            self._queue = asyncio.Queue(1)
            self._queue.put_nowait(None)

    async def next(self) -> Notice | None:
        """The next notice; None when the subscription ended (closed or overflowed)."""
        return await self._queue.get()


class Fanout(Protocol):
    def subscribe(self, device_id: str) -> Subscription: ...

    def unsubscribe(self, subscription: Subscription) -> None: ...

    async def publish(self, device_ids: Iterable[str], notice: Notice) -> None: ...


class InProcessFanout:
    """Fan-out inside one server process."""

    def __init__(self) -> None:
        self._subscriptions: dict[str, list[Subscription]] = defaultdict(list)

    def subscribe(self, device_id: str) -> Subscription:
        subscription = Subscription(device_id)
        connections = self._subscriptions[device_id]
        connections.append(subscription)
        while len(connections) > MAX_CONNECTIONS_PER_DEVICE:
            connections.pop(0).offer(None)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        connections = self._subscriptions.get(subscription.device_id, [])
        if subscription in connections:
            connections.remove(subscription)
        if not connections:
            self._subscriptions.pop(subscription.device_id, None)

    async def publish(self, device_ids: Iterable[str], notice: Notice) -> None:
        for device_id in device_ids:
            for subscription in list(self._subscriptions.get(device_id, ())):
                subscription.offer(notice)

    def connected(self, device_id: str) -> int:
        return len(self._subscriptions.get(device_id, ()))
