"""Enhanced-encryption policy: the admin API (policies, assignments, effective policies), the
user's own E2EE-calls setting, and decisions with their reasons (docs/protocol.md, "Policy").
The rules are :mod:`enseal.policy`'s; this module stores and audits."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response, status

from enseal.errors import RemoteProtocolError
from enseal.policy import (
    AssignmentTarget,
    CallsMode,
    Encryption,
    EnhancedEncryptionPolicy,
    Feature,
    GroupTarget,
    MeetingsMode,
    TenantPolicies,
    TenantTarget,
    UserTarget,
    add_policy,
    assign_policy,
    decide_call,
    decide_e2ee_call_setting,
    decide_feature,
    decide_meeting_encryption,
    parse_setting,
    remove_policy,
    unassign_policy,
    update_policy,
)
from enseal.server.api.bodies import effective_policy_body, policy_body
from enseal.server.api.paths import PolicyPath, TenantPath, UserPath
from enseal.server.audit_trail import audited
from enseal.server.errors import reason_bodies
from enseal.server.fanout import Notice
from enseal.server.parties import effective_policy_of, party_of
from enseal.server.principals import Admin, Device, State, require_tenant
from enseal.storage import NotFound, Transaction
from enseal.storage.policies import target_columns
from enseal.wire import EventType, UserAddress
from enseal.wire.identifiers import NAME_PATTERN
from enseal.wire.policy import (
    AssignmentBody,
    AssignmentList,
    AssignPolicyRequest,
    CallDecisionBody,
    CallDecisionRequest,
    EffectivePolicyBody,
    FeatureDecisionBody,
    FeatureDecisionRequest,
    MeetingDecisionBody,
    MeetingDecisionRequest,
    MyPolicy,
    MySettings,
    PermissionBody,
    PolicyBody,
    PolicyList,
    TargetBody,
)

router = APIRouter(prefix="/v1", tags=["policy"])


def _policy(body: PolicyBody) -> EnhancedEncryptionPolicy:
    return EnhancedEncryptionPolicy(
        name=body.name,
        calls=parse_setting(CallsMode, body.calls),
        meetings=parse_setting(MeetingsMode, body.meetings),
        description=body.description,
    )


async def _target(tx: Transaction, tenant: str, body: TargetBody) -> AssignmentTarget:
    """The policy target of ``body``, which must name an existing user or group."""
    if body.kind == "tenant":
        if body.name is not None:
            raise RemoteProtocolError("a tenant assignment names no user or group", body.name)
        return TenantTarget()
    if body.name is None:
        raise RemoteProtocolError(f"a {body.kind} assignment names the {body.kind}")
    if body.kind == "user":
        await tx.users.get(tenant, body.name)
        return UserTarget(user_id=body.name)
    await tx.groups.get(tenant, body.name)
    return GroupTarget(group_id=body.name)


def _target_text(body: TargetBody) -> str:
    return body.kind if body.name is None else f"{body.kind} {body.name}"


def _assignment_list(policies: TenantPolicies) -> AssignmentList:
    bodies = []
    for assignment in policies.assignments:
        kind, name = target_columns(assignment.target)
        bodies.append(
            AssignmentBody(
                target=TargetBody.model_validate({"kind": kind, "name": name or None}),
                policy=assignment.policy_name,
                rank=assignment.rank,
            )
        )
    return AssignmentList(assignments=bodies)


async def _notify_tenant(state: State, tx: Transaction, tenant: str) -> None:
    """Tell the tenant's connected devices to refetch their policy (fan-out is best effort)."""
    devices = [
        device.device_id
        for user in await tx.users.list(tenant)
        for device in await tx.devices.list_for_user(user, include_revoked=False)
    ]
    await state.fanout.publish(devices, Notice(type=EventType.POLICY_CHANGED.value))


# -- admin: policies -------------------------------------------------------------------------------


@router.get("/tenants/{tenant}/policies", response_model=PolicyList)
async def list_policies(tenant: TenantPath, principal: Admin, state: State) -> PolicyList:
    require_tenant(principal, tenant)
    async with state.store.transaction() as tx:
        await tx.tenants.get(tenant)
        policies = await tx.policies.load(tenant)
    return PolicyList(policies=[policy_body(policy) for policy in policies.policies])


@router.post("/tenants/{tenant}/policies", status_code=status.HTTP_201_CREATED, response_model=PolicyBody)
async def create_policy(tenant: TenantPath, body: PolicyBody, principal: Admin, state: State) -> PolicyBody:
    async with audited(
        state, actor=principal.describe(), action="policy.create", tenant=tenant, target=f"policy {body.name}"
    ) as tx:
        require_tenant(principal, tenant)
        await tx.tenants.get(tenant, for_update=True)
        old = await tx.policies.load(tenant)
        await tx.policies.save(old, add_policy(old, _policy(body)))
    return body


