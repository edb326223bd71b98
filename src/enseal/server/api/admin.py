"""Admin API: bootstrap, admin keys, tenants, users, enrollment codes, groups, users' devices and
the audit log (docs/protocol.md, "Admin API"; decision record 0505). Every change is audited."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from enseal.crypto.tokens import new_bearer_token, new_enrollment_code, normalise_enrollment_code, token_digest
from enseal.policy import DEFAULT_TENANT_E2EE, TenantKind
from enseal.server.api.bodies import audit_entry, device_body, group_body, tenant_body, user_body
from enseal.server.api.paths import DevicePath, GroupPath, TenantPath, UserPath
from enseal.server.audit_trail import audited
from enseal.server.errors import Forbidden, Unauthenticated
from enseal.server.fanout import Notice
from enseal.server.initialise import BOOTSTRAP_TOKEN_KIND
from enseal.server.principals import (
    ADMIN_KEY_KIND,
    ADMIN_KEY_PREFIX,
    Admin,
    OperatorPrincipal,
    State,
    TenantAdminPrincipal,
    require_operator,
    require_tenant,
)
from enseal.server.rate_limit import Limit
from enseal.server.revocation import after_revocation
from enseal.server.state import ServerState
from enseal.storage import Conflict, NotFound, Transaction, UserRecord
from enseal.storage.admin_keys import OPERATOR, TENANT_ADMIN
from enseal.wire import EventType
from enseal.wire.admin import (
    MAX_PAGE,
    AdminKeyIssued,
    AdminKeyRequest,
    AuditPage,
    BootstrapRequest,
    CreateGroupRequest,
    CreateTenantRequest,
    CreateUserRequest,
    EnrollmentCodeIssued,
    GroupBody,
    GroupList,
    TenantBody,
    TenantList,
    UpdateTenantRequest,
    UpdateUserRequest,
    UserBody,
    UserCreated,
    UserList,
    WhoAmI,
)
from enseal.wire.devices import DeviceBody, DeviceList
from enseal.wire.identifiers import TENANT_PATTERN, UserAddress

router = APIRouter(prefix="/v1", tags=["admin"])

ENROLLMENT_CODE_KIND = "enrollment"


async def issue_enrollment_code(state: ServerState, tx: Transaction, user: UserRecord) -> EnrollmentCodeIssued:
    code = new_enrollment_code(state.random_bytes)
    now = state.clock()
    expires_at = now + state.enrollment_code_lifetime
    await tx.enrollments.add(
        user=user,
        digest=token_digest(ENROLLMENT_CODE_KIND, normalise_enrollment_code(code.text())),
        now=now,
        expires_at=expires_at,
    )
    return EnrollmentCodeIssued(user=user.address, enrollment_code=code.text(), expires_at=expires_at)


async def _issue_admin_key(
    state: ServerState, tx: Transaction, *, role: str, user: UserRecord | None, label: str
) -> AdminKeyIssued:
    key = new_bearer_token(ADMIN_KEY_PREFIX, state.random_bytes)
    record = await tx.admin_keys.create(
        key_id=state.new_id(),
        key_digest=token_digest(ADMIN_KEY_KIND, key.text()),
        role=role,
        user=user,
        label=label,
        now=state.clock(),
    )
    return AdminKeyIssued.model_validate(
        {
            "key_id": record.key_id,
            "api_key": key.text(),
            "role": role,
            "tenant": record.tenant_id,
            "user": None if user is None else user.address,
        }
    )


@router.post("/admin/bootstrap", status_code=status.HTTP_201_CREATED, response_model=AdminKeyIssued)
async def bootstrap(body: BootstrapRequest, state: State) -> AdminKeyIssued:
    """Trade the one-time bootstrap token printed by ``enseal server init`` for an operator key."""
    state.rate_limiter.check(Limit.BOOTSTRAP, "server")
    async with audited(state, actor="bootstrap token", action="admin.bootstrap", tenant=None) as tx:
        try:
            await tx.bootstrap.consume(token_digest(BOOTSTRAP_TOKEN_KIND, body.token), now=state.clock())
        except Conflict as exc:
            raise Unauthenticated("the bootstrap token is unknown or was already used") from exc
        return await _issue_admin_key(state, tx, role=OPERATOR, user=None, label="bootstrap")


@router.post("/admin/keys", status_code=status.HTTP_201_CREATED, response_model=AdminKeyIssued)
async def create_admin_key(body: AdminKeyRequest, principal: Admin, state: State) -> AdminKeyIssued:
    """Issue an admin key to a tenant admin (by the operator or an admin of that tenant)."""
    address = UserAddress.parse(body.user)
    require_tenant(principal, address.tenant)
    async with audited(
        state, actor=principal.describe(), action="admin_key.create", tenant=address.tenant, target=str(address)
    ) as tx:
        user = await tx.users.get(address.tenant, address.name)
        if not user.tenant_admin:
            raise Forbidden("admin keys are issued to tenant admins only", str(address))
        return await _issue_admin_key(state, tx, role=TENANT_ADMIN, user=user, label=body.label)


@router.get("/admin/whoami", response_model=WhoAmI)
async def whoami(principal: Admin) -> WhoAmI:
    if isinstance(principal, OperatorPrincipal):
        return WhoAmI(kind="operator", key_id=principal.key_id)
    return WhoAmI(
        kind="tenant_admin", key_id=principal.key_id, tenant=principal.user.tenant_id, user=principal.user.address
    )


# -- tenants ---------------------------------------------------------------------------------------


@router.post("/tenants", status_code=status.HTTP_201_CREATED, response_model=TenantBody)
async def create_tenant(body: CreateTenantRequest, principal: Admin, state: State) -> TenantBody:
    async with audited(
        state, actor=principal.describe(), action="tenant.create", tenant=body.tenant, target=body.tenant
    ) as tx:
        require_operator(principal)
        kind = TenantKind(body.kind)
        e2ee = body.e2ee or DEFAULT_TENANT_E2EE[kind].value
        return tenant_body(
            await tx.tenants.create(tenant_id=body.tenant, kind=kind.value, e2ee=e2ee, now=state.clock())
        )


@router.get("/tenants", response_model=TenantList)
async def list_tenants(principal: Admin, state: State) -> TenantList:
    async with state.store.transaction() as tx:
        if isinstance(principal, TenantAdminPrincipal):
            return TenantList(tenants=[tenant_body(await tx.tenants.get(principal.user.tenant_id))])
        return TenantList(tenants=[tenant_body(tenant) for tenant in await tx.tenants.list()])


@router.get("/tenants/{tenant}", response_model=TenantBody)
async def get_tenant(tenant: TenantPath, principal: Admin, state: State) -> TenantBody:
    require_tenant(principal, tenant)
    async with state.store.transaction() as tx:
        return tenant_body(await tx.tenants.get(tenant))


@router.patch("/tenants/{tenant}", response_model=TenantBody)
async def update_tenant(tenant: TenantPath, body: UpdateTenantRequest, principal: Admin, state: State) -> TenantBody:
    """Set the tenant's E2EE setting: ``forbidden`` makes E2EE unavailable to all its users."""
    async with audited(
        state, actor=principal.describe(), action=f"tenant.e2ee.{body.e2ee}", tenant=tenant, target=tenant
    ) as tx:
        require_tenant(principal, tenant)
        return tenant_body(await tx.tenants.set_e2ee(tenant, body.e2ee))


