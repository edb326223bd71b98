"""Admin actions: adding, editing and removing policies, assigning and unassigning them, and the
Teams-style rank insertion of group assignments."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from enseal.policy import (
    MAX_GROUP_ASSIGNMENTS,
    AssignmentNotFound,
    CallsMode,
    DuplicatePolicyName,
    EnhancedEncryptionPolicy,
    GroupTarget,
    InvalidRank,
    MeetingsMode,
    PolicyInUse,
    ReservedPolicyName,
    TenantPolicies,
    TenantTarget,
    TooManyGroupAssignments,
    UnknownPolicy,
    UserTarget,
    add_policy,
    assign_policy,
    remove_policy,
    resolve_effective_policy,
    unassign_policy,
    update_policy,
)

STRICT = EnhancedEncryptionPolicy(name="Strict", calls=CallsMode.USER_OVERRIDE, meetings=MeetingsMode.REQUIRED)
OPEN = EnhancedEncryptionPolicy(name="Open", calls=CallsMode.USER_OVERRIDE, meetings=MeetingsMode.USER_OVERRIDE)


def start() -> TenantPolicies:
    return add_policy(add_policy(TenantPolicies(tenant_id="t1"), STRICT), OPEN)


def ranking(policies: TenantPolicies) -> list[tuple[str, int | None]]:
    """Group ids with their ranks, best first."""
    groups = [a for a in policies.assignments if isinstance(a.target, GroupTarget)]
    return [
        (a.target.group_id, a.rank)
        for a in sorted(groups, key=lambda a: a.rank or 0)
        if isinstance(a.target, GroupTarget)
    ]


def test_add_update_remove_policy() -> None:
    policies = start()
    assert policies.policy("strict") == STRICT
    with pytest.raises(DuplicatePolicyName):
        add_policy(
            policies, EnhancedEncryptionPolicy(name="STRICT", calls=CallsMode.DISABLED, meetings=MeetingsMode.DISABLED)
        )
    with pytest.raises(ReservedPolicyName):
        add_policy(
            policies, EnhancedEncryptionPolicy(name="global", calls=CallsMode.DISABLED, meetings=MeetingsMode.DISABLED)
        )
    relaxed = EnhancedEncryptionPolicy(name="Strict", calls=CallsMode.DISABLED, meetings=MeetingsMode.USER_OVERRIDE)
    policies = assign_policy(policies, UserTarget(user_id="alice"), "Strict")
    policies = update_policy(policies, relaxed)
    assert resolve_effective_policy(policies, user_id="alice", group_ids=set()).policy == relaxed
    with pytest.raises(UnknownPolicy):
        update_policy(
            policies, EnhancedEncryptionPolicy(name="Nope", calls=CallsMode.DISABLED, meetings=MeetingsMode.DISABLED)
        )
    with pytest.raises(PolicyInUse):
        remove_policy(policies, "strict")
    policies = remove_policy(unassign_policy(policies, UserTarget(user_id="alice")), "strict")
    assert [p.name for p in policies.policies] == ["Open"]
    with pytest.raises(UnknownPolicy):
        remove_policy(policies, "Strict")
    with pytest.raises(UnknownPolicy):
        remove_policy(policies, "Global")


def test_assign_replaces_and_stores_the_defined_name() -> None:
    policies = assign_policy(start(), UserTarget(user_id="alice"), "strict")
    policies = assign_policy(policies, UserTarget(user_id="alice"), "OPEN")
    assert [(a.target, a.policy_name) for a in policies.assignments] == [(UserTarget(user_id="alice"), "Open")]
    policies = assign_policy(policies, TenantTarget(), "Strict")
    assert policies.assignment_for(TenantTarget()) is not None
    with pytest.raises(UnknownPolicy):
        assign_policy(policies, UserTarget(user_id="bob"), "Missing")
    with pytest.raises(InvalidRank):
        assign_policy(policies, UserTarget(user_id="bob"), "Open", rank=1)
    with pytest.raises(InvalidRank):
        assign_policy(policies, TenantTarget(), "Open", rank=1)
    with pytest.raises(AssignmentNotFound):
        unassign_policy(policies, UserTarget(user_id="bob"))


def test_group_ranks_insert_and_shift_like_teams() -> None:
    policies = start()
    for group_id in ("g1", "g2", "g3"):
        policies = assign_policy(policies, GroupTarget(group_id=group_id), "Open")
    assert ranking(policies) == [("g1", 1), ("g2", 2), ("g3", 3)]
    policies = assign_policy(policies, GroupTarget(group_id="g4"), "Strict", rank=1)
    assert ranking(policies) == [("g4", 1), ("g1", 2), ("g2", 3), ("g3", 4)]
    # re-assigning without a rank keeps the place; with one, moves it
    policies = assign_policy(policies, GroupTarget(group_id="g2"), "Strict")
    assert ranking(policies) == [("g4", 1), ("g1", 2), ("g2", 3), ("g3", 4)]
    assert policies.assignment_for(GroupTarget(group_id="g2")).policy_name == "Strict"  # type: ignore[union-attr]
    policies = assign_policy(policies, GroupTarget(group_id="g2"), "Strict", rank=4)
    assert ranking(policies) == [("g4", 1), ("g1", 2), ("g3", 3), ("g2", 4)]
    policies = unassign_policy(policies, GroupTarget(group_id="g4"))
    assert ranking(policies) == [("g1", 1), ("g3", 2), ("g2", 3)]
    for bad in (0, -1, 5, True):
        with pytest.raises(InvalidRank):
            assign_policy(policies, GroupTarget(group_id="g9"), "Open", rank=bad)
    policies = assign_policy(policies, GroupTarget(group_id="g9"), "Open", rank=4)
    assert ranking(policies)[-1] == ("g9", 4)


def test_group_assignments_are_bounded() -> None:
    policies = start()
    for index in range(MAX_GROUP_ASSIGNMENTS):
        policies = assign_policy(policies, GroupTarget(group_id=f"g{index}"), "Open")
    with pytest.raises(TooManyGroupAssignments):
        assign_policy(policies, GroupTarget(group_id="one-more"), "Open")
    # re-assigning an existing group is still possible at the bound
    assign_policy(policies, GroupTarget(group_id="g0"), "Strict", rank=MAX_GROUP_ASSIGNMENTS)


group_ops = st.lists(
    st.tuples(
        st.sampled_from(["assign", "unassign"]),
        st.sampled_from(["g0", "g1", "g2", "g3", "g4", "g5"]),
        st.none() | st.integers(min_value=1, max_value=7),
    ),
    max_size=30,
)


@given(group_ops)
def test_group_ranks_follow_an_ordered_list(ops: list[tuple[str, str, int | None]]) -> None:
    """Model: the ranking is a list of group ids; assigning removes the group and inserts it at
    rank-1 (or at its old place, or at the end); unassigning removes it. Ranks are 1..n."""
    policies = start()
    model: list[str] = []
    for op, group_id, rank in ops:
        target = GroupTarget(group_id=group_id)
        if op == "unassign":
            if group_id in model:
                policies = unassign_policy(policies, target)
                model.remove(group_id)
            else:
                with pytest.raises(AssignmentNotFound):
                    unassign_policy(policies, target)
            continue
        old_place = model.index(group_id) if group_id in model else None
        rest = [g for g in model if g != group_id]
        if rank is not None and rank > len(rest) + 1:
            with pytest.raises(InvalidRank):
                assign_policy(policies, target, "Open", rank=rank)
            continue
        policies = assign_policy(policies, target, "Open", rank=rank)
        place = rank - 1 if rank is not None else (old_place if old_place is not None else len(rest))
        model = [*rest[:place], group_id, *rest[place:]]
        assert ranking(policies) == [(g, i) for i, g in enumerate(model, start=1)]
    assert ranking(policies) == [(g, i) for i, g in enumerate(model, start=1)]
