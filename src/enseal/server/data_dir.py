"""The server's data directory and its configuration file (docs/server.md, "Data directory").

::

    DATA/enseal.toml   configuration (server id, listen address, host names, database URL, lifetimes)
    DATA/ca.pem        the private CA certificate: give it to clients (--ca)
    DATA/ca.key        the CA private key (0600): only needed to issue a new server certificate
    DATA/server.pem    the TLS server certificate
    DATA/server.key    its private key (0600)
    DATA/kek.key       the key-encryption key (0600): losing it loses every sealed record
    DATA/enseal.db     the SQLite database (when no --db URL is given)

Phase 2 adds ``nats_url`` (scale-out), ``relay_capture`` (a file receiving every relayed
datagram) and the call timeouts; the environment variables ``ENSEAL_NATS_URL``,
``ENSEAL_RELAY_CAPTURE`` and ``ENSEAL_RING_TIMEOUT_SECONDS`` override them.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Final

from enseal.errors import LocalProtocolError
from enseal.storage import sqlite_url

CONFIG_VERSION: Final = 1
DEFAULT_HOST: Final = "127.0.0.1"
DEFAULT_PORT: Final = 8443
DEFAULT_ACCESS_TOKEN_SECONDS: Final = 15 * 60
"""Lifetime of a device access token."""
DEFAULT_ENROLLMENT_CODE_SECONDS: Final = 7 * 24 * 3600
"""Lifetime of an enrollment code."""
DEFAULT_RING_TIMEOUT_SECONDS: Final = 45.0
"""How long a call rings before the server ends it as timed out (enseal.signalling's value)."""
DEFAULT_CONNECT_TIMEOUT_SECONDS: Final = 20.0
"""How long a call may stay connecting before the server ends it as failed."""
NATS_URL_VARIABLE: Final = "ENSEAL_NATS_URL"
RELAY_CAPTURE_VARIABLE: Final = "ENSEAL_RELAY_CAPTURE"
RING_TIMEOUT_VARIABLE: Final = "ENSEAL_RING_TIMEOUT_SECONDS"


class ConfigError(LocalProtocolError):
    """The data directory or its configuration file is missing or malformed."""


@dataclass(frozen=True, slots=True)
class DataDir:
    root: Path

    @property
    def config(self) -> Path:
        return self.root / "enseal.toml"

    @property
    def ca_certificate(self) -> Path:
        return self.root / "ca.pem"

    @property
    def ca_key(self) -> Path:
        return self.root / "ca.key"

    @property
    def tls_certificate(self) -> Path:
        return self.root / "server.pem"

    @property
    def tls_key(self) -> Path:
        return self.root / "server.key"

    @property
    def kek(self) -> Path:
        return self.root / "kek.key"

    @property
    def sqlite(self) -> Path:
        return self.root / "enseal.db"


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerConfig:
    server_id: str
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    hostnames: tuple[str, ...] = field(default_factory=tuple)
    database_url: str = ""
    """Empty: the SQLite file of the data directory."""
    access_token_seconds: int = DEFAULT_ACCESS_TOKEN_SECONDS
    enrollment_code_seconds: int = DEFAULT_ENROLLMENT_CODE_SECONDS
    nats_url: str = ""
    """Empty: one node, in-process fan-out. ``nats://`` or ``tls://host:4222``: scale-out fan-out."""
    relay_capture: str = ""
    """Empty: off. A file path (relative: in the data directory): every datagram the media relay
    forwards is appended to it (docs/server.md, "Relay capture"); for demos and tests."""
    ring_timeout_seconds: float = DEFAULT_RING_TIMEOUT_SECONDS
    connect_timeout_seconds: float = DEFAULT_CONNECT_TIMEOUT_SECONDS

    def database_url_for(self, data_dir: DataDir) -> str:
        return self.database_url or sqlite_url(data_dir.sqlite)

    def with_overrides(self, *, database_url: str | None, host: str | None, port: int | None) -> ServerConfig:
        return replace(
            self,
            database_url=self.database_url if database_url is None else database_url,
            host=self.host if host is None else host,
            port=self.port if port is None else port,
        )

    def with_environment(self, environ: Mapping[str, str]) -> ServerConfig:
        """Overrides from the environment: ``ENSEAL_NATS_URL``, ``ENSEAL_RELAY_CAPTURE``,
        ``ENSEAL_RING_TIMEOUT_SECONDS`` (set and non-empty)."""
        config = self
        if environ.get(NATS_URL_VARIABLE):
            config = replace(config, nats_url=environ[NATS_URL_VARIABLE])
        if environ.get(RELAY_CAPTURE_VARIABLE):
            config = replace(config, relay_capture=environ[RELAY_CAPTURE_VARIABLE])
        if environ.get(RING_TIMEOUT_VARIABLE):
            try:
                seconds = float(environ[RING_TIMEOUT_VARIABLE])
            except ValueError as exc:
                raise ConfigError(f"{RING_TIMEOUT_VARIABLE} is not a number") from exc
            if not 0 < seconds <= 600:
                raise ConfigError(f"{RING_TIMEOUT_VARIABLE} must be in (0, 600]")
            config = replace(config, ring_timeout_seconds=seconds)
        return config

    def to_toml(self) -> str:
        def quoted(text: str) -> str:
            return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

        hostnames = ", ".join(quoted(name) for name in self.hostnames)
        return (
            "# Enseal server configuration (docs/server.md). Command-line options override it.\n"
            f"version = {CONFIG_VERSION}\n"
            f"server_id = {quoted(self.server_id)}\n"
            f"host = {quoted(self.host)}\n"
            f"port = {self.port}\n"
            f"hostnames = [{hostnames}]\n"
            "# Empty: SQLite in the data directory. PostgreSQL: postgresql+asyncpg://user@host/db\n"
            f"database_url = {quoted(self.database_url)}\n"
            f"access_token_seconds = {self.access_token_seconds}\n"
            f"enrollment_code_seconds = {self.enrollment_code_seconds}\n"
            "# Scale-out: nats://host:4222 (or tls://). Empty: one node.\n"
            f"nats_url = {quoted(self.nats_url)}\n"
            "# A file that receives every datagram the media relay forwards (tests, demos). Empty: off.\n"
            f"relay_capture = {quoted(self.relay_capture)}\n"
            f"ring_timeout_seconds = {self.ring_timeout_seconds}\n"
            f"connect_timeout_seconds = {self.connect_timeout_seconds}\n"
        )

    @classmethod
    def load(cls, data_dir: DataDir) -> ServerConfig:
        try:
            values = tomllib.loads(data_dir.config.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError(f"{data_dir.root} is not an Enseal data directory; run 'enseal server init'") from exc
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read {data_dir.config}: {exc}") from exc
        if values.get("version") != CONFIG_VERSION:
            raise ConfigError(f"{data_dir.config}: unsupported configuration version {values.get('version')!r}")
        try:
            config = cls(
                server_id=str(values["server_id"]),
                host=str(values.get("host", DEFAULT_HOST)),
                port=int(values.get("port", DEFAULT_PORT)),
                hostnames=tuple(str(name) for name in values.get("hostnames", [])),
                database_url=str(values.get("database_url", "")),
                access_token_seconds=int(values.get("access_token_seconds", DEFAULT_ACCESS_TOKEN_SECONDS)),
                enrollment_code_seconds=int(values.get("enrollment_code_seconds", DEFAULT_ENROLLMENT_CODE_SECONDS)),
                nats_url=str(values.get("nats_url", "")),
                relay_capture=str(values.get("relay_capture", "")),
                ring_timeout_seconds=float(values.get("ring_timeout_seconds", DEFAULT_RING_TIMEOUT_SECONDS)),
                connect_timeout_seconds=float(values.get("connect_timeout_seconds", DEFAULT_CONNECT_TIMEOUT_SECONDS)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"{data_dir.config}: bad value: {exc}") from exc
        if (
            not 60 <= config.access_token_seconds <= 86400
            or not 60 <= config.enrollment_code_seconds <= 90 * 86400
            or not 0 < config.ring_timeout_seconds <= 600
            or not 0 < config.connect_timeout_seconds <= 600
        ):
            raise ConfigError(f"{data_dir.config}: a lifetime or timeout is out of range")
        return config
