"""Delivery of server events to connected devices (ARCHITECTURE.md section 4: "one
authenticated WebSocket per device for events and delivery").

:class:`Fanout` is the seam: the API publishes :class:`~enseal.wire.EventEnvelope` data to device
ids; a WebSocket handler subscribes for its device. :class:`InProcessFanout` serves one process;
:class:`~enseal.server.nats_fanout.NatsFanout` publishes to a subject per device instead, so that
devices connected to any node of a scaled-out server get them. Notices are best effort: what
must not be lost is in the device's durable mailbox, and a notice only wakes the connection up
to read it (:data:`MAILBOX_WAKEUP`).
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
MAILBOX_WAKEUP: Final = "mailbox.wakeup"
"""Internal notice: the device's mailbox has new entries (never sent to the device itself; the
connection reads the entries from the store). Queued at most once per connection."""


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
        self._wakeup_queued = False
        self.overflowed = False

    def offer(self, notice: Notice | None) -> None:
        if notice is not None and notice.type == MAILBOX_WAKEUP:
            if self._wakeup_queued:
                return
            self._wakeup_queued = True
        try:
            self._queue.put_nowait(notice)
        except asyncio.QueueFull:
            self.overflowed = True
            self._queue = asyncio.Queue(1)
            self._queue.put_nowait(None)

    async def next(self) -> Notice | None:
        """The next notice; None when the subscription ended (closed or overflowed)."""
        notice = await self._queue.get()
        if notice is not None and notice.type == MAILBOX_WAKEUP:
            self._wakeup_queued = False
        return notice


class Fanout(Protocol):
    async def subscribe(self, device_id: str) -> Subscription:
        """A subscription that receives every notice published for ``device_id`` from now on."""
        ...

    def unsubscribe(self, subscription: Subscription) -> None: ...

    async def publish(self, device_ids: Iterable[str], notice: Notice) -> None: ...

    async def close(self) -> None: ...


class InProcessFanout:
    """Fan-out inside one server process."""

    def __init__(self) -> None:
        self._subscriptions: dict[str, list[Subscription]] = defaultdict(list)

    async def subscribe(self, device_id: str) -> Subscription:
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

    async def close(self) -> None:
        return None
