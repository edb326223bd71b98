"""Validation of what a tenant admin supplies: policy names, descriptions, identifiers, setting
values and group-assignment ranks (decision record 0201).

Each check raises a :class:`~enseal.policy.errors.PolicyInputError` subclass naming the rule, or
returns the value unchanged, so the server can validate a request field by field and the model's
dataclasses can validate themselves on construction.
"""

from __future__ import annotations

import re
from enum import Enum
from typing import Final, TypeVar

from enseal.policy.errors import (
    InvalidDescription,
    InvalidIdentifier,
    InvalidPolicyName,
    InvalidRank,
    InvalidSetting,
)
from enseal.policy.limits import (
    MAX_DESCRIPTION_LENGTH,
    MAX_GROUP_ASSIGNMENTS,
    MAX_IDENTIFIER_LENGTH,
    MAX_POLICY_NAME_LENGTH,
)

E = TypeVar("E", bound=Enum)

GLOBAL_POLICY_NAME: Final = "Global"
"""Name of the built-in default policy; no tenant policy may take it (in any letter case)."""

_POLICY_NAME: Final = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9 ._-]*[A-Za-z0-9._-])?")


def validate_policy_name(name: str) -> str:
    """Return ``name`` if it is a well-formed policy name, else raise :class:`InvalidPolicyName`.

    ASCII only, so two names that look alike in an admin console are never different names.
    """
    if len(name) > MAX_POLICY_NAME_LENGTH or _POLICY_NAME.fullmatch(name) is None:
        raise InvalidPolicyName(repr(name[: MAX_POLICY_NAME_LENGTH + 1]))
    return name


def policy_name_key(name: str) -> str:
    """The key under which policy names are compared: names are unique ignoring case."""
    return name.lower()


def is_global_policy_name(name: str) -> bool:
    """True if ``name`` names the built-in 'Global' policy (in any letter case)."""
    return policy_name_key(name) == policy_name_key(GLOBAL_POLICY_NAME)


def validate_description(description: str) -> str:
    """Return ``description`` if it is within :data:`MAX_DESCRIPTION_LENGTH`."""
    if len(description) > MAX_DESCRIPTION_LENGTH:
        raise InvalidDescription(f"{len(description)} characters")
    return description


def validate_identifier(what: str, value: str) -> str:
    """Return ``value`` if it is a usable tenant, user or group identifier.

    ``what`` names the field in the error (``"user_id"``, ``"group_id"`` ...).
    """
    if not 1 <= len(value) <= MAX_IDENTIFIER_LENGTH or not value.isprintable() or value != value.strip():
        raise InvalidIdentifier(f"{what} {value[: MAX_IDENTIFIER_LENGTH + 1]!r}")
    return value


def validate_rank(rank: int) -> int:
    """Return ``rank`` if it is a group-assignment rank: 1 (highest priority) .. the bound."""
    if isinstance(rank, bool) or not 1 <= rank <= MAX_GROUP_ASSIGNMENTS:
        raise InvalidRank(repr(rank))
    return rank


def parse_setting(kind: type[E], text: str) -> E:
    """The member of the setting Enum ``kind`` whose value is ``text`` (e.g. ``"user_override"``).

    Raises :class:`InvalidSetting` listing the allowed values otherwise.
    """
    for member in kind:
        if member.value == text:
            return member
    allowed = ", ".join(repr(member.value) for member in kind)
    raise InvalidSetting(f"{kind.__name__} {text[:MAX_IDENTIFIER_LENGTH]!r} is not one of {allowed}")
