"""The server's WSS media relay for one call (docs/protocol.md, "Media relay"): one binary
WebSocket message per datagram; implements :class:`enseal.client.media.RelayChannel`."""

from __future__ import annotations

import ssl
from typing import Final

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from enseal.client.media import RelayClosed
from enseal.client.server_api import ServerApi

MAX_RELAY_DATAGRAM: Final = 9_000
"""The relay's bound on one datagram (and ours)."""
RELAY_RECEIVE_QUEUE: Final = 1_024
"""Datagrams the WebSocket buffers before it stops reading (as the relay's own queue)."""


class WebSocketRelayChannel:
    """This device's connection to the relay of one call."""

    def __init__(self, connection: ClientConnection) -> None:
        self._connection = connection
        self._closed = False

    @classmethod
    async def open(cls, api: ServerApi, call_id: str) -> WebSocketRelayChannel:
        token = await api.access_token()
        url = f"{api.ws_base}/v1/calls/{call_id}/relay"
        try:
            connection = await connect(
                url,
                ssl=api.tls,
                additional_headers={"Authorization": f"Bearer {token}"},
                max_size=MAX_RELAY_DATAGRAM,
                max_queue=RELAY_RECEIVE_QUEUE,
                compression=None,
                proxy=None,
            )
        except InvalidStatus as exc:
            raise RelayClosed("the server refused the relay connection", str(exc.response.status_code)) from exc
        except (InvalidHandshake, OSError, ssl.SSLError, TimeoutError) as exc:
            raise RelayClosed("cannot connect to the media relay", str(exc)) from exc
        return cls(connection)

    async def send(self, datagram: bytes) -> None:
        try:
            await self._connection.send(datagram)
        except ConnectionClosed as exc:
            self._closed = True
            raise RelayClosed("the relay connection closed", str(exc.rcvd.code if exc.rcvd else "")) from exc

    async def recv(self) -> bytes:
        while True:
            try:
                message = await self._connection.recv()
            except ConnectionClosed as exc:
                self._closed = True
                raise RelayClosed("the relay connection closed", str(exc.rcvd.code if exc.rcvd else "")) from exc
            if isinstance(message, bytes):
                return message  # text frames are not part of the relay protocol: ignored

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            await self._connection.close()
