"""Schemathesis over the served OpenAPI document of a real server process: generated valid and
invalid requests, with an operator key and with a device token, must never get a 5xx.
Bounded by examples per operation and by time (about a minute per principal)."""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from enseal.server.launcher import RunningServer, init_data_dir, launch_server

from .actors import DeviceActor, expect

pytestmark = pytest.mark.slow

MAX_EXAMPLES = 12
MAX_SECONDS = 45


@pytest.fixture(scope="module")
def fuzzed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningServer, str, str]]:
    """A server with a tenant, a user and a signed-in device; yields (server, admin key, device token)."""
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
        yield running, key, device.token
    finally:
        running.stop()


def _schemathesis() -> list[str]:
    beside = Path(sys.executable).with_name("schemathesis")
    found = str(beside) if beside.exists() else shutil.which("schemathesis")
    if found is None:
        pytest.fail("schemathesis is a development dependency and must be installed")
    return [found]


@pytest.mark.parametrize("principal", ["operator", "device"])
def test_no_request_gets_a_server_error(
    fuzzed_server: tuple[RunningServer, str, str], principal: str, tmp_path: Path
) -> None:
    running, admin_key, device_token = fuzzed_server
    token = admin_key if principal == "operator" else device_token
    command = [
        *_schemathesis(),
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
