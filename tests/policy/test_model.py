"""Tenants (kinds and the default of their E2EE setting) and enhanced-encryption policies."""

from __future__ import annotations

import pytest

from enseal.policy import (
    DEFAULT_TENANT_E2EE,
    GLOBAL_DEFAULT_POLICY,
    CallsMode,
    EnhancedEncryptionPolicy,
    InvalidDescription,
    InvalidIdentifier,
    InvalidPolicyName,
    MeetingsMode,
    Tenant,
    TenantE2EE,
    TenantKind,
)


def test_tenant_defaults_by_kind() -> None:
    """Decision record 0200: commercial tenants start allowing E2EE, government ones forbidding it."""
    commercial = Tenant.create(tenant_id="corp", kind=TenantKind.COMMERCIAL)
    government = Tenant.create(tenant_id="gov", kind=TenantKind.GOVERNMENT)
    assert commercial.e2ee is TenantE2EE.ALLOWED and commercial.allows_e2ee
    assert government.e2ee is TenantE2EE.FORBIDDEN and not government.allows_e2ee
    assert set(DEFAULT_TENANT_E2EE) == set(TenantKind)


@pytest.mark.parametrize("kind", list(TenantKind))
@pytest.mark.parametrize("setting", list(TenantE2EE))
def test_any_tenant_may_set_either_value(kind: TenantKind, setting: TenantE2EE) -> None:
    tenant = Tenant.create(tenant_id="t", kind=kind, e2ee=setting)
    assert tenant.e2ee is setting
    assert tenant.allows_e2ee is (setting is TenantE2EE.ALLOWED)


def test_tenant_id_is_validated() -> None:
    with pytest.raises(InvalidIdentifier):
        Tenant(tenant_id="", kind=TenantKind.COMMERCIAL, e2ee=TenantE2EE.ALLOWED)


def test_global_default_disables_e2ee() -> None:
    assert GLOBAL_DEFAULT_POLICY.name == "Global"
    assert GLOBAL_DEFAULT_POLICY.calls is CallsMode.DISABLED
    assert GLOBAL_DEFAULT_POLICY.meetings is MeetingsMode.DISABLED


def test_policy_validates_name_and_description() -> None:
    with pytest.raises(InvalidPolicyName):
        EnhancedEncryptionPolicy(name=" bad", calls=CallsMode.DISABLED, meetings=MeetingsMode.DISABLED)
    with pytest.raises(InvalidDescription):
        EnhancedEncryptionPolicy(
            name="ok", calls=CallsMode.DISABLED, meetings=MeetingsMode.DISABLED, description="x" * 1025
        )


def test_models_are_frozen() -> None:
    policy = EnhancedEncryptionPolicy(name="P", calls=CallsMode.DISABLED, meetings=MeetingsMode.DISABLED)
    with pytest.raises(AttributeError):
        policy.calls = CallsMode.USER_OVERRIDE  # type: ignore[misc]
