"""Policy assignments and the effective policy of a user (decision record 0201).

As in Teams, a policy is assigned to a user, to a group (with a rank) or to the whole tenant, and
a user's effective policy is, in order of precedence:

1. the policy assigned to the user directly;
2. else the policy of the best-ranked group the user belongs to (rank 1 first; ranks are unique
   in a tenant, so the choice is deterministic however many groups the user is in);
3. else the policy assigned to the tenant;
4. else the built-in 'Global' policy (E2EE disabled).

An assignment may name 'Global', e.g. to exempt one user from a group's policy.
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass
from enum import Enum

from enseal.errors import LocalProtocolError
from enseal.policy.admin_input import (
    is_global_policy_name,
    policy_name_key,
    validate_identifier,
    validate_policy_name,
    validate_rank,
)
from enseal.policy.errors import (
    DuplicateAssignment,
    DuplicatePolicyName,
    DuplicateRank,
    InvalidRank,
    ReservedPolicyName,
    TooManyPolicies,
    UnknownPolicy,
)
from enseal.policy.limits import MAX_POLICIES_PER_TENANT
from enseal.policy.model import GLOBAL_DEFAULT_POLICY, EnhancedEncryptionPolicy
from enseal.policy.reasons import Explanation, Reason


@dataclass(frozen=True, slots=True, kw_only=True)
class UserTarget:
    """An assignment to one user."""

    user_id: str

    def __post_init__(self) -> None:
        validate_identifier("user_id", self.user_id)


@dataclass(frozen=True, slots=True, kw_only=True)
class GroupTarget:
    """An assignment to every member of a group."""

    group_id: str

    def __post_init__(self) -> None:
        validate_identifier("group_id", self.group_id)


@dataclass(frozen=True, slots=True, kw_only=True)
class TenantTarget:
    """An assignment to the whole tenant."""


AssignmentTarget = UserTarget | GroupTarget | TenantTarget


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicyAssignment:
    """``policy_name`` assigned to ``target``; group assignments carry their ``rank``
    (1 = highest priority), the others none."""

    target: AssignmentTarget
    policy_name: str
    rank: int | None = None

    def __post_init__(self) -> None:
        validate_policy_name(self.policy_name)
        if isinstance(self.target, GroupTarget):
            if self.rank is None:
                raise InvalidRank("a group assignment needs a rank")
            validate_rank(self.rank)
        elif self.rank is not None:
            raise InvalidRank(f"a {type(self.target).__name__} assignment has no rank")


class PolicySource(Enum):
    """Which kind of assignment a user's effective policy came from."""

    USER = "user"
    GROUP = "group"
    TENANT = "tenant"
    GLOBAL_DEFAULT = "global_default"


_SOURCE_OF_TARGET: dict[type[AssignmentTarget] | type[None], PolicySource] = {
    UserTarget: PolicySource.USER,
    GroupTarget: PolicySource.GROUP,
    TenantTarget: PolicySource.TENANT,
}

