"""Schemathesis over the served OpenAPI document of a real server process: generated valid and
invalid requests, with an operator key and with a device token, must never get a 5xx, and the
server must log no internal error. The "member" run pins the path parameters to a real group, call
and recording of the signed-in device, so the delivery service and call endpoints are fuzzed
past their 404s with generated handshakes, messages and signalling. Bounded by examples per
operation and by time (about a minute per principal)."""

from __future__ import annotations

import asyncio
import random
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from enseal.mls.framing import MLSMessage
from enseal.mls.proposals import Add
from enseal.mls.wire import deserialize
from enseal.server.launcher import RunningServer, init_data_dir, launch_server
from enseal.signalling import Call, CallAccept, MediaOffer, message_to_json

from .actors import DeviceActor, expect
from .mls_clients import MlsClient

pytestmark = pytest.mark.slow

MAX_EXAMPLES = 12
MAX_SECONDS = 45


@dataclass
class Fuzzed:
    server: RunningServer
    admin_key: str
    device_token: str
    path_parameters: dict[str, str]


async def _real_objects(running: RunningServer, device: DeviceActor, key: str) -> dict[str, str]:
    """A group with a second member, and a recorded standard call, of ``device``."""
    async with httpx.AsyncClient(base_url=running.url, verify=running.ssl_context(), timeout=20) as client:
        admin = {"Authorization": f"Bearer {key}"}
        info = expect(await client.get("/v1/server/info"), 200)
        bob_code = expect(await client.post("/v1/tenants/acme/users", headers=admin, json={"name": "bob"}), 201)
        bob = MlsClient(DeviceActor.new("bob@acme"))
        await bob.device.register(client, bob_code["enrollment"]["enrollment_code"])
        await bob.device.sign_in(client, info["server_id"])
        alice = MlsClient(device)
        group = alice.create_group(info)
        await alice.register_group(client, group, users=["bob@acme"])
        package = deserialize(MLSMessage, bob.new_key_package()).body
        await alice.post_commit(client, group, proposals=[Add(key_package=package)])  # type: ignore[arg-type]
        call, invite = Call.place(
            callee="bob@acme", media=MediaOffer(), e2ee_capable=False, now=0.0, rng=random.Random(3).randbytes
        )
        expect(await client.post("/v1/calls", json=message_to_json(invite), headers=device.headers), 201)
        accept = message_to_json(CallAccept(call_id=call.call_id, media=MediaOffer()))
        expect(await client.post(f"/v1/calls/{call.call_id}/signal", json=accept, headers=bob.headers), 200)
        recording = expect(
            await client.post(
                f"/v1/calls/{call.call_id}/features", json={"feature": "recording"}, headers=device.headers
            ),
            200,
        )
    return {"group_id": group.group_id.hex(), "call_id": call.call_id, "recording_id": recording["recording_id"]}


@pytest.fixture(scope="module")
def fuzzed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzzed]:
    """A server with a tenant, users, a signed-in device, its group and its call."""
    initialised = init_data_dir(tmp_path_factory.mktemp("fuzz") / "data")
    running = launch_server(initialised.data_dir.root)
    try:
        with httpx.Client(base_url=running.url, verify=running.ssl_context(), timeout=10) as client:
            key = expect(client.post("/v1/admin/bootstrap", json={"token": initialised.bootstrap_token.text()}), 201)[
                "api_key"
            ]
            admin = {"Authorization": f"Bearer {key}"}
            expect(client.post("/v1/tenants", headers=admin, json={"tenant": "acme", "kind": "commercial"}), 201)
            code = expect(client.post("/v1/tenants/acme/users", headers=admin, json={"name": "alice"}), 201)
            server_id = expect(client.get("/v1/server/info"), 200)["server_id"]
        device = DeviceActor.new("alice@acme")

        async def enroll() -> None:
            async with httpx.AsyncClient(base_url=running.url, verify=running.ssl_context()) as client:
                await device.register(client, code["enrollment"]["enrollment_code"])
                await device.sign_in(client, server_id)

        asyncio.run(enroll())
        path_parameters = asyncio.run(_real_objects(running, device, key))
        yield Fuzzed(server=running, admin_key=key, device_token=device.token, path_parameters=path_parameters)
    finally:
        running.stop()


def _schemathesis() -> list[str]:
    beside = Path(sys.executable).with_name("schemathesis")
    found = str(beside) if beside.exists() else shutil.which("schemathesis")
    if found is None:
        pytest.fail("schemathesis is a development dependency and must be installed")
    return [found]


@pytest.mark.parametrize("principal", ["operator", "device", "member"])
def test_no_request_gets_a_server_error(fuzzed_server: Fuzzed, principal: str, tmp_path: Path) -> None:
    running = fuzzed_server.server
    token = fuzzed_server.admin_key if principal == "operator" else fuzzed_server.device_token
    config = tmp_path / "schemathesis.toml"
    if principal == "member":
        pinned = "\n".join(f'"path.{name}" = "{value}"' for name, value in fuzzed_server.path_parameters.items())
        config.write_text(f"[parameters]\n{pinned}\n")
    else:
        config.write_text("")
    command = [
        *_schemathesis(),
        "--config-file",
        str(config),
        "run",
        f"{running.url}/openapi.json",
        "--tls-verify",
        str(running.data_dir.ca_certificate),
        "--checks",
        "not_a_server_error",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--max-time",
        str(MAX_SECONDS),
        "--seed",
        "20260101",
        "--header",
        f"Authorization: Bearer {token}",
        "--request-timeout",
        "10",
        "--report-dir",
        str(tmp_path),
        "--no-color",
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=MAX_SECONDS + 60, check=False)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-8000:] + "\n--- server log ---\n" + running.log()[-4000:]
    summary = re.search(r"(\d+) generated, (\d+) passed", output)
    assert summary is not None and summary[1] == summary[2] and int(summary[1]) > 500, output[-3000:]
    assert "internal error" not in running.log() and "unhandled error" not in running.log(), running.log()[-4000:]
