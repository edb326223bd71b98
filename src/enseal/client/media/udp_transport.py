"""The direct media path: UDP sockets on the host candidates, driven by the sans-I/O
:class:`~enseal.signalling.ConnectivityAgent`.

:meth:`UdpTransport.open` binds one UDP socket per host address (all interfaces, loopback
included, unless ``host_addresses`` says otherwise; an empty list gathers nothing, so the call
can only use the relay) and starts answering checks at once. :meth:`UdpTransport.connect` takes
the peer's candidates, runs the checks and returns the selected path, or raises
:class:`~enseal.client.media.errors.DirectPathFailed` when the agent gives up
(:data:`~enseal.signalling.DIRECT_CONNECT_TIMEOUT_SECONDS` after :meth:`open`). After that the
agent keeps the path alive with consent checks; when they stop being answered, :meth:`recv` and
:meth:`send` raise :class:`~enseal.client.media.errors.DirectPathLost`.

Every datagram is demultiplexed by its first byte: connectivity checks
(:data:`~enseal.signalling.CHECK_MAGIC`) go to the agent, anything else is media and is accepted
only on the selected path, from the selected peer address.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable, Sequence
from typing import Any, cast

from enseal.client.media.errors import DirectPathFailed, DirectPathLost, TransportClosed
from enseal.client.media.host_addresses import interface_addresses
from enseal.client.media.transport import (
    MAX_RECEIVE_QUEUE,
    MediaTransport,
    PathCounter,
    PathCounters,
    PathKind,
    TransportStats,
)
from enseal.crypto import RandomSource, system_random
from enseal.errors import CryptoError, LocalProtocolError, RemoteProtocolError
from enseal.media import MAX_DATAGRAM_SIZE
from enseal.signalling import (
    DIRECT_CONNECT_TIMEOUT_SECONDS,
    AgentAction,
    Candidate,
    CheckRole,
    ChecksFailed,
    ConnectivityAgent,
    ConnectivityKey,
    Endpoint,
    MediaPath,
    PathLost,
    PathSelected,
    SendCheck,
    host_candidates,
    is_check_datagram,
)

SocketBinder = Callable[[str], socket.socket]
"""``bind(address)``: a UDP socket bound to ``(address, 0)``."""


class _Socket(asyncio.DatagramProtocol):
    """One bound UDP socket (one host candidate)."""

    def __init__(self) -> None:
        self.owner: UdpTransport | None = None
        """Set once the transport exists; datagrams before that are dropped."""
        self.transport: asyncio.DatagramTransport | None = None
        self.endpoint: Endpoint | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # asyncio hands a datagram protocol its DatagramTransport (not always a subclass of it).
        self.transport = cast(asyncio.DatagramTransport, transport)
        address, port = transport.get_extra_info("sockname")[:2]
        self.endpoint = Endpoint(address=address, port=port)

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        if self.owner is not None and self.endpoint is not None:
            self.owner._on_datagram(self.endpoint, data, addr)

    def error_received(self, exc: Exception) -> None:
        # ICMP errors (port unreachable while checking a dead candidate) are expected; the
        # agent's timers decide what a silent pair means.
        if self.owner is not None:
            self.owner.socket_errors += 1


class UdpTransport(MediaTransport):
    """Direct UDP media for one call. Create with :meth:`open`."""

    def __init__(self, *, agent: ConnectivityAgent, sockets: dict[Endpoint, _Socket]) -> None:
        self._agent = agent
        self._sockets = sockets
        self._loop = asyncio.get_running_loop()
        self._timer: asyncio.TimerHandle | None = None
        self._selected: asyncio.Future[MediaPath] = self._loop.create_future()
        self._queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._failure: Exception | None = None
        self._closed = False
        self._counter = PathCounter()
        self.socket_errors = 0
        self.checks_refused = 0
        """Check datagrams refused (malformed, bad MAC, unexpected): what an attacker's show up as."""

    @classmethod
    async def open(
        cls,
        *,
        role: CheckRole,
        key: ConnectivityKey,
        host_addresses: Sequence[str] | None = None,
        timeout: float = DIRECT_CONNECT_TIMEOUT_SECONDS,
        rng: RandomSource = system_random,
        socket_binder: SocketBinder | None = None,
    ) -> UdpTransport:
        """Bind the sockets and start the agent. ``host_addresses`` None gathers every
        interface address (:func:`interface_addresses`); an empty sequence gathers none.
        ``socket_binder`` (default: the event loop binds) returns a UDP socket bound to an
        address at an ephemeral port, for a caller that binds elsewhere (in another network
        namespace, with special options)."""
        loop = asyncio.get_running_loop()
        addresses = interface_addresses() if host_addresses is None else list(host_addresses)
        sockets: dict[Endpoint, _Socket] = {}
        for address in addresses:
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            try:
                if socket_binder is None:
                    _, protocol = await loop.create_datagram_endpoint(_Socket, local_addr=(address, 0), family=family)
                else:
                    _, protocol = await loop.create_datagram_endpoint(_Socket, sock=socket_binder(address))
            except OSError:
                continue  # an address that cannot be bound (gone, or tentative IPv6) is no candidate
            assert protocol.endpoint is not None
            sockets[protocol.endpoint] = protocol
        candidates = host_candidates(sockets)
        for extra in list(sockets)[len(candidates) :]:  # beyond MAX_CANDIDATES
            closing = sockets.pop(extra).transport
            if closing is not None:
                closing.close()
        agent = ConnectivityAgent(
            role=role, key=key, local_candidates=candidates, rng=rng, now=loop.time(), timeout=timeout
        )
        transport = cls(agent=agent, sockets=sockets)
        for protocol in sockets.values():
            protocol.owner = transport
        transport._schedule()
        return transport

    @property
    def local_candidates(self) -> tuple[Candidate, ...]:
        """The candidates to send the peer in ``call.candidates``."""
        return self._agent.local_candidates

    @property
    def selected(self) -> MediaPath | None:
        return self._agent.selected

    async def connect(self, remote_candidates: Sequence[Candidate]) -> MediaPath:
        """Check the pairs with the peer's candidates; the selected path, or
        :class:`DirectPathFailed`."""
        if self._closed:
            raise TransportClosed("UDP transport is closed")
        if not self._selected.done():
            self._run(self._agent.set_remote_candidates(remote_candidates, self._loop.time()))
        return await asyncio.shield(self._selected)

    # -- agent plumbing -------------------------------------------------------------------------

    def _run(self, actions: list[AgentAction]) -> None:
        for action in actions:
            match action:
                case SendCheck():
                    sock = self._sockets.get(action.local)
                    if sock is not None and sock.transport is not None and not sock.transport.is_closing():
                        sock.transport.sendto(action.data, (action.remote.address, action.remote.port))
                case PathSelected():
                    if not self._selected.done():
                        self._selected.set_result(action.path)
                case ChecksFailed():
                    self._fail(DirectPathFailed("no direct media path", action.reason))
                case PathLost():
                    self._fail(DirectPathLost("direct media path lost", action.reason))
        self._schedule()

    def _fail(self, error: Exception) -> None:
        self._failure = error
        if not self._selected.done():
            self._selected.set_exception(error)
            self._selected.exception()  # retrieved here, so an unawaited failure is not logged
        self._queue.put_nowait(None)  # wakes a pending recv

    def _schedule(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        deadline = self._agent.next_deadline()
        if deadline is not None and not self._closed:
            self._timer = self._loop.call_at(deadline, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._run(self._agent.poll(self._loop.time()))

    def _on_datagram(self, local: Endpoint, data: bytes, addr: tuple[Any, ...]) -> None:
        if self._closed:
            return
        try:
            source = Endpoint(address=addr[0], port=addr[1])
        except LocalProtocolError:
            return
        if is_check_datagram(data):
            try:
                actions = self._agent.receive(data, received_on=local, source=source, now=self._loop.time())
            except (RemoteProtocolError, CryptoError):
                self.checks_refused += 1
                return
            self._run(actions)
            return
        path = self._agent.selected
        if path is None or path.local != local or path.remote != source or len(data) > MAX_DATAGRAM_SIZE:
            self._counter.datagrams_dropped += 1
            return
        if self._queue.qsize() >= MAX_RECEIVE_QUEUE:
            self._counter.datagrams_dropped += 1
            return
        self._counter.received(len(data))
        self._queue.put_nowait(data)

    # -- MediaTransport ---------------------------------------------------------------------------

    async def send(self, datagram: bytes) -> None:
        if self._closed:
            raise TransportClosed("UDP transport is closed")
        if self._failure is not None:
            raise self._failure
        path = self._agent.selected
        if path is None:
            raise LocalProtocolError("no direct path selected yet: await connect() first")
        if len(datagram) > MAX_DATAGRAM_SIZE:
            raise LocalProtocolError(f"datagram of {len(datagram)} bytes exceeds {MAX_DATAGRAM_SIZE}")
        sock = self._sockets[path.local].transport
        if sock is None or sock.is_closing():
            return  # the socket died under us; consent checks will report the path lost
        sock.sendto(datagram, (path.remote.address, path.remote.port))
        self._counter.sent(len(datagram))

    async def recv(self) -> bytes:
        while True:
            if self._closed:
                raise TransportClosed("UDP transport is closed")
            if self._failure is not None and self._queue.empty():
                raise self._failure
            item = await self._queue.get()
            if item is not None:
                return item

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
        if not self._selected.done():
            self._selected.set_exception(TransportClosed("UDP transport is closed"))
            self._selected.exception()
        for sock in self._sockets.values():
            if sock.transport is not None:
                sock.transport.close()
        self._queue.put_nowait(None)

    @property
    def stats(self) -> TransportStats:
        usable = self._agent.selected is not None and not self._closed and self._failure is None
        return TransportStats(
            path=PathKind.DIRECT if usable else None,
            direct=self._counter.snapshot(),
            relay=PathCounters(),
        )

    @property
    def counters(self) -> PathCounters:
        return self._counter.snapshot()

    def __repr__(self) -> str:
        return f"UdpTransport({self._agent.role.value}, {self._agent.state.value}, {self._agent.selected})"
