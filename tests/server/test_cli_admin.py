"""The operator's CLI end to end, without a terminal: ``enseal server init --json``, a real
``enseal server run``, then ``enseal admin ...`` commands over HTTPS with the private CA."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from enseal.server.launcher import enseal_command, launch_server

pytestmark = pytest.mark.slow


def _enseal(*args: str, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [*enseal_command(), *args],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=60,
        check=False,
    )
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_admin_cli_scripted(tmp_path: Path) -> None:
    env = {**os.environ, "ENSEAL_ADMIN_PROFILE": str(tmp_path / "profile")}
    data = tmp_path / "data"
    init = json.loads(
        _enseal("server", "init", "--data", str(data), "--hostname", "enseal.test", "--json", env=env).stdout
    )
    assert init["bootstrap_token"].startswith("esb_") and Path(init["ca_certificate"]).exists()
    server = launch_server(data)
    try:
        connect = ["--server", server.url, "--ca", init["ca_certificate"]]
        _enseal("admin", "bootstrap", *connect, env={**env, "ENSEAL_BOOTSTRAP_TOKEN": init["bootstrap_token"]})
        assert (tmp_path / "profile" / "admin.json").stat().st_mode & 0o777 == 0o600
        _enseal("admin", "tenant", "create", "acme", env=env)
        added = json.loads(_enseal("admin", "--json", "user", "add", "alice@acme", "--tenant-admin", env=env).stdout)
        assert len(added["enrollment"]["enrollment_code"]) == 23
        _enseal("admin", "user", "add", "bob@acme", env=env)
        _enseal("admin", "group", "add", "eng@acme", "--member", "alice", "--member", "bob", env=env)
        _enseal(
            "admin", "policy", "create", "acme", "Strict", "--calls", "user_override", "--meetings", "required", env=env
        )
        _enseal("admin", "policy", "assign", "acme", "Strict", "--group", "eng", env=env)
        shown = _enseal("admin", "policy", "show", "bob@acme", env=env).stdout
        assert "Strict: calls=user_override meetings=required" in shown and "via group 'eng', rank 1" in shown
        refused = _enseal("admin", "policy", "assign", "acme", "Missing", "--user", "bob", env=env, check=False)
        assert refused.returncode == 1 and "not_found" in refused.stderr
        audit = json.loads(_enseal("admin", "--json", "audit", "--tenant", "acme", env=env).stdout)["entries"]
        assert [(e["action"], e["result"]) for e in audit][:2] == [
            ("policy.assign", "refused:not_found"),
            ("policy.assign", "ok"),
        ]
        # A tenant admin's key, used from a second profile.
        key = json.loads(_enseal("admin", "--json", "key", "create", "alice@acme", env=env).stdout)["api_key"]
        alice_env = {**env, "ENSEAL_ADMIN_PROFILE": str(tmp_path / "alice"), "ENSEAL_ADMIN_KEY": key}
        _enseal("admin", "login", *connect, env=alice_env)
        assert "bob@acme" in _enseal("admin", "user", "list", "acme", env=alice_env).stdout
        forbidden = _enseal("admin", "tenant", "create", "other", env=alice_env, check=False)
        assert forbidden.returncode == 1 and "forbidden" in forbidden.stderr
    finally:
        server.stop()
    server.process.wait()
    rotated = _enseal("server", "rotate-kek", "--data", str(data), env=env).stdout
    assert "Rotated the key-encryption key" in rotated
    again = launch_server(data)  # starts with the new KEK and opens its sealed signing key
    again.stop()