# -- users -------------------------------------------------------------------------------------------


@router.post("/tenants/{tenant}/users", status_code=status.HTTP_201_CREATED, response_model=UserCreated)
async def create_user(tenant: TenantPath, body: CreateUserRequest, principal: Admin, state: State) -> UserCreated:
    """Create a user and a one-time enrollment code for their first device."""
    address = f"{body.name}@{tenant}"
    async with audited(state, actor=principal.describe(), action="user.create", tenant=tenant, target=address) as tx:
        require_tenant(principal, tenant)
        await tx.tenants.get(tenant)
        user = await tx.users.create(
            tenant_id=tenant,
            name=body.name,
            tenant_admin=body.tenant_admin,
            compliance_recording=body.compliance_recording,
            now=state.clock(),
        )
        return UserCreated(user=user_body(user), enrollment=await issue_enrollment_code(state, tx, user))


@router.get("/tenants/{tenant}/users", response_model=UserList)
async def list_users(tenant: TenantPath, principal: Admin, state: State) -> UserList:
    require_tenant(principal, tenant)
    async with state.store.transaction() as tx:
        await tx.tenants.get(tenant)
        return UserList(users=[user_body(user) for user in await tx.users.list(tenant)])


@router.get("/tenants/{tenant}/users/{user}", response_model=UserBody)
async def get_user(tenant: TenantPath, user: UserPath, principal: Admin, state: State) -> UserBody:
    require_tenant(principal, tenant)
    async with state.store.transaction() as tx:
        return user_body(await tx.users.get(tenant, user))


@router.patch("/tenants/{tenant}/users/{user}", response_model=UserBody)
async def update_user(
    tenant: TenantPath, user: UserPath, body: UpdateUserRequest, principal: Admin, state: State
) -> UserBody:
    """Grant or withdraw the tenant-admin role; put the user under compliance recording or not."""
    changes = ",".join(f"{name}={value}".lower() for name, value in body.model_dump(exclude_none=True).items())
    async with audited(
        state, actor=principal.describe(), action=f"user.update[{changes}]", tenant=tenant, target=f"{user}@{tenant}"
    ) as tx:
        require_tenant(principal, tenant)
        record = await tx.users.update(
            await tx.users.get(tenant, user),
            tenant_admin=body.tenant_admin,
            compliance_recording=body.compliance_recording,
        )
        devices = [d.device_id for d in await tx.devices.list_for_user(record, include_revoked=False)]
    await state.fanout.publish(devices, Notice(type=EventType.POLICY_CHANGED.value))
    return user_body(record)


