"""The transports on their own: UDP checks against a rogue responder, strangers, losing the
direct path mid-call, the relay's bounds, and connect_media's fallback rules."""

from __future__ import annotations

import asyncio
import socket

import pytest

from enseal.client.media import (
    CallMediaTransport,
    DirectPathFailed,
    InMemoryRelay,
    PathKind,
    RelayClosed,
    RelayTransport,
    TransportClosed,
    UdpTransport,
    connect_media,
    interface_addresses,
)
from enseal.signalling import (
    CheckRole,
    CheckType,
    ConnectivityCheck,
    ConnectivityKey,
    Endpoint,
    host_candidates,
    seal_check,
)
from enseal.signalling import connectivity as connectivity_module

from .call_peers import CALL_ID, connect_pair

pytestmark = pytest.mark.anyio

KEY = ConnectivityKey.derive(bytes(range(32)), CALL_ID)
WRONG_KEY = ConnectivityKey.derive(bytes(32), CALL_ID)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def test_interface_addresses_include_loopback() -> None:
    addresses = interface_addresses()
    assert "127.0.0.1" in addresses
    assert addresses.index("127.0.0.1") >= len([a for a in addresses if not a.startswith(("127.", "::1"))])


async def test_a_rogue_responder_without_the_secret_never_gets_the_path() -> None:
    """Something at the peer's address answers every check at once, echoing the transaction id,
    but MACs with a key of its own: every answer is refused and the direct path fails."""
    loop = asyncio.get_running_loop()
    rogue = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rogue.bind(("127.0.0.1", 0))
    rogue.setblocking(False)
    rogue_endpoint = Endpoint(address="127.0.0.1", port=rogue.getsockname()[1])
    answered = 0

    def answer() -> None:
        nonlocal answered
        data, (address, port) = rogue.recvfrom(2048)
        response = ConnectivityCheck(
            type=CheckType.RESPONSE,
            transaction_id=data[3:15],
            from_controlling=False,
            nominate=False,
            source=rogue_endpoint,
            destination=Endpoint(address=address, port=port),
        )
        rogue.sendto(seal_check(response, WRONG_KEY), (address, port))
        answered += 1

    loop.add_reader(rogue.fileno(), answer)
    udp = await UdpTransport.open(role=CheckRole.CONTROLLING, key=KEY, host_addresses=["127.0.0.1"], timeout=0.6)
    try:
        with pytest.raises(DirectPathFailed):
            await udp.connect(host_candidates([rogue_endpoint]))
        assert answered >= 2 and udp.checks_refused == answered
        assert udp.selected is None
    finally:
        loop.remove_reader(rogue.fileno())
        rogue.close()
        await udp.close()


async def test_media_from_a_stranger_is_dropped() -> None:
    relay = InMemoryRelay()
    caller, callee = await connect_pair(relay, host_addresses=["127.0.0.1"])
    assert caller.direct is not None and callee.direct is not None
    path = callee.direct.selected
    assert path is not None
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as stranger:
        stranger.sendto(b"\x01 not from the peer", (path.local.address, path.local.port))
        await caller.send(b"\x01 from the peer")
        assert await asyncio.wait_for(callee.recv(), 1.0) == b"\x01 from the peer"
    assert callee.stats.direct.datagrams_dropped == 1
    await caller.close()
    await callee.close()
    with pytest.raises(TransportClosed):
        await callee.recv()


async def test_losing_the_direct_path_mid_call_moves_both_sides_to_the_relay(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(connectivity_module, "CONSENT_TIMEOUT_SECONDS", 0.6)
    monkeypatch.setattr(connectivity_module, "KEEPALIVE_INTERVAL_SECONDS", 0.1)
    relay = InMemoryRelay()
    caller, callee = await connect_pair(relay, host_addresses=["127.0.0.1"])
    assert caller.path is callee.path is PathKind.DIRECT
    await caller.send(b"\x01 over the direct path")
    assert await callee.recv() == b"\x01 over the direct path"
    # The network between them goes away: close the callee's sockets behind its back.
    assert callee.direct is not None
    for sock in callee.direct._sockets.values():
        assert sock.transport is not None
        sock.transport.close()
    receiving = asyncio.create_task(callee.recv())  # fails over when its consent expires
    await asyncio.wait_for(_send_until(caller, receiving), 3.0)
    assert caller.path is callee.path is PathKind.RELAY
    assert receiving.result() == b"\x01 still talking"
    assert callee.stats.relay.datagrams_received == 1
    assert caller.stats.path_switches == callee.stats.path_switches == 1
    assert relay.channels_opened == 2
    await caller.close()
    await callee.close()


async def _send_until(transport: CallMediaTransport, received: asyncio.Task[bytes]) -> None:
    """Keep sending, as a call does; what is sent while the peer is still switching is lost."""
    while not received.done():
        await transport.send(b"\x01 still talking")
        await asyncio.sleep(0.05)


async def test_no_direct_path_and_no_relay_is_an_error() -> None:
    relay = InMemoryRelay()
    with pytest.raises(DirectPathFailed, match="no relay"):
        await connect_media(role=CheckRole.CONTROLLING, key=KEY, exchange=_NoPeer(), relay=None, direct=False)
    assert relay.channels_opened == 0


class _NoPeer:
    async def send(self, candidates: object) -> None:
        pass

    async def receive(self) -> tuple[()]:
        await asyncio.sleep(3600)
        return ()


async def test_in_memory_relay_bounds() -> None:
    relay = InMemoryRelay(queue_datagrams=2)
    first, second = await relay.connect(), await relay.connect()
    with pytest.raises(RelayClosed):
        await relay.connect()
    for index in range(3):
        await first.send(bytes([index]))
    assert relay.dropped == 1 and len(relay.forwarded) == 3
    assert [await second.recv(), await second.recv()] == [b"\x00", b"\x01"]
    transport = RelayTransport(second)
    await transport.close()
    with pytest.raises(TransportClosed):
        await transport.send(b"x")
    with pytest.raises(RelayClosed):
        await second.recv()
