"""The relayed media path: datagrams through the server's WSS media relay.

The server's relay is reached through a :class:`RelayChannel`, the small interface it must
satisfy (one channel per device per call; the server engineer's WebSocket client implements it,
with each datagram as one binary WebSocket message):

* ``async send(datagram: bytes) -> None`` -- hand one datagram to the relay for the peer; best
  effort (the relay may drop it when the peer is slow);
* ``async recv() -> bytes`` -- the next datagram from the peer; raises
  :class:`~enseal.client.media.errors.RelayClosed` once the channel is closed;
* ``async close() -> None`` -- idempotent.

The relay forwards bytes it cannot read: media datagrams whose payload is SFrame ciphertext
(docs/media-path.md, "What the relay sees"). :class:`InMemoryRelay` is the relay of the tests
(and of an in-process demo): two channels, bounded queues, and a record of everything it
forwarded so a test can inspect what the server would have seen.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Final, Protocol

from enseal.client.media.errors import RelayClosed, TransportClosed
from enseal.client.media.transport import MediaTransport, PathCounter, PathCounters, PathKind, TransportStats
from enseal.errors import LocalProtocolError
from enseal.media import MAX_DATAGRAM_SIZE

RELAY_QUEUE_DATAGRAMS: Final = 1_024
"""Datagrams the in-memory relay holds for a channel that is not reading; beyond, it drops."""

RELAY_CONNECT_TIMEOUT_SECONDS: Final = 5.0
"""How long opening a relay channel may take before the call fails."""

PRESENCE_MAGIC: Final = 0xE1
"""A presence request, "I am on the relay, are you?" (media datagrams start with 1, checks with
0xC1, feedback with 0xF1)."""
PRESENCE_ACK_MAGIC: Final = 0xE2
"""A presence answer, "I am on the relay too": never answered, so presence cannot ping-pong."""
PRESENCE_INTERVAL_SECONDS: Final = 0.1
"""How often a side announces itself on the relay until it hears from its peer."""
RELAY_PEER_TIMEOUT_SECONDS: Final = 10.0
"""How long a side waits on the relay for its peer to appear before the call fails."""
_PRESENCE: Final = bytes((PRESENCE_MAGIC,))
_PRESENCE_ACK: Final = bytes((PRESENCE_ACK_MAGIC,))


class RelayChannel(Protocol):
    """One device's connection to the server's media relay for one call."""

    async def send(self, datagram: bytes) -> None: ...

    async def recv(self) -> bytes: ...

    async def close(self) -> None: ...


RelayConnector = Callable[[], Awaitable[RelayChannel]]
"""Opens this device's relay channel for the call (called only when the relay is needed)."""


class InMemoryRelay:
    """A relay between the two channels of one call, inside this process."""

    def __init__(self, *, queue_datagrams: int = RELAY_QUEUE_DATAGRAMS) -> None:
        self._queue_datagrams = queue_datagrams
        self._channels: list[InMemoryRelayChannel] = []
        self.forwarded: list[bytes] = []
        """Every datagram the relay carried, in order (what the server would see)."""
        self.dropped = 0

    @property
    def bytes_forwarded(self) -> int:
        return sum(len(d) for d in self.forwarded)

    @property
    def channels_opened(self) -> int:
        return len(self._channels)

    async def connect(self) -> InMemoryRelayChannel:
        """Open the next channel (a :data:`RelayConnector`); a call has two."""
        if len(self._channels) >= 2:
            raise RelayClosed("relay refused the channel", "a 1:1 call has two channels")
        channel = InMemoryRelayChannel(self, self._queue_datagrams)
        self._channels.append(channel)
        return channel

    def _forward(self, sender: InMemoryRelayChannel, datagram: bytes) -> None:
        peers = [c for c in self._channels if c is not sender and not c.closed]
        if not peers:
            self.dropped += 1
            return
        self.forwarded.append(datagram)
        if not peers[0].deliver(datagram):
            self.dropped += 1


