"""Admin actions on a tenant's policies and assignments, as pure functions (decision record
0201): each takes a :class:`TenantPolicies` and returns the new one, or raises a
:class:`~enseal.policy.errors.PolicyInputError` naming the rule the action breaks.

Group ranks behave as in Teams' group policy assignment: a new group assignment goes to the
rank asked for (or after the last) and the assignments at and below it move down one; ranks are
kept contiguous from 1.
"""

from __future__ import annotations

from dataclasses import replace

from enseal.policy.admin_input import policy_name_key
from enseal.policy.assignment import AssignmentTarget, GroupTarget, PolicyAssignment, TenantPolicies
from enseal.policy.errors import (
    AssignmentNotFound,
    InvalidRank,
    PolicyInUse,
    TooManyGroupAssignments,
    UnknownPolicy,
)
from enseal.policy.limits import MAX_GROUP_ASSIGNMENTS
from enseal.policy.model import EnhancedEncryptionPolicy


def add_policy(policies: TenantPolicies, policy: EnhancedEncryptionPolicy) -> TenantPolicies:
    """Add a new policy; its name must be new (ignoring case) and not 'Global'."""
    return replace(policies, policies=(*policies.policies, policy))


def update_policy(policies: TenantPolicies, policy: EnhancedEncryptionPolicy) -> TenantPolicies:
    """Replace the policy of the same name (ignoring case) with ``policy``.

    Every user it is assigned to gets the new settings at their next decision.
    """
    key = policy_name_key(policy.name)
    if all(policy_name_key(p.name) != key for p in policies.policies):
        raise UnknownPolicy(repr(policy.name))
    return replace(policies, policies=tuple(policy if policy_name_key(p.name) == key else p for p in policies.policies))


def remove_policy(policies: TenantPolicies, name: str) -> TenantPolicies:
    """Remove the policy ``name``. Refused while it is assigned, so that removing a policy never
    silently changes what applies to its users."""
    key = policy_name_key(name)
    if all(policy_name_key(p.name) != key for p in policies.policies):
        raise UnknownPolicy(repr(name))
    in_use = [a.target for a in policies.assignments if policy_name_key(a.policy_name) == key]
    if in_use:
        raise PolicyInUse(f"{name!r} is assigned to {len(in_use)} target(s), first {in_use[0]!r}")
    return replace(policies, policies=tuple(p for p in policies.policies if policy_name_key(p.name) != key))


def assign_policy(
    policies: TenantPolicies, target: AssignmentTarget, policy_name: str, *, rank: int | None = None
) -> TenantPolicies:
    """Assign ``policy_name`` to ``target``, replacing the target's previous assignment.

    For a group, ``rank`` is where the assignment goes (1 = highest priority; at most one past
    the last). Omitted, a new group goes after the last and a re-assigned group keeps its place.
    Other targets take no rank.
    """
    policy_name = policies.policy(policy_name).name  # raises UnknownPolicy; stores the name as defined
    others = tuple(a for a in policies.assignments if a.target != target)
    if not isinstance(target, GroupTarget):
        if rank is not None:
            raise InvalidRank(f"a {type(target).__name__} assignment has no rank")
        return replace(policies, assignments=(*others, PolicyAssignment(target=target, policy_name=policy_name)))
    groups = _by_rank(others)
    if len(groups) >= MAX_GROUP_ASSIGNMENTS:
        raise TooManyGroupAssignments(f"{len(groups)} already")
    if rank is None:
        previous = policies.assignment_for(target)
        position = len(groups) if previous is None else sum(1 for a in groups if (a.rank or 0) < (previous.rank or 0))
    elif isinstance(rank, bool) or not 1 <= rank <= len(groups) + 1:
        raise InvalidRank(f"rank {rank!r}; the next free rank is {len(groups) + 1}")
    else:
        position = rank - 1
    groups.insert(position, PolicyAssignment(target=target, policy_name=policy_name, rank=position + 1))
    return replace(policies, assignments=_with_groups(others, groups))


def unassign_policy(policies: TenantPolicies, target: AssignmentTarget) -> TenantPolicies:
    """Remove ``target``'s assignment; the groups ranked below a removed group move up one."""
    if policies.assignment_for(target) is None:
        raise AssignmentNotFound(repr(target))
    others = tuple(a for a in policies.assignments if a.target != target)
    return replace(policies, assignments=_with_groups(others, _by_rank(others)))


def _by_rank(assignments: tuple[PolicyAssignment, ...]) -> list[PolicyAssignment]:
    return sorted((a for a in assignments if isinstance(a.target, GroupTarget)), key=lambda a: a.rank or 0)


def _with_groups(
    assignments: tuple[PolicyAssignment, ...], groups: list[PolicyAssignment]
) -> tuple[PolicyAssignment, ...]:
    """``assignments`` with its group assignments replaced by ``groups`` ranked 1, 2, 3 ..."""
    return (
        *(a for a in assignments if not isinstance(a.target, GroupTarget)),
        *(replace(a, rank=index) for index, a in enumerate(groups, start=1)),
    )
