"""Two real server processes on one PostgreSQL database, fanning out over NATS: a device
connected to one node gets what was posted on the other (mailbox deliveries and call signalling),
the first commit of an epoch wins across nodes, and the media relay joins a call whose two devices
are connected to different nodes.

NATS is ``ENSEAL_TEST_NATS`` (default nats://127.0.0.1:4222) and PostgreSQL
``ENSEAL_TEST_POSTGRES``; without them the test is skipped with the reason, except under CI
(env CI set), where it fails.
"""

from __future__ import annotations

import asyncio
import os
import random
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from enseal.server.launcher import RunningServer, init_data_dir, launch_server
from enseal.signalling import Call, CallAccept, CallEnd, EndReason, MediaOffer, message_to_json
from enseal.storage import StorageUnavailable
from enseal.storage.scratch import DEFAULT_TEST_POSTGRES, scratch_postgres_database

from .actors import expect
from .live import DeviceSocket, Live, WebSocketRelayChannel
from .mls_clients import MlsClient

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.nats]

NATS_URL = os.environ.get("ENSEAL_TEST_NATS", "nats://127.0.0.1:4222")


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


def _nats_reachable() -> None:
    parsed = urlparse(NATS_URL)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 4222), timeout=2):
            return
    except OSError as exc:
        _unavailable(f"NATS at {NATS_URL} is not reachable: {exc}")


@pytest.fixture
def nodes(tmp_path: Path) -> Iterator[tuple[RunningServer, RunningServer, str]]:
    _nats_reachable()
    try:
        with scratch_postgres_database(os.environ.get("ENSEAL_TEST_POSTGRES", DEFAULT_TEST_POSTGRES)) as url:
            initialised = init_data_dir(tmp_path / "data", database_url=url)
            first = launch_server(initialised.data_dir.root, nats_url=NATS_URL)
            try:
                second = launch_server(initialised.data_dir.root, nats_url=NATS_URL)
                try:
                    yield first, second, initialised.bootstrap_token.text()
                finally:
                    second.stop()
            finally:
                first.stop()
    except StorageUnavailable as exc:
        _unavailable(str(exc))


def _add(client: MlsClient) -> Any:
    from enseal.mls.framing import MLSMessage
    from enseal.mls.proposals import Add
    from enseal.mls.wire import deserialize

    return Add(key_package=deserialize(MLSMessage, client.new_key_package()).body)  # type: ignore[arg-type]


def test_two_nodes_deliver_to_devices_on_either_node(nodes: tuple[RunningServer, RunningServer, str]) -> None:
    first, second, token = nodes

    async def scenario() -> None:
        one = await Live.bootstrap(first, token)
        two = one.on(second, one.operator)
        alice = MlsClient(await one.device("alice@scale"))
        bob = MlsClient(await two.device("bob@scale"))
        bob_ws = await DeviceSocket.open(second, bob.device)
        alice_ws = await DeviceSocket.open(first, alice.device)
        group = alice.create_group(await one.server_info())
        await alice.register_group(one.client, group, users=["bob@scale"])
        await alice.post_commit(one.client, group, proposals=[_add(bob)])
        welcome = await bob_ws.next_of("group.welcome")
        bob.take(welcome["type"], welcome["data"])
        await alice.send(one.client, group, b"posted on node one", "n1")
        frame = await bob_ws.next_of("group.message")
        bob.take(frame["type"], frame["data"])
        bobs = bob.groups[group.group_id.hex()]
        await bob.send(two.client, bobs, b"posted on node two", "n2")
        frame = await alice_ws.next_of("group.message")
        alice.take(frame["type"], frame["data"])
        assert bob.received == [b"posted on node one"] and alice.received == [b"posted on node two"]
        # Two commits of one epoch, one to each node at once: exactly one wins.
        path = f"/v1/groups/{group.group_id.hex()}/handshake"
        first_body, _ = alice.commit_body(group, force_path=True)
        second_body, _ = bob.commit_body(bobs, force_path=True)
        results = await asyncio.gather(
            one.client.post(path, json=first_body, headers=alice.headers),
            two.client.post(path, json=second_body, headers=bob.headers),
        )
        assert sorted(r.status_code for r in results) == [201, 409], [r.text for r in results]
        # A call whose devices are on different nodes: signalling and the relay cross over.
        call, invite = Call.place(
            callee="bob@scale", media=MediaOffer(), e2ee_capable=True, now=0.0, rng=random.Random().randbytes
        )
        expect(await one.client.post("/v1/calls", json=message_to_json(invite), headers=alice.headers), 201)
        assert (await bob_ws.next_of("call.invite"))["data"]["sender"] == alice.device.identity.decode()
        accept = CallAccept(call_id=call.call_id, media=MediaOffer())
        expect(
            await two.client.post(
                f"/v1/calls/{call.call_id}/signal", json=message_to_json(accept), headers=bob.headers
            ),
            200,
        )
        await alice_ws.next_of("call.accept")
        await alice_ws.next_of("call.media_key")
        alice_relay = await WebSocketRelayChannel.open(first, alice.device, call.call_id)
        bob_relay = await WebSocketRelayChannel.open(second, bob.device, call.call_id)
        datagrams = [bytes([n]) * (100 + n) for n in range(20)]
        for datagram in datagrams:
            await alice_relay.send(datagram)
        assert [await asyncio.wait_for(bob_relay.recv(), 10) for _ in datagrams] == datagrams
        await bob_relay.send(b"back across the nodes")
        assert await asyncio.wait_for(alice_relay.recv(), 10) == b"back across the nodes"
        stats_one = expect(await one.client.get(f"/v1/calls/{call.call_id}/relay-stats", headers=alice.headers), 200)
        stats_two = expect(await two.client.get(f"/v1/calls/{call.call_id}/relay-stats", headers=bob.headers), 200)
        total = sum(len(d) for d in datagrams)
        assert stats_one["node"] != stats_two["node"]
        assert stats_one["caller"]["bytes_in"] == total and stats_two["callee"]["bytes_out"] == total
        end = CallEnd(call_id=call.call_id, reason=EndReason.HUNG_UP)
        expect(
            await two.client.post(f"/v1/calls/{call.call_id}/signal", json=message_to_json(end), headers=bob.headers),
            200,
        )
        assert (await alice_ws.next_of("call.end"))["data"]["message"]["reason"] == "hung_up"
        for closable in (alice_relay, bob_relay, alice_ws, bob_ws):
            await closable.close()
        await one.close()
        await two.close()

    asyncio.run(scenario())
