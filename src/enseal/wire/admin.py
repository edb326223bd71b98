"""Admin API bodies: bootstrap, admin keys, tenants, users, groups and the audit log
(docs/protocol.md, "Admin API")."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from enseal.wire.common import (
    GroupName,
    Request,
    Response,
    TenantId,
    TokenText,
    UserAddressText,
    UserName,
)

TenantKindText = Literal["commercial", "government"]
TenantE2EEText = Literal["allowed", "forbidden"]
AdminRole = Literal["operator", "tenant_admin"]

MAX_PAGE = 500
"""Most items one list response carries."""


class BootstrapRequest(Request):
    token: TokenText


class AdminKeyRequest(Request):
    """Issue an admin key to ``user``, who must be a tenant admin."""

    user: UserAddressText
    label: Annotated[str, StringConstraints(max_length=64, pattern=r"^[^\x00-\x1f\x7f]*$")] = ""


class AdminKeyIssued(Response):
    key_id: str
    api_key: str = Field(description="shown once; send as 'Authorization: Bearer <api_key>'")
    role: AdminRole
    tenant: str | None
    user: str | None


class WhoAmI(Response):
    kind: Literal["operator", "tenant_admin", "device"]
    key_id: str | None = None
    tenant: str | None = None
    user: str | None = None
    device_id: str | None = None


class CreateTenantRequest(Request):
    tenant: TenantId
    kind: TenantKindText
    e2ee: TenantE2EEText | None = Field(
        default=None, description="omitted: the default of the kind (commercial: allowed, government: forbidden)"
    )


class UpdateTenantRequest(Request):
    e2ee: TenantE2EEText


class TenantBody(Response):
    tenant: str
    kind: TenantKindText
    e2ee: TenantE2EEText
    created_at: datetime


class TenantList(Response):
    tenants: list[TenantBody]


class CreateUserRequest(Request):
    name: UserName
    tenant_admin: bool = False
    compliance_recording: bool = False


class UpdateUserRequest(Request):
    tenant_admin: bool | None = None
    compliance_recording: bool | None = None


class UserBody(Response):
    user: str
    tenant_admin: bool
    compliance_recording: bool
    e2ee_calls_opted_in: bool
    created_at: datetime


class UserList(Response):
    users: list[UserBody]


class EnrollmentCodeIssued(Response):
    user: str
    enrollment_code: str = Field(description="one-time; enrolls one device; shown once")
    expires_at: datetime


class UserCreated(Response):
    user: UserBody
    enrollment: EnrollmentCodeIssued


class CreateGroupRequest(Request):
    name: GroupName


class GroupBody(Response):
    group: str
    tenant: str
    members: list[str]


class GroupList(Response):
    groups: list[GroupBody]


class AuditEntry(Response):
    id: int
    at: datetime
    actor: str
    action: str
    tenant: str | None
    target: str | None
    result: str
    detail: str | None


class AuditPage(Response):
    entries: list[AuditEntry]
    next_before: int | None = Field(description="pass as ?before= for the next (older) page")


class TenantQuery(Request):
    tenant: TenantId | None = None
    before: Annotated[int, Field(ge=1, le=2**62)] | None = None
    limit: Annotated[int, Field(ge=1, le=MAX_PAGE)] = 100
