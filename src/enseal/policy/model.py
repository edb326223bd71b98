"""Tenants and enhanced-encryption policies, after Microsoft Teams' "enhanced encryption" model
(ARCHITECTURE.md section 1, "Policy, as Teams does it"; decision record 0200).

A tenant is commercial or government and has one E2EE setting, a kill switch over every policy.
An enhanced-encryption policy has a name and two settings: ``calls`` (disabled | user_override)
and ``meetings`` (disabled | user_override | required). The built-in 'Global' policy, which
applies when nothing is assigned, disables both, as Teams' default does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from types import MappingProxyType
from typing import Final

from enseal.policy.admin_input import (
    GLOBAL_POLICY_NAME,
    validate_description,
    validate_identifier,
    validate_policy_name,
)


class TenantKind(Enum):
    """Commercial or government tenant; decides the default of :class:`TenantE2EE`."""

    COMMERCIAL = "commercial"
    GOVERNMENT = "government"


class TenantE2EE(Enum):
    """The tenant's E2EE setting. ``FORBIDDEN`` makes E2EE unavailable to all its users,
    whatever their policies say."""

    ALLOWED = "allowed"
    FORBIDDEN = "forbidden"


DEFAULT_TENANT_E2EE: Final[Mapping[TenantKind, TenantE2EE]] = MappingProxyType(
    {
        TenantKind.COMMERCIAL: TenantE2EE.ALLOWED,
        # Decision record 0200: government tenants usually must keep records of official
        # communication, which E2EE prevents, so their admin allows E2EE explicitly.
        TenantKind.GOVERNMENT: TenantE2EE.FORBIDDEN,
    }
)
"""The setting a new tenant of each kind starts with (see :meth:`Tenant.create`)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Tenant:
    """An organisation using Enseal, with its E2EE setting."""

    tenant_id: str
    kind: TenantKind
    e2ee: TenantE2EE

    def __post_init__(self) -> None:
        validate_identifier("tenant_id", self.tenant_id)

    @classmethod
    def create(cls, *, tenant_id: str, kind: TenantKind, e2ee: TenantE2EE | None = None) -> Tenant:
        """A tenant with ``e2ee`` or, when omitted, the default for its kind."""
        return cls(tenant_id=tenant_id, kind=kind, e2ee=DEFAULT_TENANT_E2EE[kind] if e2ee is None else e2ee)

    @property
    def allows_e2ee(self) -> bool:
        return self.e2ee is TenantE2EE.ALLOWED


class CallsMode(Enum):
    """The ``calls`` setting of a policy (Teams: Disabled | DisabledUserOverride)."""

    DISABLED = "disabled"
    """The user cannot make or take end-to-end encrypted 1:1 calls."""
    USER_OVERRIDE = "user_override"
    """Off until the user turns end-to-end encrypted calls on in their settings."""


class MeetingsMode(Enum):
    """The ``meetings`` setting of a policy."""

    DISABLED = "disabled"
    """The user cannot organise end-to-end encrypted meetings."""
    USER_OVERRIDE = "user_override"
    """The organiser chooses, meeting by meeting."""
    REQUIRED = "required"
    """Every meeting the user organises is end-to-end encrypted."""


@dataclass(frozen=True, slots=True, kw_only=True)
class EnhancedEncryptionPolicy:
    """A named enhanced-encryption policy."""

    name: str
    calls: CallsMode
    meetings: MeetingsMode
    description: str = ""

    def __post_init__(self) -> None:
        validate_policy_name(self.name)
        validate_description(self.description)


GLOBAL_DEFAULT_POLICY: Final = EnhancedEncryptionPolicy(
    name=GLOBAL_POLICY_NAME,
    calls=CallsMode.DISABLED,
    meetings=MeetingsMode.DISABLED,
    description="Built-in default: end-to-end encryption disabled for calls and meetings.",
)
"""The policy of a user to whom nothing is assigned, directly, by group or by tenant."""
