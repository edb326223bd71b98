"""Two users who start their 1:1 conversation at the same moment end up in one conversation:
the server keeps one chat group per set of users (``one_per_users``), the second creator uses the
first one's group, and messages from both arrive in it."""

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
from enseal.wire.groups import GroupList

from .test_resume import PASSPHRASE, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.anyio]


async def test_simultaneous_first_messages_share_one_conversation(tmp_path: Path) -> None:
    initialised = await initialise_data_dir(tmp_path / "server")
    server = launch_server(initialised.data_dir.root)
    try:
        async with httpx.AsyncClient(base_url=server.url, verify=server.ssl_context()) as admin:
            key = (await admin.post("/v1/admin/bootstrap", json={"token": initialised.bootstrap_token.text()})).json()
            admin.headers["Authorization"] = f"Bearer {key['api_key']}"
            await admin.post("/v1/tenants", json={"tenant": "acme", "kind": "commercial"})
            codes = {}
            for name in ("alice", "bob"):
                created = (await admin.post("/v1/tenants/acme/users", json={"name": name})).json()
                codes[name] = created["enrollment"]["enrollment_code"]
        accounts = {
            name: await Account.register(tmp_path / name, PASSPHRASE, server_url=server.url,
                                         ca_certificate=initialised.data_dir.ca_certificate,
                                         user=f"{name}@acme", enrollment_code=codes[name])
            for name in ("alice", "bob")
        }
        received: dict[str, list[str]] = {"alice": [], "bob": []}

        def collector(name: str):  # type: ignore[no-untyped-def]
            def on_event(event: object) -> None:
                if isinstance(event, TextMessage) and not event.outgoing:
                    received[name].append(event.text)

            return on_event

        sessions = {name: DeviceSession(accounts[name], on_event=collector(name)) for name in accounts}
        for session in sessions.values():
            await session.start(connect_events=True)
        await asyncio.gather(
            sessions["alice"].send_text(["bob@acme"], "hello from alice"),
            sessions["bob"].send_text(["alice@acme"], "hello from bob"),
        )
        await wait_for(lambda: "hello from alice" in received["bob"] and "hello from bob" in received["alice"])
        alice_group = sessions["alice"].conversations.find({"bob@acme"})
        bob_group = sessions["bob"].conversations.find({"alice@acme"})
        assert alice_group == bob_group and alice_group is not None
        listed = await sessions["alice"].api.call("GET", "/v1/groups", GroupList)
        assert [g.group_id for g in listed.groups if g.kind == "chat"] == [alice_group]  # one conversation
        for session in sessions.values():
            await session.close()
    finally:
        server.stop()
