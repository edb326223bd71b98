"""Repository of a tenant's enhanced-encryption policies and assignments, stored as rows and
handled as :class:`enseal.policy.TenantPolicies` (whose pure admin functions validate every
change before it is saved)."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from enseal.policy import (
    AssignmentTarget,
    CallsMode,
    EnhancedEncryptionPolicy,
    GroupTarget,
    MeetingsMode,
    PolicyAssignment,
    TenantPolicies,
    TenantTarget,
    UserTarget,
    parse_setting,
    policy_name_key,
)
from enseal.storage.models import PolicyAssignmentRow, PolicyRow

USER = "user"
GROUP = "group"
TENANT = "tenant"


def target_columns(target: AssignmentTarget) -> tuple[str, str]:
    """(target_kind, target_name) of an assignment target. User targets hold the user's address."""
    if isinstance(target, UserTarget):
        return USER, target.user_id
    if isinstance(target, GroupTarget):
        return GROUP, target.group_id
    return TENANT, ""


def _target(kind: str, name: str) -> AssignmentTarget:
    if kind == USER:
        return UserTarget(user_id=name)
    if kind == GROUP:
        return GroupTarget(group_id=name)
    return TenantTarget()


def _policy(row: PolicyRow) -> EnhancedEncryptionPolicy:
    return EnhancedEncryptionPolicy(
        name=row.name,
        calls=parse_setting(CallsMode, row.calls),
        meetings=parse_setting(MeetingsMode, row.meetings),
        description=row.description,
    )


class PolicyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def load(self, tenant_id: str) -> TenantPolicies:
        policies = await self._session.scalars(
            select(PolicyRow).where(PolicyRow.tenant_id == tenant_id).order_by(PolicyRow.id)
        )
        assignments = await self._session.scalars(
            select(PolicyAssignmentRow)
            .where(PolicyAssignmentRow.tenant_id == tenant_id)
            .order_by(PolicyAssignmentRow.id)
        )
        return TenantPolicies(
            tenant_id=tenant_id,
            policies=tuple(_policy(row) for row in policies),
            assignments=tuple(
                PolicyAssignment(
                    target=_target(row.target_kind, row.target_name), policy_name=row.policy_name, rank=row.rank
                )
                for row in assignments
            ),
        )

    async def save(self, old: TenantPolicies, new: TenantPolicies) -> None:
        """Write the difference between ``old`` (as loaded) and ``new`` (already validated)."""
        tenant_id = new.tenant_id
        old_policies = {policy_name_key(p.name): p for p in old.policies}
        new_policies = {policy_name_key(p.name): p for p in new.policies}
        for key in old_policies.keys() - new_policies.keys():
            await self._session.execute(
                delete(PolicyRow).where(PolicyRow.tenant_id == tenant_id, PolicyRow.name_key == key)
            )
        for key, policy in new_policies.items():
            if old_policies.get(key) == policy:
                continue
            if key in old_policies:
                await self._session.execute(
                    delete(PolicyRow).where(PolicyRow.tenant_id == tenant_id, PolicyRow.name_key == key)
                )
            self._session.add(
                PolicyRow(
                    tenant_id=tenant_id,
                    name=policy.name,
                    name_key=key,
                    calls=policy.calls.value,
                    meetings=policy.meetings.value,
                    description=policy.description,
                )
            )
        old_assignments = {a.target: a for a in old.assignments}
        new_assignments = {a.target: a for a in new.assignments}
        for target, assignment in old_assignments.items():
            if new_assignments.get(target) != assignment:
                kind, name = target_columns(target)
                await self._session.execute(
                    delete(PolicyAssignmentRow).where(
                        PolicyAssignmentRow.tenant_id == tenant_id,
                        PolicyAssignmentRow.target_kind == kind,
                        PolicyAssignmentRow.target_name == name,
                    )
                )
        await self._session.flush()
        for target, assignment in new_assignments.items():
            if old_assignments.get(target) != assignment:
                kind, name = target_columns(target)
                self._session.add(
                    PolicyAssignmentRow(
                        tenant_id=tenant_id,
                        target_kind=kind,
                        target_name=name,
                        policy_name=assignment.policy_name,
                        rank=assignment.rank,
                    )
                )
        await self._session.flush()
