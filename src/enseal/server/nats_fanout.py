"""Scale-out over NATS (ARCHITECTURE.md section 4: "several server nodes share PostgreSQL and use
NATS for cross-node fan-out of delivery and media"; decision record 0810).

:class:`NatsFanout` is the :class:`~enseal.server.fanout.Fanout` of a node of a scaled-out
server: a notice for a device is published on the device's subject, and every node that holds
a WebSocket of that device subscribes to it (while it does), so a device is reached on whichever
node it is connected to. The node's own connections get their notices through NATS as well, so
nothing is delivered twice. :class:`NatsRelayBus` carries relay datagrams the same way: a node
holding one side's relay connection of a call subscribes to that side's subject, so the two
devices of a call may be on different nodes. Control commands of a call (ended, recording) go to
every node holding one of its connections.

Subjects: ``enseal.<server_id>.device.<device_id>``, ``enseal.<server_id>.relay.<call_id>.<side>``,
``enseal.<server_id>.relay.<call_id>.control``. The NATS link carries metadata and ciphertext
only; production deployments use ``tls://`` URLs (docs/server.md, "Scale-out").
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter
from collections.abc import Iterable
from typing import Any, Final

import nats
import nats.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription as NatsSubscription

from enseal.errors import InternalError
from enseal.server.fanout import InProcessFanout, Notice, Subscription
from enseal.server.relay import RelayHub

log = logging.getLogger("enseal.server.nats")

CONNECT_TIMEOUT_SECONDS: Final = 5
MAX_NOTICE_BYTES: Final = 512 * 1024
"""Largest notice published (a call event with a Welcome fits); larger ones are refused."""


class FanoutUnavailable(InternalError):
    """NATS cannot be reached or refused the connection."""


def _notice_payload(notice: Notice) -> bytes:
    return json.dumps({"type": notice.type, "data": notice.data, "id": notice.id, "closes": notice.closes}).encode()


def _notice_from(payload: bytes) -> Notice:
    raw: dict[str, Any] = json.loads(payload)
    return Notice(type=str(raw["type"]), data=dict(raw["data"]), id=raw.get("id"), closes=bool(raw.get("closes")))


class NatsFanout:
    """Device notices and relay traffic of one node, over a NATS connection."""

    def __init__(self, client: Client, *, server_id: str, relay: RelayHub) -> None:
        self._client = client
        self._prefix = f"enseal.{server_id}"
        self._local = InProcessFanout()
        self._device_subscriptions: dict[str, NatsSubscription] = {}
        self._pending: set[asyncio.Task[None]] = set()
        self.relay_bus = NatsRelayBus(client, prefix=self._prefix, hub=relay)
        relay.bus = self.relay_bus

    @classmethod
    async def connect(cls, url: str, *, server_id: str, relay: RelayHub) -> NatsFanout:
        try:
            client = await nats.connect(
                url,
                name=f"enseal-{server_id[:8]}-{relay.node_id}",
                connect_timeout=CONNECT_TIMEOUT_SECONDS,
                max_reconnect_attempts=-1,
                allow_reconnect=True,
            )
        except (OSError, TimeoutError, nats.errors.Error) as exc:
            raise FanoutUnavailable(f"cannot connect to NATS at {url}: {exc!r}") from exc
        log.info("fan-out over NATS at %s", url)
        return cls(client, server_id=server_id, relay=relay)

    def _device_subject(self, device_id: str) -> str:
        return f"{self._prefix}.device.{device_id}"

    async def subscribe(self, device_id: str) -> Subscription:
        subscription = await self._local.subscribe(device_id)
        if device_id not in self._device_subscriptions:

            async def on_notice(message: Msg) -> None:
                try:
                    notice = _notice_from(message.data)
                except (ValueError, KeyError, TypeError):
                    log.warning("dropped a malformed notice from NATS")
                    return
                await self._local.publish([device_id], notice)

            self._device_subscriptions[device_id] = await self._client.subscribe(
                self._device_subject(device_id), cb=on_notice
            )
            await self._client.flush()  # the server has the subscription before we go on
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self._local.unsubscribe(subscription)
        device_id = subscription.device_id
        if self._local.connected(device_id) == 0:
            nats_subscription = self._device_subscriptions.pop(device_id, None)
            if nats_subscription is not None:
                task = asyncio.get_running_loop().create_task(nats_subscription.unsubscribe())
                self._pending.add(task)
                task.add_done_callback(self._pending.discard)

    async def publish(self, device_ids: Iterable[str], notice: Notice) -> None:
        payload = _notice_payload(notice)
        if len(payload) > MAX_NOTICE_BYTES:
            log.warning("dropped a notice of %d bytes (%s)", len(payload), notice.type)
            return
        for device_id in device_ids:
            await self._client.publish(self._device_subject(device_id), payload)

    async def close(self) -> None:
        try:
            await self._client.drain()
        except nats.errors.Error as exc:
            log.info("NATS drain: %r", exc)


class NatsRelayBus:
    """The relay bus of a scaled-out server (see the module docstring)."""

    def __init__(self, client: Client, *, prefix: str, hub: RelayHub) -> None:
        self._client = client
        self._prefix = prefix
        self._hub = hub
        self._side_subscriptions: dict[tuple[str, str], NatsSubscription] = {}
        self._control_subscriptions: dict[str, NatsSubscription] = {}
        self._sides_here: Counter[str] = Counter()

    def _subject(self, call_id: str, part: str) -> str:
        return f"{self._prefix}.relay.{call_id}.{part}"

    async def subscribe(self, call_id: str, side: str) -> None:
        if (call_id, side) in self._side_subscriptions:
            return

        async def on_datagram(message: Msg) -> None:
            self._hub.deliver(call_id, side, message.data)

        self._side_subscriptions[(call_id, side)] = await self._client.subscribe(
            self._subject(call_id, side), cb=on_datagram
        )
        self._sides_here[call_id] += 1
        if call_id not in self._control_subscriptions:

            async def on_control(message: Msg) -> None:
                await self._hub.on_control(call_id, message.data.decode("ascii", errors="replace"))

            self._control_subscriptions[call_id] = await self._client.subscribe(
                self._subject(call_id, "control"), cb=on_control
            )
        await self._client.flush()

    async def unsubscribe(self, call_id: str, side: str) -> None:
        found = self._side_subscriptions.pop((call_id, side), None)
        if found is None:
            return
        await found.unsubscribe()
        self._sides_here[call_id] -= 1
        if self._sides_here[call_id] <= 0:
            del self._sides_here[call_id]
            control = self._control_subscriptions.pop(call_id, None)
            if control is not None:
                await control.unsubscribe()

    async def send(self, call_id: str, side: str, datagram: bytes) -> None:
        await self._client.publish(self._subject(call_id, side), datagram)

    async def control(self, call_id: str, command: str) -> None:
        await self._client.publish(self._subject(call_id, "control"), command.encode("ascii"))