class InMemoryRelayChannel:
    """One side's channel of an :class:`InMemoryRelay` (implements :class:`RelayChannel`)."""

    def __init__(self, relay: InMemoryRelay, bound: int) -> None:
        self._relay = relay
        self._queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._bound = bound
        self.closed = False

    def deliver(self, datagram: bytes) -> bool:
        if self.closed or self._queue.qsize() >= self._bound:
            return False
        self._queue.put_nowait(datagram)
        return True

    async def send(self, datagram: bytes) -> None:
        if self.closed:
            raise RelayClosed("relay channel is closed")
        self._relay._forward(self, datagram)

    async def recv(self) -> bytes:
        if self.closed and self._queue.empty():
            raise RelayClosed("relay channel is closed")
        item = await self._queue.get()
        if item is None:
            raise RelayClosed("relay channel is closed")
        return item

    async def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._queue.put_nowait(None)


class RelayTransport(MediaTransport):
    """Media over a :class:`RelayChannel`.

    The relay forwards a datagram only when the peer's channel is open, and the two sides open
    theirs at different moments (the controlled side waits longer for a direct path). So a side
    first waits for its peer (:meth:`wait_for_peer`): it sends a one-byte presence request every
    :data:`PRESENCE_INTERVAL_SECONDS` until something arrives from the peer, and answers every
    request it receives with a presence answer (answers are never answered). Media starts only
    then, so the first second of a call is not sent into a relay that would drop it. Presence
    datagrams never reach the media session.
    """

    def __init__(self, channel: RelayChannel) -> None:
        self._channel = channel
        self._counter = PathCounter()
        self._closed = False
        self._early: list[bytes] = []

    async def wait_for_peer(self, timeout: float = RELAY_PEER_TIMEOUT_SECONDS) -> None:
        """Return once the peer is on the relay; :class:`RelayClosed` after ``timeout``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            await self._send_control(_PRESENCE)
            try:
                datagram = await asyncio.wait_for(self._channel.recv(), PRESENCE_INTERVAL_SECONDS)
            except TimeoutError:
                if loop.time() >= deadline:
                    raise RelayClosed("the other side never reached the media relay", f"{timeout:g} s") from None
                continue
            if datagram == _PRESENCE:
                await self._send_control(_PRESENCE_ACK)
            elif datagram != _PRESENCE_ACK:
                self._early.append(datagram)  # media that overtook the peer's presence
            return

    async def send(self, datagram: bytes) -> None:
        if self._closed:
            raise TransportClosed("relay transport is closed")
        if len(datagram) > MAX_DATAGRAM_SIZE:
            raise LocalProtocolError(f"datagram of {len(datagram)} bytes exceeds {MAX_DATAGRAM_SIZE}")
        await self._channel.send(datagram)
        self._counter.sent(len(datagram))

    async def _send_control(self, datagram: bytes) -> None:
        """A presence datagram: path control, like a connectivity check, so not in the counters."""
        await self._channel.send(datagram)

    async def recv(self) -> bytes:
        while True:
            if self._closed:
                raise TransportClosed("relay transport is closed")
            datagram = self._early.pop(0) if self._early else await self._channel.recv()
            if datagram == _PRESENCE:
                # the peer is still waiting for us: answer, so it starts its media
                await self._send_control(_PRESENCE_ACK)
                continue
            if datagram == _PRESENCE_ACK:
                continue
            if len(datagram) <= MAX_DATAGRAM_SIZE:
                self._counter.received(len(datagram))
                return datagram
            self._counter.datagrams_dropped += 1

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            await self._channel.close()

    @property
    def counters(self) -> PathCounters:
        return self._counter.snapshot()

    @property
    def stats(self) -> TransportStats:
        return TransportStats(
            path=None if self._closed else PathKind.RELAY, direct=PathCounters(), relay=self._counter.snapshot()
        )
