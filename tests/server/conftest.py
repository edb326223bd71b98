"""Server fixtures: an in-process app (httpx over ASGI, real store in a temp data dir, a clock
the test moves) with an operator signed in; helpers to create tenants, users and devices."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from enseal.server.app import create_app
from enseal.server.data_dir import ServerConfig
from enseal.server.initialise import initialise_data_dir
from enseal.server.state import ServerState, open_state

from .actors import Clock, DeviceActor, expect


@dataclass
class Api:
    client: httpx.AsyncClient
    state: ServerState
    clock: Clock
    operator: dict[str, str]
    bootstrap_token: str

    async def admin(self, method: str, path: str, status: int = 200, **kwargs: Any) -> Any:
        return expect(await self.client.request(method, path, headers=self.operator, **kwargs), status)

    async def tenant(self, tenant: str, kind: str = "commercial", **extra: Any) -> None:
        await self.admin("POST", "/v1/tenants", 201, json={"tenant": tenant, "kind": kind, **extra})

    async def user(self, address: str, **flags: Any) -> str:
        """Create the user (and the tenant if needed); returns the enrollment code."""
        name, tenant = address.split("@")
        if (await self.client.get(f"/v1/tenants/{tenant}", headers=self.operator)).status_code == 404:
            await self.tenant(tenant)
        body = await self.admin("POST", f"/v1/tenants/{tenant}/users", 201, json={"name": name, **flags})
        return str(body["enrollment"]["enrollment_code"])

    async def device(
        self, address: str, *, supports_e2ee: bool = True, code: str | None = None, **flags: Any
    ) -> DeviceActor:
        """A registered, signed-in device of ``address`` (the user is created unless a code is given)."""
        actor = DeviceActor.new(address)
        await actor.register(self.client, code or await self.user(address, **flags), supports_e2ee=supports_e2ee)
        await actor.sign_in(self.client, self.state.server_id)
        return actor


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    initialised = await initialise_data_dir(tmp_path / "data")
    clock = Clock()
    state = await open_state(initialised.data_dir, ServerConfig.load(initialised.data_dir), clock=clock)
    transport = httpx.ASGITransport(app=create_app(state))
    async with httpx.AsyncClient(transport=transport, base_url="https://enseal.test") as client:
        token = initialised.bootstrap_token.text()
        issued = expect(await client.post("/v1/admin/bootstrap", json={"token": token}), 201)
        yield Api(
            client=client,
            state=state,
            clock=clock,
            operator={"Authorization": f"Bearer {issued['api_key']}"},
            bootstrap_token=token,
        )
    await state.close()