@router.get("/tenants/{tenant}/policies/{name}", response_model=PolicyBody)
async def get_policy(tenant: TenantPath, name: PolicyPath, principal: Admin, state: State) -> PolicyBody:
    require_tenant(principal, tenant)
    async with state.store.transaction() as tx:
        await tx.tenants.get(tenant)
        return policy_body((await tx.policies.load(tenant)).policy(name))


@router.put("/tenants/{tenant}/policies/{name}", response_model=PolicyBody)
async def replace_policy(
    tenant: TenantPath, name: PolicyPath, body: PolicyBody, principal: Admin, state: State
) -> PolicyBody:
    """Replace a policy's settings; everyone it applies to gets them at their next decision."""
    async with audited(
        state, actor=principal.describe(), action="policy.update", tenant=tenant, target=f"policy {name}"
    ) as tx:
        require_tenant(principal, tenant)
        if body.name.lower() != name.lower():
            raise RemoteProtocolError(
                "the body's name must be the policy's name (renaming is not supported)", body.name
            )
        await tx.tenants.get(tenant, for_update=True)
        old = await tx.policies.load(tenant)
        await tx.policies.save(old, update_policy(old, _policy(body)))
        await _notify_tenant(state, tx, tenant)
    return body


@router.delete("/tenants/{tenant}/policies/{name}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_policy(tenant: TenantPath, name: PolicyPath, principal: Admin, state: State) -> Response:
    async with audited(
        state, actor=principal.describe(), action="policy.delete", tenant=tenant, target=f"policy {name}"
    ) as tx:
        require_tenant(principal, tenant)
        await tx.tenants.get(tenant, for_update=True)
        old = await tx.policies.load(tenant)
        await tx.policies.save(old, remove_policy(old, name))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# -- admin: assignments ----------------------------------------------------------------------------


@router.get("/tenants/{tenant}/policy-assignments", response_model=AssignmentList)
async def list_assignments(tenant: TenantPath, principal: Admin, state: State) -> AssignmentList:
    require_tenant(principal, tenant)
    async with state.store.transaction() as tx:
        await tx.tenants.get(tenant)
        return _assignment_list(await tx.policies.load(tenant))


@router.put("/tenants/{tenant}/policy-assignments", response_model=AssignmentList)
async def assign(tenant: TenantPath, body: AssignPolicyRequest, principal: Admin, state: State) -> AssignmentList:
    """Assign a policy to a user, a group (with a rank) or the tenant, replacing what it had."""
    async with audited(
        state,
        actor=principal.describe(),
        action="policy.assign",
        tenant=tenant,
        target=f"{_target_text(body.target)} <- policy {body.policy}",
    ) as tx:
        require_tenant(principal, tenant)
        await tx.tenants.get(tenant, for_update=True)
        target = await _target(tx, tenant, body.target)
        old = await tx.policies.load(tenant)
        new = assign_policy(old, target, body.policy, rank=body.rank)
        await tx.policies.save(old, new)
        await _notify_tenant(state, tx, tenant)
    return _assignment_list(new)


@router.delete("/tenants/{tenant}/policy-assignments", response_model=AssignmentList)
async def unassign(
    tenant: TenantPath,
    principal: Admin,
    state: State,
    kind: Annotated[Literal["user", "group", "tenant"], Query()],
    name: Annotated[str | None, Query(pattern=NAME_PATTERN, max_length=64)] = None,
) -> AssignmentList:
    """Remove the assignment of a user, a group (``?kind=group&name=eng``) or the tenant."""
    target_body = TargetBody.model_validate({"kind": kind, "name": name})
    async with audited(
        state,
        actor=principal.describe(),
        action="policy.unassign",
        tenant=tenant,
        target=_target_text(target_body),
    ) as tx:
        require_tenant(principal, tenant)
        await tx.tenants.get(tenant, for_update=True)
        target = await _target(tx, tenant, target_body)
        old = await tx.policies.load(tenant)
        new = unassign_policy(old, target)
        await tx.policies.save(old, new)
        await _notify_tenant(state, tx, tenant)
    return _assignment_list(new)


@router.get("/tenants/{tenant}/users/{user}/effective-policy", response_model=EffectivePolicyBody)
async def effective_policy(tenant: TenantPath, user: UserPath, principal: Admin, state: State) -> EffectivePolicyBody:
    """The policy that applies to the user and where it comes from."""
    require_tenant(principal, tenant)
    async with state.store.transaction() as tx:
        record = await tx.users.get(tenant, user)
        return effective_policy_body(await effective_policy_of(tx, record), record.address)


# -- the user's own view ---------------------------------------------------------------------------


async def _my_policy(state: State, principal: Device) -> MyPolicy:
    async with state.store.transaction() as tx:
        user = await tx.users.get_by_id(principal.user.id)
        party = await party_of(tx, user, device_supports_e2ee=principal.device.supports_e2ee)
    setting = decide_e2ee_call_setting(party)
    return MyPolicy(
        user=user.address,
        effective_policy=effective_policy_body(party.policy, user.address),
        e2ee_calls_setting=PermissionBody(allowed=setting.allowed, reasons=reason_bodies(setting.reasons)),
        e2ee_calls_opted_in=user.e2ee_calls_opted_in,
        compliance_recording=user.compliance_recording,
        tenant_e2ee=party.tenant.e2ee.value,
    )


@router.get("/me/policy", response_model=MyPolicy)
async def my_policy(principal: Device, state: State) -> MyPolicy:
    """The signed-in user's effective policy, settings and whether the E2EE-calls setting is offered."""
    return await _my_policy(state, principal)


@router.put("/me/settings", response_model=MyPolicy)
async def update_my_settings(body: MySettings, principal: Device, state: State) -> MyPolicy:
    """Turn the user's "end-to-end encrypted calls" setting on or off. Turning it on is refused
    (403 policy_denied, with the reasons) when the policy does not offer it; off is always allowed."""
    user = principal.user
    async with audited(
        state,
        actor=principal.describe(),
        action=f"user.e2ee_calls.{'on' if body.e2ee_calls else 'off'}",
        tenant=user.tenant_id,
        target=user.address,
    ) as tx:
        if body.e2ee_calls:
            party = await party_of(tx, user, device_supports_e2ee=principal.device.supports_e2ee)
            decide_e2ee_call_setting(party).require()
        await tx.users.update(user, e2ee_calls_opted_in=body.e2ee_calls)
    return await _my_policy(state, principal)


# -- decisions -------------------------------------------------------------------------------------


@router.post("/decisions/call", response_model=CallDecisionBody)
async def call_decision(body: CallDecisionRequest, principal: Device, state: State) -> CallDecisionBody:
    """Whether a 1:1 call from this device to ``callee`` is end-to-end encrypted, and why."""
    address = UserAddress.parse(body.callee)
    async with state.store.transaction() as tx:
        caller = await party_of(
            tx, await tx.users.get_by_id(principal.user.id), device_supports_e2ee=principal.device.supports_e2ee
        )
        callee_user = await tx.users.get(address.tenant, address.name)
        devices = await tx.devices.list_for_user(callee_user, include_revoked=False)
        if body.callee_device_id is not None:
            devices = [d for d in devices if d.device_id == body.callee_device_id]
            if not devices:
                raise NotFound("no such active device of the callee", body.callee_device_id)
        callee = await party_of(tx, callee_user, device_supports_e2ee=any(d.supports_e2ee for d in devices))
    decision = decide_call(caller=caller, callee=callee)
    return CallDecisionBody(encryption=decision.encryption.value, reasons=reason_bodies(decision.reasons))


@router.post("/decisions/meeting", response_model=MeetingDecisionBody)
async def meeting_decision(body: MeetingDecisionRequest, principal: Device, state: State) -> MeetingDecisionBody:
    """Whether a meeting this user organises is end-to-end encrypted, and why."""
    async with state.store.transaction() as tx:
        organiser = await party_of(
            tx, await tx.users.get_by_id(principal.user.id), device_supports_e2ee=principal.device.supports_e2ee
        )
    decision = decide_meeting_encryption(organiser=organiser, e2ee_requested=body.e2ee_requested)
    return MeetingDecisionBody(
        encryption=decision.encryption.value,
        e2ee_requested=decision.e2ee_requested,
        request_refused=decision.request_refused,
        reasons=reason_bodies(decision.reasons),
    )


@router.post("/decisions/feature", response_model=FeatureDecisionBody)
async def feature_decision(body: FeatureDecisionRequest, principal: Device) -> FeatureDecisionBody:
    """Whether a feature (recording, captions, dial-in ...) may be used under an encryption.
    Any signed-in device may ask; the answer depends on nothing stored."""
    del principal
    decision = decide_feature(Feature(body.feature), encryption=Encryption(body.encryption))
    return FeatureDecisionBody(
        feature=body.feature,
        encryption=body.encryption,
        allowed=decision.allowed,
        service_role=None if decision.service_role is None else decision.service_role.value,
        reasons=reason_bodies(decision.reasons),
    )