_SOURCE_REASON: dict[PolicySource, Reason] = {
    PolicySource.USER: Reason.POLICY_FROM_USER_ASSIGNMENT,
    PolicySource.GROUP: Reason.POLICY_FROM_GROUP_ASSIGNMENT,
    PolicySource.TENANT: Reason.POLICY_FROM_TENANT_ASSIGNMENT,
    PolicySource.GLOBAL_DEFAULT: Reason.POLICY_GLOBAL_DEFAULT,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class TenantPolicies:
    """A tenant's policies and assignments, validated together.

    The server may build one with only the assignments that concern one user (theirs, their
    groups', the tenant's): resolution needs no others.
    """

    tenant_id: str
    policies: tuple[EnhancedEncryptionPolicy, ...] = ()
    assignments: tuple[PolicyAssignment, ...] = ()

    def __post_init__(self) -> None:
        validate_identifier("tenant_id", self.tenant_id)
        if len(self.policies) > MAX_POLICIES_PER_TENANT:
            raise TooManyPolicies(f"{len(self.policies)} policies")
        names: set[str] = set()
        for policy in self.policies:
            if is_global_policy_name(policy.name):
                raise ReservedPolicyName(repr(policy.name))
            if policy_name_key(policy.name) in names:
                raise DuplicatePolicyName(repr(policy.name))
            names.add(policy_name_key(policy.name))
        targets: set[AssignmentTarget] = set()
        ranks: set[int] = set()
        for assignment in self.assignments:
            if policy_name_key(assignment.policy_name) not in names and not is_global_policy_name(
                assignment.policy_name
            ):
                raise UnknownPolicy(repr(assignment.policy_name))
            if assignment.target in targets:
                raise DuplicateAssignment(repr(assignment.target))
            targets.add(assignment.target)
            if assignment.rank is not None:
                if assignment.rank in ranks:
                    raise DuplicateRank(f"rank {assignment.rank}")
                ranks.add(assignment.rank)

    def policy(self, name: str) -> EnhancedEncryptionPolicy:
        """The policy called ``name`` (ignoring case; 'Global' is the built-in one)."""
        if is_global_policy_name(name):
            return GLOBAL_DEFAULT_POLICY
        key = policy_name_key(name)
        for policy in self.policies:
            if policy_name_key(policy.name) == key:
                return policy
        raise UnknownPolicy(repr(name))

    def assignment_for(self, target: AssignmentTarget) -> PolicyAssignment | None:
        """The assignment made to ``target``, if any."""
        return next((a for a in self.assignments if a.target == target), None)


@dataclass(frozen=True, slots=True, kw_only=True)
class EffectivePolicy:
    """The policy that applies to ``user_id`` and where it came from.

    ``assignment`` is the winning assignment (None for the built-in default); ``overridden``
    lists the other assignments that also matched the user, best first, which lost to it.
    """

    tenant_id: str
    user_id: str
    policy: EnhancedEncryptionPolicy
    source: PolicySource
    assignment: PolicyAssignment | None
    overridden: tuple[PolicyAssignment, ...] = ()

    def __post_init__(self) -> None:
        target = None if self.assignment is None else self.assignment.target
        if _SOURCE_OF_TARGET.get(type(target), PolicySource.GLOBAL_DEFAULT) is not self.source:
            raise LocalProtocolError(f"a {self.source.value} policy cannot come from {self.assignment!r}")
        named = GLOBAL_DEFAULT_POLICY.name if self.assignment is None else self.assignment.policy_name
        if policy_name_key(named) != policy_name_key(self.policy.name):
            raise LocalProtocolError(f"policy {self.policy.name!r} is not the one assigned ({named!r})")

    @property
    def provenance(self) -> str:
        """Where the policy came from, for people: ``policy 'Strict' via group 'eng', rank 1``."""
        text = f"policy '{self.policy.name}'"
        assignment = self.assignment
        if assignment is None:
            return f"{text}, the built-in default"
        if isinstance(assignment.target, UserTarget):
            return f"{text} assigned to the user"
        if isinstance(assignment.target, GroupTarget):
            return f"{text} via group '{assignment.target.group_id}', rank {assignment.rank}"
        return f"{text} assigned to the tenant"

    @property
    def reasons(self) -> tuple[Explanation, ...]:
        """Why this policy applies: one explanation naming the rule of precedence used."""
        return (Explanation(reason=_SOURCE_REASON[self.source], user_id=self.user_id, detail=self.provenance),)


def resolve_effective_policy(policies: TenantPolicies, *, user_id: str, group_ids: Set[str]) -> EffectivePolicy:
    """The effective policy of ``user_id``, a member of the groups ``group_ids``.

    Precedence: user assignment, then the group assignment with the lowest rank among the user's
    groups, then the tenant assignment, then the built-in 'Global' policy.
    """
    validate_identifier("user_id", user_id)
    user_target = UserTarget(user_id=user_id)
    by_user = [a for a in policies.assignments if a.target == user_target]
    by_group = sorted(
        (a for a in policies.assignments if isinstance(a.target, GroupTarget) and a.target.group_id in group_ids),
        key=lambda a: a.rank or 0,
    )
    by_tenant = [a for a in policies.assignments if isinstance(a.target, TenantTarget)]
    matching = [*by_user, *by_group, *by_tenant]
    if not matching:
        return EffectivePolicy(
            tenant_id=policies.tenant_id,
            user_id=user_id,
            policy=GLOBAL_DEFAULT_POLICY,
            source=PolicySource.GLOBAL_DEFAULT,
            assignment=None,
        )
    winner = matching[0]
    return EffectivePolicy(
        tenant_id=policies.tenant_id,
        user_id=user_id,
        policy=policies.policy(winner.policy_name),
        source=_SOURCE_OF_TARGET[type(winner.target)],
        assignment=winner,
        overridden=tuple(matching[1:]),
    )
