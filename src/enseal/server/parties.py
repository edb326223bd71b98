"""Building the inputs of :mod:`enseal.policy` decisions from the store: a tenant, a user's
effective policy and the :class:`~enseal.policy.Party` a decision takes."""

from __future__ import annotations

from enseal.policy import (
    EffectivePolicy,
    Party,
    Tenant,
    TenantE2EE,
    TenantKind,
    resolve_effective_policy,
)
from enseal.storage import Transaction, UserRecord


async def tenant_of(tx: Transaction, tenant_id: str) -> Tenant:
    record = await tx.tenants.get(tenant_id)
    return Tenant(tenant_id=record.tenant_id, kind=TenantKind(record.kind), e2ee=TenantE2EE(record.e2ee))


async def effective_policy_of(tx: Transaction, user: UserRecord) -> EffectivePolicy:
    """The user's effective policy; policy user targets are user names within the tenant."""
    policies = await tx.policies.load(user.tenant_id)
    groups = await tx.groups.names_of_user(user)
    return resolve_effective_policy(policies, user_id=user.name, group_ids=groups)


async def party_of(tx: Transaction, user: UserRecord, *, device_supports_e2ee: bool) -> Party:
    return Party(
        user_id=user.name,
        tenant=await tenant_of(tx, user.tenant_id),
        policy=await effective_policy_of(tx, user),
        e2ee_calls_opted_in=user.e2ee_calls_opted_in,
        compliance_recording=user.compliance_recording,
        device_supports_e2ee=device_supports_e2ee,
    )
