"""The state a member keeps for a group between messages: the lifecycle state machine
(:class:`GroupStatus` with its transition table), one epoch's public state, secrets and private
keys (:class:`EpochState`), and what is kept of earlier epochs (:class:`PastEpoch`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Final

from enseal.mls import key_schedule as ks
from enseal.mls.public_epoch import PublicEpoch
from enseal.mls.secret_tree import SecretTree
from enseal.mls.tree_private_keys import TreePrivateKeys


class GroupStatus(Enum):
    ACTIVE = "active"
    """A member that can send and receive."""
    REMOVED = "removed"
    """A commit removed this member; it may still read late messages of earlier epochs."""
    REINIT_PENDING = "reinit-pending"
    """A commit with a ReInit was merged: "the client MUST NOT use the group to send messages
    anymore" and waits for the Welcome to the new group (section 12.4.2)."""


TRANSITIONS: Final[dict[GroupStatus, frozenset[GroupStatus]]] = {
    GroupStatus.ACTIVE: frozenset({GroupStatus.ACTIVE, GroupStatus.REMOVED, GroupStatus.REINIT_PENDING}),
    GroupStatus.REMOVED: frozenset(),
    GroupStatus.REINIT_PENDING: frozenset(),
}


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class EpochState:
    """Everything a member holds for one epoch besides its ratchets."""

    public: PublicEpoch
    secrets: ks.EpochSecrets
    private_keys: TreePrivateKeys


@dataclass(slots=True)
class PastEpoch:
    """Keys of an earlier epoch kept to read late application messages (section 14)."""

    public: PublicEpoch
    sender_data_secret: ks.SenderDataSecret
    secret_tree: SecretTree
