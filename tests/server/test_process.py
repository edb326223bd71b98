"""A real ``enseal server run`` process over real sockets: TLS 1.3 only (plaintext HTTP and a
TLS 1.2 handshake are refused), the OpenAPI document, the device WebSocket, and durability of
acknowledged writes across SIGKILL (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from enseal.server.launcher import RunningServer, init_data_dir, launch_server
from enseal.storage import StorageUnavailable
from enseal.storage.scratch import DEFAULT_TEST_POSTGRES, scratch_postgres_database

from .actors import DeviceActor, expect

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningServer, str]]:
    initialised = init_data_dir(tmp_path_factory.mktemp("server") / "data")
    running = launch_server(initialised.data_dir.root)
    try:
        yield running, initialised.bootstrap_token.text()
    finally:
        running.stop()


def _client(server: RunningServer, **headers: str) -> httpx.Client:
    return httpx.Client(base_url=server.url, verify=server.ssl_context(), headers=headers, timeout=10)


def _operator(server: RunningServer, bootstrap_token: str) -> httpx.Client:
    with _client(server) as anonymous:
        issued = expect(anonymous.post("/v1/admin/bootstrap", json={"token": bootstrap_token}), 201)
    return _client(server, Authorization=f"Bearer {issued['api_key']}")


def test_tls13_with_the_private_ca_works(server: tuple[RunningServer, str]) -> None:
    running, _ = server
    with (
        socket.create_connection((running.host, running.port), timeout=5) as raw,
        running.ssl_context().wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        assert tls.version() == "TLSv1.3"
    with _client(running) as client:
        assert expect(client.get("/v1/health"), 200) == {"status": "ok"}
        document = expect(client.get("/openapi.json"), 200)
        assert document["info"]["title"] == "Enseal" and "/v1/key-packages/claim" in document["paths"]


def test_plaintext_http_is_refused(server: tuple[RunningServer, str]) -> None:
    running, _ = server
    with socket.create_connection((running.host, running.port), timeout=5) as raw:
        raw.sendall(b"GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        received = b""
        try:
            while chunk := raw.recv(4096):
                received += chunk
        except (ConnectionResetError, TimeoutError):
            pass
    assert not received.startswith(b"HTTP/")
    assert b"ok" not in received
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://{running.host}:{running.port}/v1/health", timeout=5)


def test_tls12_handshake_is_refused(server: tuple[RunningServer, str]) -> None:
    running, _ = server
    context = ssl.create_default_context(cafile=str(running.data_dir.ca_certificate))
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    with socket.create_connection((running.host, running.port), timeout=5) as raw, pytest.raises(ssl.SSLError):
        context.wrap_socket(raw, server_hostname="127.0.0.1")


def test_a_client_without_the_private_ca_does_not_trust_the_server(server: tuple[RunningServer, str]) -> None:
    running, _ = server
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.get(f"{running.url}/v1/health", timeout=5)


async def _ws_frames(
    url: str, context: ssl.SSLContext, token: str, send: list[dict[str, Any]], count: int
) -> tuple[list[dict[str, Any]], int | None]:
    frames: list[dict[str, Any]] = []
    code = None
    async with connect(url, ssl=context, additional_headers={"Authorization": f"Bearer {token}"}) as ws:
        for frame in send:
            await ws.send(json.dumps(frame))
        try:
            while len(frames) < count:
                frames.append(json.loads(await asyncio.wait_for(ws.recv(), 10)))
            await asyncio.wait_for(ws.recv(), 10)
        except ConnectionClosed as closed:
            code = closed.rcvd.code if closed.rcvd else None
        except TimeoutError:
            pass
    return frames, code


def test_device_websocket_hello_ping_and_revocation(server: tuple[RunningServer, str], tmp_path: Path) -> None:
    running, token = server
    with _operator(running, token) as operator:
        expect(operator.post("/v1/tenants", json={"tenant": "wsco", "kind": "commercial"}), 201)
        code = expect(operator.post("/v1/tenants/wsco/users", json={"name": "alice"}), 201)["enrollment"][
            "enrollment_code"
        ]
        device = DeviceActor.new("alice@wsco")
        server_id = expect(operator.get("/v1/server/info"), 200)["server_id"]

        async def scenario() -> None:
            async with httpx.AsyncClient(base_url=running.url, verify=running.ssl_context()) as client:
                await device.register(client, code)
                await device.sign_in(client, server_id)
            frames, _ = await _ws_frames(
                running.ws_url,
                running.ssl_context(),
                device.token,
                [{"type": "ping", "ref": "p1", "data": {"x": "y"}}],
                2,
            )
            assert frames[0]["type"] == "hello" and frames[0]["data"]["device_id"] == device.device_id
            assert frames[1]["type"] == "pong" and frames[1]["data"] == {"x": "y", "ref": "p1"}
            assert [f["seq"] for f in frames] == [1, 2]
            # Revocation while connected: the event arrives, then the socket closes with 4403.
            async with connect(running.ws_url, ssl=running.ssl_context(), additional_headers=device.headers) as ws:
                assert json.loads(await ws.recv())["type"] == "hello"
                await asyncio.to_thread(
                    lambda: expect(operator.delete(f"/v1/tenants/wsco/users/alice/devices/{device.device_id}"), 200)
                )
                assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "device.revoked"
                with pytest.raises(ConnectionClosed) as closed:
                    await asyncio.wait_for(ws.recv(), 10)
                assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403
            with pytest.raises(InvalidStatus):  # the revoked token no longer opens a socket
                async with connect(running.ws_url, ssl=running.ssl_context(), additional_headers=device.headers):
                    pass
            with pytest.raises(InvalidStatus):
                async with connect(running.ws_url, ssl=running.ssl_context()):
                    pass

        asyncio.run(scenario())


def _write_then_kill_then_read(data_root: Path, bootstrap_token: str, database_url: str | None) -> None:
    first = launch_server(data_root, database_url=database_url)
    try:
        with _operator(first, bootstrap_token) as operator:
            expect(operator.post("/v1/tenants", json={"tenant": "durable", "kind": "government"}), 201)
            expect(operator.post("/v1/tenants/durable/users", json={"name": "alice"}), 201)
            policy = {"name": "P", "calls": "user_override", "meetings": "required"}
            expect(operator.post("/v1/tenants/durable/policies", json=policy), 201)
            key = operator.headers["Authorization"]
    finally:
        first.kill()  # SIGKILL right after the acknowledgements: no shutdown code runs
    assert first.process.returncode == -9
    second = launch_server(data_root, database_url=database_url, port=first.port)
    try:
        with _client(second, Authorization=key) as operator:
            assert expect(operator.get("/v1/tenants/durable"), 200)["kind"] == "government"
            assert [u["user"] for u in expect(operator.get("/v1/tenants/durable/users"), 200)["users"]] == [
                "alice@durable"
            ]
            assert expect(operator.get("/v1/tenants/durable/policies/P"), 200)["meetings"] == "required"
            actions = [e["action"] for e in expect(operator.get("/v1/audit?tenant=durable"), 200)["entries"]]
            assert actions == ["policy.create", "user.create", "tenant.create"]
    finally:
        second.stop()


def test_sigkill_after_acknowledged_writes_loses_nothing_sqlite(tmp_path: Path) -> None:
    initialised = init_data_dir(tmp_path / "data")
    _write_then_kill_then_read(initialised.data_dir.root, initialised.bootstrap_token.text(), None)


@pytest.mark.postgres
def test_sigkill_after_acknowledged_writes_loses_nothing_postgresql(tmp_path: Path) -> None:
    admin_url = os.environ.get("ENSEAL_TEST_POSTGRES", DEFAULT_TEST_POSTGRES)
    try:
        with scratch_postgres_database(admin_url) as url:
            initialised = init_data_dir(tmp_path / "data", database_url=url)
            _write_then_kill_then_read(initialised.data_dir.root, initialised.bootstrap_token.text(), None)
    except StorageUnavailable as exc:
        if os.environ.get("CI"):
            pytest.fail(str(exc))
        pytest.skip(str(exc))
