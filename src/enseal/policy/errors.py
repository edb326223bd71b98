"""Errors of the enhanced-encryption policy package (ARCHITECTURE.md section 1, "Policy").

Two kinds, both :class:`~enseal.errors.RemoteProtocolError` because what they judge reaches the
deciding side from someone else (an admin's request, a client's request, a roster change sent by
the server), and both carry a stable ``reason`` naming the rule plus a ``detail``:

* :class:`PolicyInputError` and its subclasses -- an admin action breaks a rule of the policy
  model (bad name, unknown policy, duplicate rank ...). The server answers "bad request".
* :class:`PolicyDenied` -- a decision refused something (a feature under E2EE, a participant who
  cannot join an E2EE meeting, an organiser asking for E2EE their policy forbids). It carries the
  :class:`~enseal.policy.reasons.Explanation` tuple of the decision.
"""

from __future__ import annotations

from typing import ClassVar

from enseal.errors import RemoteProtocolError
from enseal.policy.limits import (
    MAX_DESCRIPTION_LENGTH,
    MAX_GROUP_ASSIGNMENTS,
    MAX_IDENTIFIER_LENGTH,
    MAX_POLICIES_PER_TENANT,
    MAX_POLICY_NAME_LENGTH,
)
from enseal.policy.reasons import Explanation


class PolicyInputError(RemoteProtocolError):
    """An admin action breaks a rule of the enhanced-encryption policy model."""

    rule: ClassVar[str] = "admin input breaks an enhanced-encryption policy rule"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(self.rule, detail)


class InvalidPolicyName(PolicyInputError):
    rule = (
        f"a policy name is 1-{MAX_POLICY_NAME_LENGTH} ASCII letters, digits, spaces, '.', '_' or '-',"
        " starting with a letter or digit and not ending with a space"
    )


class ReservedPolicyName(PolicyInputError):
    rule = "the name 'Global' is reserved for the built-in default policy"


class DuplicatePolicyName(PolicyInputError):
    rule = "policy names are unique within a tenant, ignoring case"


class UnknownPolicy(PolicyInputError):
    rule = "an assignment or edit must name an existing policy"


class PolicyInUse(PolicyInputError):
    rule = "a policy that is assigned cannot be removed; unassign it first"


class InvalidDescription(PolicyInputError):
    rule = f"a policy description is at most {MAX_DESCRIPTION_LENGTH} characters"


class InvalidIdentifier(PolicyInputError):
    rule = f"an identifier is 1-{MAX_IDENTIFIER_LENGTH} printable characters without leading or trailing whitespace"


class InvalidSetting(PolicyInputError):
    rule = "a setting must take one of its defined values"


class InvalidRank(PolicyInputError):
    rule = (
        f"only group assignments have a rank, from 1 (highest priority) to {MAX_GROUP_ASSIGNMENTS};"
        " a new one goes at most one past the last"
    )


class DuplicateAssignment(PolicyInputError):
    rule = "a user, a group or the tenant has at most one policy assignment"


class DuplicateRank(PolicyInputError):
    rule = "group assignment ranks are unique within a tenant"


class TooManyPolicies(PolicyInputError):
    rule = f"a tenant has at most {MAX_POLICIES_PER_TENANT} policies"


class TooManyGroupAssignments(PolicyInputError):
    rule = f"a tenant has at most {MAX_GROUP_ASSIGNMENTS} group assignments"


class AssignmentNotFound(PolicyInputError):
    rule = "only an existing assignment can be removed"


class PolicyDenied(RemoteProtocolError):
    """A policy decision refused the requested action; ``explanations`` say why."""

    def __init__(self, explanations: tuple[Explanation, ...]) -> None:
        self.explanations = explanations
        super().__init__(
            "refused by enhanced-encryption policy",
            "; ".join(explanation.describe() for explanation in explanations),
        )
