"""HTTPS to the Enseal server (docs/protocol.md): one ``httpx.AsyncClient`` over TLS 1.3 with
the server's private CA, typed requests and responses (:mod:`enseal.wire`), and the error body
mapped to :class:`~enseal.client.errors.ServerRefused`.

A request that needs a device token gets one from the ``authenticate`` callback (the device's
challenge sign-in); a 401 on a token that was valid a moment ago (expired, server restarted)
signs in again once and retries.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final, TypeVar

import httpx
import pydantic

from enseal.client.errors import PolicyReason, ServerRefused, ServerUnreachable
from enseal.client.tls import client_tls_context
from enseal.errors import LocalProtocolError
from enseal.wire.errors import ErrorBody

REQUEST_TIMEOUT_SECONDS: Final = 30.0
TOKEN_REFRESH_MARGIN: Final = timedelta(seconds=60)
"""Sign in again this long before the access token expires."""
MAX_RATE_LIMIT_WAIT_SECONDS: Final = 10
"""A 429 with a ``Retry-After`` up to this long is waited out once; longer ones are reported."""

ResponseT = TypeVar("ResponseT", bound=pydantic.BaseModel)
Authenticate = Callable[["ServerApi"], Awaitable[tuple[str, datetime]]]
"""Signs this device in: returns an access token and when it expires."""


def refusal(response: httpx.Response) -> ServerRefused:
    """The :class:`ServerRefused` for a 4xx/5xx response."""
    try:
        error = ErrorBody.model_validate_json(response.content).error
    except pydantic.ValidationError:
        return ServerRefused(
            "the server refused the request", status=response.status_code, code=f"http_{response.status_code}"
        )
    reasons = [PolicyReason(code=r.code, message=r.message, side=r.side, user=r.user) for r in error.reasons or ()]
    return ServerRefused(
        error.reason,
        status=response.status_code,
        code=error.code.value,
        detail=error.detail,
        reasons=reasons,
        retry_after=error.retry_after,
        current_epoch=error.current_epoch,
    )


class ServerApi:
    """The server at ``base_url`` (``https://host:port``)."""

    def __init__(
        self,
        base_url: str,
        ca_certificate: Path,
        *,
        authenticate: Authenticate | None = None,
        timeout: float = REQUEST_TIMEOUT_SECONDS,
    ) -> None:
        if not base_url.startswith("https://"):
            raise LocalProtocolError("the server URL must start with https:// (the server refuses plaintext)")
        self.base_url = base_url.rstrip("/")
        self.tls = client_tls_context(ca_certificate)
        self.authenticate = authenticate
        self._client = httpx.AsyncClient(base_url=self.base_url, verify=self.tls, timeout=timeout)
        self._token: str | None = None
        self._token_expires: datetime | None = None
        self._sign_in_lock = asyncio.Lock()

    @property
    def ws_base(self) -> str:
        return "wss://" + self.base_url.removeprefix("https://")

    async def aclose(self) -> None:
        await self._client.aclose()

    async def __aenter__(self) -> ServerApi:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- tokens ------------------------------------------------------------------------------------

    async def access_token(self, *, renew: bool = False) -> str:
        """A valid access token, signing in when there is none or it is about to expire."""
        async with self._sign_in_lock:
            now = datetime.now(UTC)
            fresh = self._token is not None and self._token_expires is not None
            if renew or not fresh or self._token_expires is None or self._token_expires - TOKEN_REFRESH_MARGIN <= now:
                if self.authenticate is None:
                    raise LocalProtocolError("this request needs a signed-in device")
                self._token, self._token_expires = await self.authenticate(self)
            assert self._token is not None
            return self._token

    # -- requests ----------------------------------------------------------------------------------

    async def _send(
        self, method: str, path: str, *, body: Any, params: dict[str, Any] | None, token: str | None
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if isinstance(body, pydantic.BaseModel):
            content: bytes | None = body.model_dump_json(exclude_none=True).encode()
            headers["Content-Type"] = "application/json"
        else:
            content = None
        try:
            return await self._client.request(
                method,
                path,
                content=content,
                json=None if content is not None else body,
                params=params,
                headers=headers,
            )
        except httpx.HTTPError as exc:
            raise ServerUnreachable(
                f"cannot reach the server at {self.base_url}", str(exc) or type(exc).__name__
            ) from exc

    async def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: dict[str, Any] | None = None,
        auth: bool = True,
    ) -> httpx.Response:
        """Send a request; a 2xx response, else :class:`ServerRefused`."""
        token = await self.access_token() if auth else None
        response = await self._send(method, path, body=body, params=params, token=token)
        if auth and response.status_code == 401:
            token = await self.access_token(renew=True)
            response = await self._send(method, path, body=body, params=params, token=token)
        if response.status_code == 429:
            retry = refusal(response).retry_after
            if retry is not None and retry <= MAX_RATE_LIMIT_WAIT_SECONDS:
                await asyncio.sleep(retry)
                response = await self._send(method, path, body=body, params=params, token=token)
        if response.status_code >= 400:
            raise refusal(response)
        return response

    async def call(
        self,
        method: str,
        path: str,
        model: type[ResponseT],
        *,
        body: Any = None,
        params: dict[str, Any] | None = None,
        auth: bool = True,
    ) -> ResponseT:
        """:meth:`request` and parse the response as ``model``."""
        response = await self.request(method, path, body=body, params=params, auth=auth)
        try:
            return model.model_validate_json(response.content)
        except pydantic.ValidationError as exc:
            raise ServerRefused(
                "the server's answer does not match the protocol",
                status=response.status_code,
                code="bad_response",
                detail=f"{method} {path}: {str(exc)[:300]}",
            ) from exc

    def __repr__(self) -> str:
        return f"ServerApi({self.base_url})"
