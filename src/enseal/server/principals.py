"""Who is calling: admin keys (operator or tenant admin) and device access tokens, resolved from
``Authorization: Bearer ...`` (decision record 0505; docs/protocol.md, "Authentication")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Final

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from enseal.crypto.tokens import token_digest
from enseal.server.errors import Forbidden, Unauthenticated
from enseal.server.state import ServerState
from enseal.storage import DeviceRecord, UserRecord
from enseal.storage.admin_keys import OPERATOR

ADMIN_KEY_PREFIX: Final = "esa"
ADMIN_KEY_KIND: Final = "admin"
ACCESS_TOKEN_PREFIX: Final = "est"  # noqa: S105 - a token prefix, not a secret
ACCESS_TOKEN_KIND: Final = "access"  # noqa: S105 - a digest label
MAX_CREDENTIAL_LENGTH: Final = 128


@dataclass(frozen=True, slots=True, kw_only=True)
class OperatorPrincipal:
    """Runs the server: creates tenants and their first admins; sees every tenant."""

    key_id: str

    def describe(self) -> str:
        return f"operator key {self.key_id}"


@dataclass(frozen=True, slots=True, kw_only=True)
class TenantAdminPrincipal:
    """A user with the tenant-admin role, through one of their admin keys."""

    key_id: str
    user: UserRecord

    def describe(self) -> str:
        return f"tenant admin {self.user.address} key {self.key_id}"


@dataclass(frozen=True, slots=True, kw_only=True)
class DevicePrincipal:
    device: DeviceRecord
    session_expires_at: datetime

    @property
    def user(self) -> UserRecord:
        return self.device.user

    def describe(self) -> str:
        return f"device {self.device.user.address}/{self.device.device_id}"


AdminPrincipal = OperatorPrincipal | TenantAdminPrincipal

_admin_bearer = HTTPBearer(scheme_name="AdminKey", auto_error=False, description="an admin API key (esa_...)")
_device_bearer = HTTPBearer(scheme_name="DeviceToken", auto_error=False, description="a device access token (est_...)")


def server_state(request: Request) -> ServerState:
    state = request.app.state.enseal
    assert isinstance(state, ServerState)
    return state


State = Annotated[ServerState, Depends(server_state)]


def _token(credentials: HTTPAuthorizationCredentials | None, prefix: str) -> str:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated("send 'Authorization: Bearer <token>'")
    token = credentials.credentials
    if len(token) > MAX_CREDENTIAL_LENGTH or not token.startswith(prefix + "_"):
        raise Unauthenticated(f"the bearer token is not a {prefix}_ token")
    return token


async def authenticate_admin(
    state: State, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_admin_bearer)]
) -> AdminPrincipal:
    token = _token(credentials, ADMIN_KEY_PREFIX)
    async with state.store.transaction() as tx:
        key = await tx.admin_keys.find(token_digest(ADMIN_KEY_KIND, token))
    if key is None:
        raise Unauthenticated("unknown or revoked admin key")
    if key.role == OPERATOR:
        return OperatorPrincipal(key_id=key.key_id)
    assert key.user is not None
    return TenantAdminPrincipal(key_id=key.key_id, user=key.user)


async def device_of_token(state: ServerState, token: str) -> DevicePrincipal:
    async with state.store.transaction() as tx:
        found = await tx.sessions.device_of(token_digest(ACCESS_TOKEN_KIND, token), now=state.clock())
    if found is None:
        raise Unauthenticated("unknown or expired access token, or the device was revoked")
    return DevicePrincipal(device=found[0], session_expires_at=found[1])


async def authenticate_device(
    state: State, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_device_bearer)]
) -> DevicePrincipal:
    return await device_of_token(state, _token(credentials, ACCESS_TOKEN_PREFIX))


Admin = Annotated[AdminPrincipal, Depends(authenticate_admin)]
Device = Annotated[DevicePrincipal, Depends(authenticate_device)]


def require_operator(principal: AdminPrincipal) -> OperatorPrincipal:
    if not isinstance(principal, OperatorPrincipal):
        raise Forbidden("only the server operator may do this")
    return principal


def require_tenant(principal: AdminPrincipal, tenant_id: str) -> None:
    """Operators administer every tenant; a tenant admin only their own."""
    if isinstance(principal, TenantAdminPrincipal) and principal.user.tenant_id != tenant_id:
        raise Forbidden("a tenant admin administers only their own tenant", tenant_id)
