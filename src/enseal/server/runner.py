"""``enseal server run``: serve the app with uvicorn over TLS 1.3 only (HTTPS and WSS on one
port; there is no plaintext listener)."""

from __future__ import annotations

import logging
import os
import ssl
from collections.abc import Callable

import uvicorn

from enseal.server.app import create_app
from enseal.server.data_dir import DataDir, ServerConfig
from enseal.server.state import ServerState, open_state
from enseal.server.tls import server_ssl_context

MAX_WEBSOCKET_MESSAGE = 1024 * 1024
"""Largest WebSocket message uvicorn accepts (client frames are validated smaller still)."""


def serve(data_dir: DataDir, config: ServerConfig, *, log_level: str = "info") -> None:
    """Run until interrupted (SIGINT/SIGTERM). ``ENSEAL_NATS_URL``, ``ENSEAL_RELAY_CAPTURE`` and
    ``ENSEAL_RING_TIMEOUT_SECONDS`` override the configuration."""
    config = config.with_environment(os.environ)

    def tls_context(_config: uvicorn.Config, _default: Callable[[], ssl.SSLContext]) -> ssl.SSLContext:
        return server_ssl_context(data_dir.tls_certificate, data_dir.tls_key)

    async def opener() -> ServerState:
        return await open_state(data_dir, config)

    logging.getLogger("enseal").setLevel(log_level.upper())
    uvicorn_config = uvicorn.Config(
        create_app(opener=opener),
        host=config.host,
        port=config.port,
        ssl_context_factory=tls_context,
        log_level=log_level,
        proxy_headers=False,
        server_header=False,
        ws_max_size=MAX_WEBSOCKET_MESSAGE,
        lifespan="on",
    )
    uvicorn.Server(uvicorn_config).run()
