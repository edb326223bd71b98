"""``enseal server init``: a new data directory with its configuration, private CA, server
certificate, key-encryption key, migrated database, the server's external-sender signing key
(sealed) and a one-time admin bootstrap token (decision record 0505)."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from enseal.crypto import system_random
from enseal.crypto.envelope import KeyEncryptionKey
from enseal.crypto.pki import create_certificate_authority, issue_server_certificate
from enseal.crypto.randomness import RandomSource
from enseal.crypto.tokens import BearerToken, new_bearer_token, token_digest
from enseal.server.data_dir import ConfigError, DataDir, ServerConfig
from enseal.server.state import EXTERNAL_SENDER_KEY_RECORD, EXTERNAL_SENDER_SCHEME, utc_now
from enseal.storage import Store, write_kek_file

BOOTSTRAP_TOKEN_PREFIX = "esb"  # noqa: S105 - a token prefix, not a secret
BOOTSTRAP_TOKEN_KIND = "bootstrap"  # noqa: S105 - a digest label
DEFAULT_NAMES = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True, slots=True, kw_only=True)
class Initialised:
    data_dir: DataDir
    config: ServerConfig
    bootstrap_token: BearerToken


def _write_private(path: Path, data: bytes) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(descriptor, data)
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _split_names(names: Sequence[str]) -> tuple[list[str], list[str]]:
    dns: list[str] = []
    ips: list[str] = []
    for name in dict.fromkeys(names):
        try:
            ipaddress.ip_address(name)
        except ValueError:
            dns.append(name)
        else:
            ips.append(name)
    return dns, ips


async def initialise_data_dir(
    root: Path,
    *,
    hostnames: Sequence[str] = (),
    database_url: str = "",
    host: str | None = None,
    port: int | None = None,
    random_bytes: RandomSource = system_random,
) -> Initialised:
    """Create and populate ``root``; :class:`ConfigError` if it already holds a server."""
    data_dir = DataDir(root)
    if data_dir.config.exists() or data_dir.kek.exists():
        raise ConfigError(f"{root} already holds an Enseal server; refusing to overwrite it")
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    now = utc_now()
    config = ServerConfig(server_id=random_bytes(16).hex(), hostnames=tuple(hostnames)).with_overrides(
        database_url=database_url, host=host, port=port
    )
    authority = create_certificate_authority(common_name=f"Enseal private CA {config.server_id[:8]}", now=now)
    dns, ips = _split_names([*DEFAULT_NAMES, *hostnames])
    server_certificate = issue_server_certificate(authority=authority, dns_names=dns, ip_addresses=ips, now=now)
    data_dir.ca_certificate.write_bytes(authority.certificate_pem)
    _write_private(data_dir.ca_key, authority.private_key_pem.reveal())
    data_dir.tls_certificate.write_bytes(server_certificate.certificate_pem)
    _write_private(data_dir.tls_key, server_certificate.private_key_pem.reveal())
    write_kek_file(data_dir.kek, KeyEncryptionKey.generate(random_bytes))

    bootstrap_token = new_bearer_token(BOOTSTRAP_TOKEN_PREFIX, random_bytes)
    store = await Store.open(config.database_url_for(data_dir), data_dir.kek, random_bytes)
    try:
        async with store.transaction() as tx:
            signing_key = EXTERNAL_SENDER_SCHEME.generate(random_bytes)
            await tx.sealed.seal(
                purpose="external_sender_key",
                plaintext=signing_key.private_bytes().reveal(),
                now=now,
                name=EXTERNAL_SENDER_KEY_RECORD,
            )
            await tx.bootstrap.add(digest=token_digest(BOOTSTRAP_TOKEN_KIND, bootstrap_token.text()), now=now)
            await tx.audit.record(
                at=now, actor="server-init", action="server.init", tenant_id=None, target=None, result="ok"
            )
    finally:
        await store.close()
    # The configuration is written last: its presence marks a complete data directory.
    data_dir.config.write_text(config.to_toml(), encoding="utf-8")
    return Initialised(data_dir=data_dir, config=config, bootstrap_token=bootstrap_token)
