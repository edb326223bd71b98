"""Effective-policy resolution: user beats group beats tenant beats the built-in 'Global' policy,
and among a user's groups the lowest rank wins."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from enseal.errors import LocalProtocolError
from enseal.policy import (
    GLOBAL_DEFAULT_POLICY,
    CallsMode,
    DuplicateAssignment,
    DuplicatePolicyName,
    DuplicateRank,
    EffectivePolicy,
    EnhancedEncryptionPolicy,
    GroupTarget,
    InvalidIdentifier,
    InvalidRank,
    MeetingsMode,
    Party,
    PolicyAssignment,
    PolicySource,
    Reason,
    ReservedPolicyName,
    TenantPolicies,
    TenantTarget,
    TooManyPolicies,
    UnknownPolicy,
    UserTarget,
    resolve_effective_policy,
)

from .parties import make_tenant

A = EnhancedEncryptionPolicy(name="A", calls=CallsMode.USER_OVERRIDE, meetings=MeetingsMode.DISABLED)
B = EnhancedEncryptionPolicy(name="B", calls=CallsMode.DISABLED, meetings=MeetingsMode.REQUIRED)
C = EnhancedEncryptionPolicy(name="C", calls=CallsMode.USER_OVERRIDE, meetings=MeetingsMode.USER_OVERRIDE)
D = EnhancedEncryptionPolicy(name="D", calls=CallsMode.DISABLED, meetings=MeetingsMode.USER_OVERRIDE)


def user(user_id: str, name: str) -> PolicyAssignment:
    return PolicyAssignment(target=UserTarget(user_id=user_id), policy_name=name)


def group(group_id: str, name: str, rank: int) -> PolicyAssignment:
    return PolicyAssignment(target=GroupTarget(group_id=group_id), policy_name=name, rank=rank)


def tenant(name: str) -> PolicyAssignment:
    return PolicyAssignment(target=TenantTarget(), policy_name=name)


def book(*assignments: PolicyAssignment) -> TenantPolicies:
    return TenantPolicies(tenant_id="t1", policies=(A, B, C, D), assignments=assignments)


def test_nothing_assigned_gives_the_global_default() -> None:
    effective = resolve_effective_policy(book(), user_id="alice", group_ids=frozenset())
    assert effective.policy == GLOBAL_DEFAULT_POLICY
    assert effective.policy.calls is CallsMode.DISABLED and effective.policy.meetings is MeetingsMode.DISABLED
    assert effective.source is PolicySource.GLOBAL_DEFAULT
    assert effective.assignment is None and effective.overridden == ()
    assert [e.reason for e in effective.reasons] == [Reason.POLICY_GLOBAL_DEFAULT]
    assert effective.provenance == "policy 'Global', the built-in default"


def test_tenant_assignment_applies_to_everyone_else() -> None:
    effective = resolve_effective_policy(book(tenant("A"), group("eng", "B", 1)), user_id="alice", group_ids={"sales"})
    assert (effective.policy, effective.source) == (A, PolicySource.TENANT)
    assert effective.assignment == tenant("A")
    assert [e.reason for e in effective.reasons] == [Reason.POLICY_FROM_TENANT_ASSIGNMENT]
    assert effective.provenance == "policy 'A' assigned to the tenant"


def test_group_beats_tenant() -> None:
    effective = resolve_effective_policy(book(tenant("A"), group("eng", "B", 1)), user_id="alice", group_ids={"eng"})
    assert (effective.policy, effective.source) == (B, PolicySource.GROUP)
    assert effective.overridden == (tenant("A"),)
    assert effective.reasons[0].reason is Reason.POLICY_FROM_GROUP_ASSIGNMENT
    assert effective.reasons[0].detail == "policy 'B' via group 'eng', rank 1"


def test_user_beats_group_and_tenant() -> None:
    assignments = (tenant("A"), group("eng", "B", 1), user("alice", "C"), user("bob", "D"))
    effective = resolve_effective_policy(book(*assignments), user_id="alice", group_ids={"eng"})
    assert (effective.policy, effective.source) == (C, PolicySource.USER)
    assert effective.overridden == (group("eng", "B", 1), tenant("A"))
    assert effective.reasons[0].reason is Reason.POLICY_FROM_USER_ASSIGNMENT
    assert effective.reasons[0].user_id == "alice"


def test_lowest_rank_wins_whatever_the_order() -> None:
    groups = (group("sales", "A", 7), group("eng", "B", 2), group("ops", "C", 3), group("all", "D", 1))
    for assignments in (groups, groups[::-1]):
        effective = resolve_effective_policy(book(*assignments), user_id="alice", group_ids={"sales", "eng", "ops"})
        assert effective.policy == B
        assert effective.overridden == (group("ops", "C", 3), group("sales", "A", 7))


def test_global_can_be_assigned_to_exempt_a_user() -> None:
    effective = resolve_effective_policy(
        book(group("eng", "B", 1), user("alice", "global")), user_id="alice", group_ids={"eng"}
    )
    assert effective.policy == GLOBAL_DEFAULT_POLICY
    assert effective.source is PolicySource.USER


def test_policy_names_resolve_ignoring_case() -> None:
    effective = resolve_effective_policy(book(user("alice", "c")), user_id="alice", group_ids=set())
    assert effective.policy == C


@pytest.mark.parametrize(
    ("assignments", "error"),
    [
        ((user("alice", "A"), user("alice", "B")), DuplicateAssignment),
        ((group("eng", "A", 1), group("eng", "B", 2)), DuplicateAssignment),
        ((tenant("A"), tenant("B")), DuplicateAssignment),
        ((group("eng", "A", 1), group("ops", "B", 1)), DuplicateRank),
        ((user("alice", "Z"),), UnknownPolicy),
    ],
)
def test_invalid_assignment_sets_are_refused(assignments: tuple[PolicyAssignment, ...], error: type[Exception]) -> None:
    with pytest.raises(error):
        book(*assignments)


def test_invalid_policy_sets_are_refused() -> None:
    with pytest.raises(DuplicatePolicyName):
        TenantPolicies(
            tenant_id="t1", policies=(A, EnhancedEncryptionPolicy(name="a", calls=A.calls, meetings=A.meetings))
        )
    with pytest.raises(ReservedPolicyName):
        TenantPolicies(tenant_id="t1", policies=(GLOBAL_DEFAULT_POLICY,))
    many = tuple(
        EnhancedEncryptionPolicy(name=f"P{i}", calls=CallsMode.DISABLED, meetings=MeetingsMode.DISABLED)
        for i in range(257)
    )
    TenantPolicies(tenant_id="t1", policies=many[:256])
    with pytest.raises(TooManyPolicies):
        TenantPolicies(tenant_id="t1", policies=many)


def test_assignment_rank_rules() -> None:
    with pytest.raises(InvalidRank):
        PolicyAssignment(target=GroupTarget(group_id="eng"), policy_name="A")
    with pytest.raises(InvalidRank):
        PolicyAssignment(target=UserTarget(user_id="alice"), policy_name="A", rank=1)
    with pytest.raises(InvalidRank):
        PolicyAssignment(target=TenantTarget(), policy_name="A", rank=1)
    with pytest.raises(InvalidRank):
        group("eng", "A", 0)
    with pytest.raises(InvalidIdentifier):
        UserTarget(user_id=" alice")


def test_effective_policy_must_be_consistent() -> None:
    with pytest.raises(LocalProtocolError):
        EffectivePolicy(
            tenant_id="t1", user_id="alice", policy=A, source=PolicySource.GROUP, assignment=user("alice", "A")
        )
    with pytest.raises(LocalProtocolError):
        EffectivePolicy(tenant_id="t1", user_id="alice", policy=A, source=PolicySource.GLOBAL_DEFAULT, assignment=None)
    with pytest.raises(LocalProtocolError):
        EffectivePolicy(
            tenant_id="t1", user_id="alice", policy=B, source=PolicySource.USER, assignment=user("alice", "A")
        )


def test_party_refuses_someone_elses_policy() -> None:
    effective = resolve_effective_policy(book(), user_id="alice", group_ids=set())
    party_args = {"e2ee_calls_opted_in": True, "compliance_recording": False, "device_supports_e2ee": True}
    Party(user_id="alice", tenant=make_tenant(tenant_id="t1"), policy=effective, **party_args)
    with pytest.raises(LocalProtocolError):
        Party(user_id="bob", tenant=make_tenant(tenant_id="t1"), policy=effective, **party_args)
    with pytest.raises(LocalProtocolError):
        Party(user_id="alice", tenant=make_tenant(tenant_id="t2"), policy=effective, **party_args)


# -- property: resolution agrees with a plain restatement of the precedence rules ---------------

USERS = ["u0", "u1", "u2"]
GROUPS = ["g0", "g1", "g2", "g3", "g4"]
NAMES = ["A", "B", "C", "D", "Global"]


@st.composite
def assignment_sets(draw: st.DrawFn) -> tuple[dict[str, str], dict[str, tuple[str, int]], str | None]:
    users = draw(st.dictionaries(st.sampled_from(USERS), st.sampled_from(NAMES)))
    chosen = draw(st.lists(st.sampled_from(GROUPS), unique=True))
    ranks = draw(st.permutations(range(1, 20)))
    groups = {g: (draw(st.sampled_from(NAMES)), ranks[i]) for i, g in enumerate(chosen)}
    tenant_name = draw(st.none() | st.sampled_from(NAMES))
    return users, groups, tenant_name


def oracle_policy_name(
    users: dict[str, str],
    groups: dict[str, tuple[str, int]],
    tenant_name: str | None,
    user_id: str,
    member_of: set[str],
) -> str:
    if user_id in users:
        return users[user_id]
    mine = sorted((rank, name) for g, (name, rank) in groups.items() if g in member_of)
    if mine:
        return mine[0][1]
    return tenant_name if tenant_name is not None else "Global"


@given(assignment_sets(), st.sampled_from(USERS), st.sets(st.sampled_from(GROUPS)))
def test_resolution_matches_the_precedence_rules(
    assignments: tuple[dict[str, str], dict[str, tuple[str, int]], str | None], user_id: str, member_of: set[str]
) -> None:
    users, groups, tenant_name = assignments
    made = [user(u, n) for u, n in users.items()] + [group(g, n, r) for g, (n, r) in groups.items()]
    if tenant_name is not None:
        made.append(tenant(tenant_name))
    effective = resolve_effective_policy(book(*made), user_id=user_id, group_ids=member_of)
    assert effective.policy.name == oracle_policy_name(users, groups, tenant_name, user_id, member_of)
    matched = (1 if user_id in users else 0) + len(member_of & set(groups)) + (tenant_name is not None)
    assert len(effective.overridden) == max(matched - 1, 0)
