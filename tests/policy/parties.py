"""Builders shared by the policy tests: a tenant, an effective policy and a party in one call."""

from __future__ import annotations

from enseal.policy import (
    CallsMode,
    EffectivePolicy,
    EnhancedEncryptionPolicy,
    MeetingsMode,
    Party,
    PolicyAssignment,
    PolicySource,
    Tenant,
    TenantE2EE,
    TenantKind,
    UserTarget,
)


def make_tenant(
    *, kind: TenantKind = TenantKind.COMMERCIAL, e2ee: TenantE2EE = TenantE2EE.ALLOWED, tenant_id: str = "t1"
) -> Tenant:
    return Tenant(tenant_id=tenant_id, kind=kind, e2ee=e2ee)


def make_party(
    user_id: str,
    *,
    tenant: Tenant | None = None,
    calls: CallsMode = CallsMode.USER_OVERRIDE,
    meetings: MeetingsMode = MeetingsMode.USER_OVERRIDE,
    opted_in: bool = True,
    compliance: bool = False,
    device: bool = True,
) -> Party:
    """A party whose policy ``P-<user>`` (calls, meetings) is assigned to them directly."""
    tenant = tenant or make_tenant()
    policy = EnhancedEncryptionPolicy(name=f"P-{user_id}", calls=calls, meetings=meetings)
    effective = EffectivePolicy(
        tenant_id=tenant.tenant_id,
        user_id=user_id,
        policy=policy,
        source=PolicySource.USER,
        assignment=PolicyAssignment(target=UserTarget(user_id=user_id), policy_name=policy.name),
    )
    return Party(
        user_id=user_id,
        tenant=tenant,
        policy=effective,
        e2ee_calls_opted_in=opted_in,
        compliance_recording=compliance,
        device_supports_e2ee=device,
    )
