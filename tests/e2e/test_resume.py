"""Reconnect and resume: a device's session keeps its event WebSocket across a server restart
and a crash of its own, and every message arrives exactly once."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from enseal.client.account import Account
from enseal.client.conversations import TextMessage
from enseal.client.session import DeviceSession
from enseal.server.initialise import initialise_data_dir
from enseal.server.launcher import launch_server

pytestmark = [pytest.mark.slow, pytest.mark.anyio]

PASSPHRASE = "resume test passphrase"


async def wait_for(condition, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_messages_arrive_once_across_a_server_restart_and_a_client_crash(tmp_path: Path) -> None:
    initialised = await initialise_data_dir(tmp_path / "server")
    server = launch_server(initialised.data_dir.root)
    port = server.port
    try:
        async with httpx.AsyncClient(base_url=server.url, verify=server.ssl_context()) as admin:
            key = (await admin.post("/v1/admin/bootstrap", json={"token": initialised.bootstrap_token.text()})).json()
            admin.headers["Authorization"] = f"Bearer {key['api_key']}"
            await admin.post("/v1/tenants", json={"tenant": "acme", "kind": "commercial"})
            codes = {}
            for name in ("alice", "bob"):
                created = (await admin.post("/v1/tenants/acme/users", json={"name": name})).json()
                codes[name] = created["enrollment"]["enrollment_code"]

        async def register(name: str) -> Account:
            return await Account.register(
                tmp_path / name,
                PASSPHRASE,
                server_url=server.url,
                ca_certificate=initialised.data_dir.ca_certificate,
                user=f"{name}@acme",
                enrollment_code=codes[name],
            )

        alice, bob = await register("alice"), await register("bob")
        received: list[TextMessage] = []

        def on_event(event: object) -> None:
            if isinstance(event, TextMessage):
                received.append(event)

        sender = DeviceSession(alice)
        await sender.start()
        await sender.send_text(["bob@acme"], "one")
        listener = DeviceSession(bob, on_event=on_event)
        await listener.start(connect_events=True)
        assert [m.text for m in received] == ["one"]  # caught up through the REST mailbox at start
        await sender.send_text(["bob@acme"], "two")
        await wait_for(lambda: len(received) == 2)  # live, over the WebSocket

        server.stop()
        server = launch_server(initialised.data_dir.root, port=port)
        await sender.send_text(["bob@acme"], "three")
        await wait_for(lambda: len(received) == 3, timeout=30)  # the session reconnected by itself

        # bob's device crashes (no clean close), alice writes meanwhile, bob starts again
        await listener.close()
        bob.store.close()
        await bob.api.aclose()
        await sender.send_text(["bob@acme"], "four")
        bob_again = Account.open(tmp_path / "bob", PASSPHRASE)
        restarted = DeviceSession(bob_again, on_event=on_event)
        await restarted.start(connect_events=True)
        await sender.send_text(["bob@acme"], "five")
        await wait_for(lambda: len(received) == 5)
        await asyncio.sleep(0.5)
        assert [m.text for m in received] == ["one", "two", "three", "four", "five"]
        assert [m.text for m in restarted.history("alice@acme")] == ["one", "two", "three", "four", "five"]
        await restarted.close()
        await sender.close()
        await bob_again.close()
        await alice.close()
    finally:
        server.stop()
