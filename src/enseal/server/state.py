"""Everything a running server holds: the store, its identity and keys, clocks and randomness,
the fan-out, the media relay and the rate limiter. ``create_app`` takes one :class:`ServerState`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

from enseal.crypto import SignaturePrivateKey, SignatureScheme, system_random
from enseal.crypto.randomness import RandomSource
from enseal.mls.credential import BasicCredential
from enseal.mls.wire import serialize
from enseal.server.data_dir import DataDir, ServerConfig
from enseal.server.fanout import Fanout, InProcessFanout
from enseal.server.nats_fanout import NatsFanout
from enseal.server.rate_limit import RateLimiter
from enseal.server.relay import RelayCapture, RelayHub
from enseal.storage import Store

EXTERNAL_SENDER_KEY_RECORD: Final = "server.external_sender.signature_key"
"""Name of the sealed record holding the server's MLS external-sender signature key."""
EXTERNAL_SENDER_SCHEME: Final = SignatureScheme.ED25519


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True, kw_only=True)
class ExternalSenderIdentity:
    """The server as an MLS external sender (RFC 9420 section 12.1.8.1)."""

    signing_key: SignaturePrivateKey
    identity: bytes

    @property
    def credential(self) -> bytes:
        """The TLS-encoded BasicCredential."""
        return serialize(BasicCredential(identity=self.identity))


def external_sender_identity(server_id: str) -> bytes:
    """``enseal-server:<server_id>``: never a valid device identity (no ``@``, no ``/``)."""
    return f"enseal-server:{server_id}".encode()


@dataclass(slots=True, kw_only=True)
class ServerState:
    store: Store
    config: ServerConfig
    external_sender: ExternalSenderIdentity
    relay: RelayHub
    clock: Callable[[], datetime] = utc_now
    random_bytes: RandomSource = system_random
    fanout: Fanout = field(default_factory=InProcessFanout)
    rate_limiter: RateLimiter = field(default_factory=RateLimiter)

    @property
    def server_id(self) -> str:
        return self.config.server_id

    @property
    def access_token_lifetime(self) -> timedelta:
        return timedelta(seconds=self.config.access_token_seconds)

    @property
    def enrollment_code_lifetime(self) -> timedelta:
        return timedelta(seconds=self.config.enrollment_code_seconds)

    def new_id(self) -> str:
        """A random 128-bit identifier, 32 lower-case hex digits."""
        return self.random_bytes(16).hex()

    async def close(self) -> None:
        await self.relay.close()
        await self.fanout.close()
        await self.store.close()


async def open_state(
    data_dir: DataDir,
    config: ServerConfig,
    *,
    clock: Callable[[], datetime] = utc_now,
    random_bytes: RandomSource = system_random,
) -> ServerState:
    """Open the store of ``data_dir`` (migrating it) and load the server's keys."""
    store = await Store.open(config.database_url_for(data_dir), data_dir.kek, random_bytes)
    node_id = random_bytes(8).hex()  # names this process in relay counters
    try:
        async with store.transaction() as tx:
            raw = await tx.sealed.open_named(EXTERNAL_SENDER_KEY_RECORD)
        signing_key = SignaturePrivateKey.from_bytes(EXTERNAL_SENDER_SCHEME, raw)
        capture = RelayCapture(data_dir.root / Path(config.relay_capture)) if config.relay_capture else None
        relay = RelayHub(store, clock, node_id=node_id, capture=capture)
        fanout: Fanout = InProcessFanout()
        if config.nats_url:
            fanout = await NatsFanout.connect(config.nats_url, server_id=config.server_id, relay=relay)
    except BaseException:
        await store.close()
        raise
    return ServerState(
        store=store,
        config=config,
        external_sender=ExternalSenderIdentity(
            signing_key=signing_key, identity=external_sender_identity(config.server_id)
        ),
        relay=relay,
        clock=clock,
        random_bytes=random_bytes,
        fanout=fanout,
    )
