"""Start a real ``enseal server run`` process on this machine and wait until it answers over
TLS: for tests of real sockets, the demo and benchmarks.

    data = init_data_dir(tmp_path / "server")
    with start_server(data.data_dir.root) as server:
        client = httpx.Client(base_url=server.url, verify=server.ssl_context())
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import httpx

from enseal.server.data_dir import NATS_URL_VARIABLE, RELAY_CAPTURE_VARIABLE, RING_TIMEOUT_VARIABLE, DataDir
from enseal.server.initialise import Initialised, initialise_data_dir
from enseal.server.tls import client_ssl_context

START_TIMEOUT: Final = 30.0
"""Seconds to wait for a started server to answer /v1/health."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def enseal_command() -> list[str]:
    """The ``enseal`` console script of this interpreter's environment."""
    beside = Path(sys.executable).with_name("enseal")
    if beside.exists():
        return [str(beside)]
    found = shutil.which("enseal")
    if found is None:
        raise FileNotFoundError("the 'enseal' command is not installed")
    return [found]


def init_data_dir(root: Path, *, hostnames: Sequence[str] = (), database_url: str = "") -> Initialised:
    """``enseal server init`` in-process (synchronous)."""
    return asyncio.run(initialise_data_dir(root, hostnames=hostnames, database_url=database_url))


@dataclass(slots=True)
class RunningServer:
    process: subprocess.Popen[bytes]
    data_dir: DataDir
    host: str
    port: int
    log_path: Path

    @property
    def url(self) -> str:
        return f"https://{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"wss://{self.host}:{self.port}/v1/ws"

    def ssl_context(self) -> ssl.SSLContext:
        return client_ssl_context(self.data_dir.ca_certificate)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, then SIGKILL if it does not exit in time."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs (crash tests)."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def _wait_ready(server: RunningServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    context = server.ssl_context()
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"the server exited with {server.process.returncode}:\n{server.log()}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{server.url}/v1/health", verify=context, timeout=2).status_code == 200:
                return
        time.sleep(0.1)
    server.kill()
    raise TimeoutError(f"the server did not answer within {timeout} s:\n{server.log()}")


def launch_server(
    data_root: Path,
    *,
    port: int | None = None,
    database_url: str | None = None,
    nats_url: str | None = None,
    relay_capture: Path | None = None,
    ring_timeout_seconds: float | None = None,
    timeout: float = START_TIMEOUT,
    listen_host: str = "127.0.0.1",
) -> RunningServer:
    """Start ``enseal server run --data data_root`` and wait until it is ready.

    It listens on ``listen_host`` (127.0.0.1 by default; "0.0.0.0" to be reachable from other
    network namespaces) and is probed on 127.0.0.1.

    ``nats_url`` makes it a node of a scaled-out server (several processes on one PostgreSQL);
    ``relay_capture`` names a file that receives every datagram the media relay forwards;
    ``ring_timeout_seconds`` shortens the call ring timeout (tests).
    """
    port = free_port() if port is None else port
    command = [*enseal_command(), "server", "run", "--data", str(data_root), "--host", listen_host, "--port", str(port)]
    if database_url:
        command += ["--db", database_url]
    environment = {**os.environ}
    for variable in (NATS_URL_VARIABLE, RELAY_CAPTURE_VARIABLE, RING_TIMEOUT_VARIABLE):
        environment.pop(variable, None)
    if nats_url:
        environment[NATS_URL_VARIABLE] = nats_url
    if relay_capture is not None:
        environment[RELAY_CAPTURE_VARIABLE] = str(relay_capture)
    if ring_timeout_seconds is not None:
        environment[RING_TIMEOUT_VARIABLE] = str(ring_timeout_seconds)
    log_path = data_root / f"server-{port}.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(  # noqa: S603 - our own command line
            command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=environment
        )
    server = RunningServer(process=process, data_dir=DataDir(data_root), host="127.0.0.1", port=port, log_path=log_path)
    _wait_ready(server, timeout)
    return server


@contextlib.contextmanager
def start_server(
    data_root: Path,
    *,
    port: int | None = None,
    database_url: str | None = None,
    nats_url: str | None = None,
    relay_capture: Path | None = None,
    ring_timeout_seconds: float | None = None,
) -> Iterator[RunningServer]:
    server = launch_server(
        data_root,
        port=port,
        database_url=database_url,
        nats_url=nats_url,
        relay_capture=relay_capture,
        ring_timeout_seconds=ring_timeout_seconds,
    )
    try:
        yield server
    finally:
        server.stop()
