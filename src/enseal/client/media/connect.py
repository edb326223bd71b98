"""Setting up a call's media path: direct UDP first, the server's relay when that fails.

:func:`connect_media` is what the client calls once a call is accepted (state CONNECTING):

1. Unless ``direct`` is False, open a :class:`UdpTransport` on the host candidates (the checks
   start at once, so a fast peer is answered).
2. Send this side's candidates to the peer (``call.candidates``; empty when direct is disabled
   or nothing could be bound) through ``exchange``.
3. If this side has candidates, wait for the peer's; if the peer has some too, run the checks.
   A selected pair ends here: the call goes peer to peer and the relay is never opened.
4. Otherwise (direct disabled on either side, no pair, or
   :data:`~enseal.signalling.DIRECT_CONNECT_TIMEOUT_SECONDS` passed) open the relay channel
   (at most :data:`~enseal.client.media.relay.RELAY_CONNECT_TIMEOUT_SECONDS`).

So the fallback is bounded: the relay is in use at most the direct timeout (plus the controlled
side's extra wait) plus the relay's connect timeout after the start. The returned
:class:`CallMediaTransport` also moves a running call from a direct path that stops answering
consent checks to the relay (:class:`~enseal.client.media.errors.DirectPathLost`), so two sides
that disagreed about the outcome end up together on the relay.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol

from enseal.client.media.errors import DirectPathFailed, DirectPathLost, RelayClosed, TransportClosed
from enseal.client.media.relay import RELAY_CONNECT_TIMEOUT_SECONDS, RelayConnector, RelayTransport
from enseal.client.media.transport import MediaTransport, PathCounters, PathKind, TransportStats
from enseal.client.media.udp_transport import SocketBinder, UdpTransport
from enseal.crypto import RandomSource, system_random
from enseal.errors import LocalProtocolError
from enseal.signalling import (
    CONTROLLED_EXTRA_WAIT_SECONDS,
    DIRECT_CONNECT_TIMEOUT_SECONDS,
    Candidate,
    CheckRole,
    ConnectivityKey,
)


class CandidateExchange(Protocol):
    """How candidates travel over the call's signalling (``call.candidates`` both ways)."""

    async def send(self, candidates: tuple[Candidate, ...]) -> None:
        """Send this side's candidates to the peer (empty: relay only)."""

    async def receive(self) -> tuple[Candidate, ...]:
        """The peer's candidates, once they arrive."""


class CallMediaTransport(MediaTransport):
    """The media transport of a call: the direct path if one was selected, else (or after it
    is lost) the relay."""

    def __init__(
        self,
        *,
        direct: UdpTransport | None,
        relay: RelayTransport | None,
        relay_connector: RelayConnector | None,
        relay_timeout: float,
    ) -> None:
        self._active: MediaTransport
        if direct is not None and relay is None:
            self._active = direct
        elif relay is not None and direct is None:
            self._active = relay
        else:
            raise LocalProtocolError("exactly one of direct and relay starts the call")
        self._direct = direct
        self._relay = relay
        self._relay_connector = relay_connector
        self._relay_timeout = relay_timeout
        self._switch_lock = asyncio.Lock()
        self._switches = 0
        self._closed = False

    @property
    def path(self) -> PathKind:
        return PathKind.DIRECT if self._active is self._direct else PathKind.RELAY

    @property
    def direct(self) -> UdpTransport | None:
        return self._direct

    async def _fall_back(self, failed: MediaTransport) -> None:
        async with self._switch_lock:
            if self._active is not failed:
                return  # another task already switched
            if self._relay_connector is None:
                raise DirectPathLost("direct media path lost and no relay to fall back to")
            self._relay = await _open_relay(self._relay_connector, self._relay_timeout)
            self._active = self._relay
            self._switches += 1
            await failed.close()

    async def move_to_relay(self) -> None:
        """Carry the call through the relay from now on (a recorder joined: it only sees the
        relay path). No-op if already there; the peer, told the same, meets us there, or follows
        when its consent checks on the closed direct path fail."""
        if self._closed or self._active is self._relay:
            return
        await self._fall_back(self._active)

    async def send(self, datagram: bytes) -> None:
        if self._closed:
            raise TransportClosed("call media transport is closed")
        transport = self._active
        try:
            await transport.send(datagram)
        except DirectPathLost:
            await self._fall_back(transport)
            await self._active.send(datagram)

    async def recv(self) -> bytes:
        while True:
            if self._closed:
                raise TransportClosed("call media transport is closed")
            transport = self._active
            try:
                return await transport.recv()
            except DirectPathLost:
                await self._fall_back(transport)
            except TransportClosed:
                if self._closed or transport is self._active:
                    raise
                # the direct transport was closed by a switch to the relay: read the relay

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for transport in (self._direct, self._relay):
            if transport is not None:
                await transport.close()

    @property
    def stats(self) -> TransportStats:
        return TransportStats(
            path=None if self._closed else self.path,
            direct=self._direct.counters if self._direct is not None else PathCounters(),
            relay=self._relay.counters if self._relay is not None else PathCounters(),
            path_switches=self._switches,
        )


