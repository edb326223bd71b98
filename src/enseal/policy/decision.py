"""Outcomes shared by the policy decisions: which encryption a call or meeting gets, and whether
an action is permitted (ARCHITECTURE.md section 1, "Policy").
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from enseal.policy.errors import PolicyDenied
from enseal.policy.reasons import Explanation


class Encryption(Enum):
    """How a call or meeting is encrypted. Every link is TLS-encrypted either way; only
    ``END_TO_END`` keeps the media keys away from the service."""

    END_TO_END = "end_to_end"
    STANDARD = "standard"

    @property
    def label(self) -> str:
        """What the client shows the user."""
        return "End-to-end encrypted" if self is Encryption.END_TO_END else "Standard encryption"


@dataclass(frozen=True, slots=True, kw_only=True)
class Permission:
    """Whether an action is permitted, and why (at least one explanation either way)."""

    allowed: bool
    reasons: tuple[Explanation, ...]

    def require(self) -> None:
        """Raise :class:`~enseal.policy.errors.PolicyDenied` with the reasons unless allowed;
        the enforcing side (server, or client handing out keys) calls this."""
        if not self.allowed:
            raise PolicyDenied(self.reasons)
