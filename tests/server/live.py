"""Helpers for tests against real server processes over real TLS: an operator, signed-in devices,
the device WebSocket (events and mailbox, with acks and resume) and the media relay channel."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from enseal.server.launcher import RunningServer

from .actors import DeviceActor, expect


@dataclass
class Live:
    """One server (or one node) with an operator key, for async tests."""

    server: RunningServer
    operator: dict[str, str]
    client: httpx.AsyncClient

    @classmethod
    async def bootstrap(cls, server: RunningServer, bootstrap_token: str) -> Live:
        client = httpx.AsyncClient(base_url=server.url, verify=server.ssl_context(), timeout=20)
        issued = expect(await client.post("/v1/admin/bootstrap", json={"token": bootstrap_token}), 201)
        return cls(server=server, operator={"Authorization": f"Bearer {issued['api_key']}"}, client=client)

    def on(self, other: RunningServer, operator: dict[str, str]) -> Live:
        """The same operator on another node of the same server."""
        return Live(
            server=other,
            operator=operator,
            client=httpx.AsyncClient(base_url=other.url, verify=other.ssl_context(), timeout=20),
        )

    async def admin(self, method: str, path: str, status: int = 200, **kwargs: Any) -> Any:
        return expect(await self.client.request(method, path, headers=self.operator, **kwargs), status)

    async def device(self, address: str, *, new_user: bool = True, **flags: Any) -> DeviceActor:
        name, tenant = address.split("@")
        if (await self.client.get(f"/v1/tenants/{tenant}", headers=self.operator)).status_code == 404:
            await self.admin("POST", "/v1/tenants", 201, json={"tenant": tenant, "kind": "commercial"})
        if new_user:
            body = await self.admin("POST", f"/v1/tenants/{tenant}/users", 201, json={"name": name, **flags})
            code = body["enrollment"]["enrollment_code"]
        else:
            code = (await self.admin("POST", f"/v1/tenants/{tenant}/users/{name}/enrollment-codes", 201))[
                "enrollment_code"
            ]
        actor = DeviceActor.new(address)
        await actor.register(self.client, code)
        info = expect(await self.client.get("/v1/server/info"), 200)
        await actor.sign_in(self.client, info["server_id"])
        return actor

    async def server_info(self) -> dict[str, Any]:
        return expect(await self.client.get("/v1/server/info"), 200)  # type: ignore[no-any-return]

    async def close(self) -> None:
        await self.client.aclose()


@dataclass
class DeviceSocket:
    """A device's ``/v1/ws``: frames in order, acks and pings."""

    ws: ClientConnection
    frames: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    async def open(cls, server: RunningServer, device: DeviceActor, *, after: int | None = None) -> DeviceSocket:
        url = server.ws_url + ("" if after is None else f"?after={after}")
        ws = await connect(url, ssl=server.ssl_context(), additional_headers=device.headers)
        socket = cls(ws)
        hello = await socket.next()
        assert hello["type"] == "hello", hello
        return socket

    async def next(self, timeout: float = 10) -> dict[str, Any]:
        frame: dict[str, Any] = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
        self.frames.append(frame)
        return frame

    async def next_of(self, *types: str, timeout: float = 10) -> dict[str, Any]:
        """The next frame of one of ``types`` (others are skipped, but kept in ``frames``)."""
        while True:
            frame = await self.next(timeout)
            if frame["type"] in types:
                return frame

    async def quiet(self, seconds: float = 0.5) -> list[dict[str, Any]]:
        """Every frame that arrives within ``seconds``."""
        out = []
        try:
            while True:
                out.append(await self.next(seconds))
        except TimeoutError:
            return out

    async def ack(self, mailbox_seq: int) -> None:
        await self.ws.send(json.dumps({"v": 1, "type": "ack", "ref": str(mailbox_seq)}))

    async def close(self) -> None:
        await self.ws.close()


class WebSocketRelayChannel:
    """The ``enseal.client.media.RelayChannel`` interface over the server's relay endpoint."""

    def __init__(self, ws: ClientConnection) -> None:
        self._ws = ws

    @classmethod
    async def open(cls, server: RunningServer, device: DeviceActor, call_id: str) -> WebSocketRelayChannel:
        url = f"wss://{server.host}:{server.port}/v1/calls/{call_id}/relay"
        return cls(await connect(url, ssl=server.ssl_context(), additional_headers=device.headers, max_size=2**16))

    async def send(self, datagram: bytes) -> None:
        await self._ws.send(datagram)

    async def recv(self) -> bytes:
        message = await self._ws.recv()
        assert isinstance(message, bytes)
        return message

    async def close(self) -> None:
        await self._ws.close()

    @property
    def close_code(self) -> int | None:
        return self._ws.close_code


__all__ = ["ConnectionClosed", "DeviceSocket", "Live", "WebSocketRelayChannel"]