@router.post(
    "/tenants/{tenant}/users/{user}/enrollment-codes",
    status_code=status.HTTP_201_CREATED,
    response_model=EnrollmentCodeIssued,
)
async def create_enrollment_code(
    tenant: TenantPath, user: UserPath, principal: Admin, state: State
) -> EnrollmentCodeIssued:
    """A new one-time code with which the user enrolls one more device."""
    async with audited(
        state, actor=principal.describe(), action="enrollment_code.create", tenant=tenant, target=f"{user}@{tenant}"
    ) as tx:
        require_tenant(principal, tenant)
        return await issue_enrollment_code(state, tx, await tx.users.get(tenant, user))


@router.get("/tenants/{tenant}/users/{user}/devices", response_model=DeviceList)
async def list_user_devices(tenant: TenantPath, user: UserPath, principal: Admin, state: State) -> DeviceList:
    require_tenant(principal, tenant)
    async with state.store.transaction() as tx:
        record = await tx.users.get(tenant, user)
        return DeviceList(devices=[device_body(device) for device in await tx.devices.list_for_user(record)])


@router.delete("/tenants/{tenant}/users/{user}/devices/{device_id}", response_model=DeviceBody)
async def revoke_user_device(
    tenant: TenantPath, user: UserPath, device_id: DevicePath, principal: Admin, state: State
) -> DeviceBody:
    async with audited(
        state, actor=principal.describe(), action="device.revoke", tenant=tenant, target=f"{user}@{tenant}/{device_id}"
    ) as tx:
        require_tenant(principal, tenant)
        device = await tx.devices.get(device_id)
        if device.user.tenant_id != tenant or device.user.name != user:
            raise NotFound("no such device of this user", device_id)
        revoked = await tx.devices.revoke(device, now=state.clock())
    await state.fanout.publish([device_id], Notice(type=EventType.DEVICE_REVOKED.value, closes=True))
    await after_revocation(state, device_id)
    return device_body(revoked)


# -- groups ------------------------------------------------------------------------------------------


@router.post("/tenants/{tenant}/groups", status_code=status.HTTP_201_CREATED, response_model=GroupBody)
async def create_group(tenant: TenantPath, body: CreateGroupRequest, principal: Admin, state: State) -> GroupBody:
    async with audited(
        state, actor=principal.describe(), action="group.create", tenant=tenant, target=f"group {body.name}"
    ) as tx:
        require_tenant(principal, tenant)
        await tx.tenants.get(tenant)
        return group_body(await tx.groups.create(tenant_id=tenant, name=body.name, now=state.clock()))


@router.get("/tenants/{tenant}/groups", response_model=GroupList)
async def list_groups(tenant: TenantPath, principal: Admin, state: State) -> GroupList:
    require_tenant(principal, tenant)
    async with state.store.transaction() as tx:
        await tx.tenants.get(tenant)
        return GroupList(groups=[group_body(group) for group in await tx.groups.list(tenant)])


@router.get("/tenants/{tenant}/groups/{group}", response_model=GroupBody)
async def get_group(tenant: TenantPath, group: GroupPath, principal: Admin, state: State) -> GroupBody:
    require_tenant(principal, tenant)
    async with state.store.transaction() as tx:
        return group_body(await tx.groups.get(tenant, group))


@router.put("/tenants/{tenant}/groups/{group}/members/{user}", response_model=GroupBody)
async def add_group_member(
    tenant: TenantPath, group: GroupPath, user: UserPath, principal: Admin, state: State
) -> GroupBody:
    async with audited(
        state, actor=principal.describe(), action="group.member.add", tenant=tenant, target=f"group {group}: {user}"
    ) as tx:
        require_tenant(principal, tenant)
        record = await tx.groups.add_member(await tx.groups.get(tenant, group), await tx.users.get(tenant, user))
        return group_body(record)


@router.delete("/tenants/{tenant}/groups/{group}/members/{user}", response_model=GroupBody)
async def remove_group_member(
    tenant: TenantPath, group: GroupPath, user: UserPath, principal: Admin, state: State
) -> GroupBody:
    async with audited(
        state, actor=principal.describe(), action="group.member.remove", tenant=tenant, target=f"group {group}: {user}"
    ) as tx:
        require_tenant(principal, tenant)
        record = await tx.groups.remove_member(await tx.groups.get(tenant, group), await tx.users.get(tenant, user))
        return group_body(record)


# -- audit -------------------------------------------------------------------------------------------


@router.get("/audit", response_model=AuditPage)
async def audit_log(
    principal: Admin,
    state: State,
    tenant: Annotated[str | None, Query(pattern=TENANT_PATTERN, max_length=63)] = None,
    before: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
) -> AuditPage:
    """The audit log, newest first. A tenant admin sees their tenant's entries only."""
    if isinstance(principal, TenantAdminPrincipal):
        if tenant not in (None, principal.user.tenant_id):
            raise Forbidden("a tenant admin reads only their own tenant's audit log", tenant)
        tenant = principal.user.tenant_id
    async with state.store.transaction() as tx:
        entries = await tx.audit.page(tenant_id=tenant, before=before, limit=limit)
    return AuditPage(
        entries=[audit_entry(entry) for entry in entries],
        next_before=entries[-1].id if len(entries) == limit else None,
    )
