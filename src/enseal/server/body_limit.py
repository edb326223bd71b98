"""Refuse request bodies larger than :data:`MAX_REQUEST_BODY` before reading them (413)."""

from __future__ import annotations

from typing import Final

from starlette.types import ASGIApp, Receive, Scope, Send

from enseal.wire import ErrorBody, ErrorCode, ErrorDetail

MAX_REQUEST_BODY: Final = 4 * 1024 * 1024
"""Largest request body (100 KeyPackages of 16 KiB in base64 fit)."""


class BodyLimit:
    def __init__(self, app: ASGIApp, limit: int = MAX_REQUEST_BODY) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        too_large = False
        if declared is not None:
            try:
                too_large = int(declared) > self.limit
            except ValueError:
                too_large = True
        if too_large:
            body = (
                ErrorBody(
                    error=ErrorDetail(
                        code=ErrorCode.BODY_TOO_LARGE, reason=f"request bodies are at most {self.limit} bytes"
                    )
                )
                .model_dump_json(exclude_none=True)
                .encode()
            )
            await send(
                {
                    "type": "http.response.start",
                    "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        received = 0

        async def limited_receive() -> dict[str, object]:
            nonlocal received
            message = dict(await receive())
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise ValueError("request body too large")
            return message

        await self.app(scope, limited_receive, send)