async def connect_media(
    *,
    role: CheckRole,
    key: ConnectivityKey,
    exchange: CandidateExchange,
    relay: RelayConnector | None,
    direct: bool = True,
    host_addresses: Sequence[str] | None = None,
    direct_timeout: float = DIRECT_CONNECT_TIMEOUT_SECONDS,
    relay_timeout: float = RELAY_CONNECT_TIMEOUT_SECONDS,
    rng: RandomSource = system_random,
    socket_binder: SocketBinder | None = None,
) -> CallMediaTransport:
    """The media path of an accepted call (see the module docstring for the rules).

    ``role`` and ``key`` come from the :class:`~enseal.signalling.Call`
    (``call.role.check_role``, ``call.connectivity_key``). ``direct=False`` (or
    ``host_addresses=()``) offers no candidates, so the call uses the relay; ``relay`` None
    means there is none (a direct failure then raises :class:`DirectPathFailed`).
    ``host_addresses`` and ``socket_binder`` are passed to :meth:`UdpTransport.open`.
    """
    udp: UdpTransport | None = None
    if direct:
        udp = await UdpTransport.open(
            role=role,
            key=key,
            host_addresses=host_addresses,
            timeout=direct_timeout,
            rng=rng,
            socket_binder=socket_binder,
        )
    try:
        local = udp.local_candidates if udp is not None else ()
        await exchange.send(local)
        if udp is None:
            reason = "direct media is disabled on this side"
        elif not local:
            reason = "no host candidate could be bound"
        else:
            wait = direct_timeout + (CONTROLLED_EXTRA_WAIT_SECONDS if role is CheckRole.CONTROLLED else 0.0)
            found = await _direct_path(udp, exchange, wait)
            if found is None:
                return CallMediaTransport(direct=udp, relay=None, relay_connector=relay, relay_timeout=relay_timeout)
            reason = found
        if udp is not None:
            await udp.close()
            udp = None
        if relay is None:
            raise DirectPathFailed("no direct media path and no relay", reason)
        return CallMediaTransport(
            direct=None,
            relay=await _open_relay(relay, relay_timeout),
            relay_connector=relay,
            relay_timeout=relay_timeout,
        )
    except BaseException:
        if udp is not None:
            await udp.close()
        raise


async def _open_relay(connector: RelayConnector, timeout: float) -> RelayTransport:
    try:
        transport = RelayTransport(await asyncio.wait_for(connector(), timeout))
    except TimeoutError as exc:
        raise RelayClosed("the media relay did not open in time", f"{timeout:g} s") from exc
    try:
        await transport.wait_for_peer()
    except BaseException:
        await transport.close()
        raise
    return transport


async def _direct_path(udp: UdpTransport, exchange: CandidateExchange, wait: float) -> str | None:
    """None once a pair is selected, else why there is no direct path."""
    try:
        remote = await asyncio.wait_for(exchange.receive(), wait)
    except TimeoutError:
        return "the peer's candidates did not arrive in time"
    if not remote:
        return "the peer offered no direct candidates"
    try:
        await udp.connect(remote)
    except DirectPathFailed as exc:
        return str(exc)
    return None
