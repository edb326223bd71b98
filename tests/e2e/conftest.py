"""End-to-end fixtures: a real ``enseal server run`` process over TLS (SQLite in a temporary
directory), an operator who scripts the admin API, and users whose devices run the real
``enseal`` command in their own processes, each with its own encrypted profile."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from enseal.server.launcher import RunningServer, enseal_command, init_data_dir, launch_server

PASSPHRASE = "end-to-end test passphrase"
COMMAND_TIMEOUT = 90


@dataclass
class Deployment:
    """A running server, its operator and the users' profile folders."""

    server: RunningServer
    folder: Path
    operator: httpx.Client
    profiles: dict[str, Path] = field(default_factory=dict)

    def admin(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = self.operator.request(method, path, json=body)
        assert response.status_code < 300, f"{method} {path}: {response.status_code} {response.text}"
        return response.json() if response.content else None

    def env(self, profile: Path) -> dict[str, str]:
        return {**os.environ, "ENSEAL_PASSPHRASE": PASSPHRASE, "ENSEAL_PROFILE": str(profile), "COLUMNS": "200"}

    def enseal(self, profile: Path, *args: str, check: bool = True, timeout: float = COMMAND_TIMEOUT) -> str:
        """Run ``enseal ARGS`` as this device; its output (stdout and stderr)."""
        done = subprocess.run(
            [*enseal_command(), *args],
            check=False,
            env=self.env(profile),
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
        output = done.stdout + done.stderr
        if check:
            assert done.returncode == 0, f"enseal {' '.join(args)} exited {done.returncode}:\n{output}"
        return output

    def spawn(self, profile: Path, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [*enseal_command(), *args],
            env=self.env(profile),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
        )

    def tenant(self, tenant: str, **extra: Any) -> None:
        self.admin("POST", "/v1/tenants", {"tenant": tenant, "kind": "commercial", **extra})

    def user(self, address: str, *, device: str | None = None, **flags: Any) -> Path:
        """Create the user (once) and register a device of theirs with the real CLI."""
        name, tenant = address.split("@")
        if address in self.profiles or device is not None:
            code = self.admin("POST", f"/v1/tenants/{tenant}/users/{name}/enrollment-codes")["enrollment_code"]
        else:
            code = self.admin("POST", f"/v1/tenants/{tenant}/users", {"name": name, **flags})["enrollment"][
                "enrollment_code"
            ]
        profile = self.folder / (device or address)
        self.enseal(
            profile,
            "register",
            address,
            "--server",
            self.server.url,
            "--ca",
            str(self.server.data_dir.ca_certificate),
            "--code",
            code,
        )
        self.profiles.setdefault(address, profile)
        return profile

    def policy(self, tenant: str, name: str, *, calls: str, target: dict[str, Any]) -> None:
        self.admin("POST", f"/v1/tenants/{tenant}/policies", {"name": name, "calls": calls, "meetings": "disabled"})
        self.admin("PUT", f"/v1/tenants/{tenant}/policy-assignments", {"target": target, "policy": name})

    def server_bytes(self) -> bytes:
        """Everything the server stored or logged: the database files and every log."""
        root = self.server.data_dir.root
        return b"".join(p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file())

    def relayed_bytes(self) -> bytes:
        """Every datagram the media relay forwarded (the operator's capture file)."""
        capture = self.folder / "relay.capture"
        return capture.read_bytes() if capture.exists() else b""


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    folder = tmp_path_factory.mktemp("e2e")
    initialised = init_data_dir(folder / "server")
    server = launch_server(initialised.data_dir.root, relay_capture=folder / "relay.capture")
    try:
        with httpx.Client(base_url=server.url, verify=server.ssl_context(), timeout=30) as client:
            issued = client.post("/v1/admin/bootstrap", json={"token": initialised.bootstrap_token.text()}).json()
            client.headers["Authorization"] = f"Bearer {issued['api_key']}"
            yield Deployment(server=server, folder=folder, operator=client)
    finally:
        server.stop()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


SPEECH = {
    "caller": "Canary nine three one. The caller speaks of the northern lighthouse.",
    "callee": "Callee here. Seven silver boats in the morning fog.",
}


@pytest.fixture(scope="session")
def speech(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A spoken clip per side from espeak-ng (skipped without it, except in CI where it fails)."""
    if shutil.which("espeak-ng") is None:
        if os.environ.get("CI"):
            pytest.fail("espeak-ng is required in CI to synthesise the speech of the call tests")
        pytest.skip("espeak-ng is not installed")
    folder = tmp_path_factory.mktemp("speech")
    clips = {}
    for side, text in SPEECH.items():
        clips[side] = folder / f"{side}.wav"
        subprocess.run(["espeak-ng", "-s", "170", "-w", str(clips[side]), text], check=True, capture_output=True)
    return clips
