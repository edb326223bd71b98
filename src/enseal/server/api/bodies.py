"""Wire bodies built from store records and policy decisions."""

from __future__ import annotations

from enseal.policy import EffectivePolicy, EnhancedEncryptionPolicy
from enseal.server.errors import reason_bodies
from enseal.storage import AuditRecord, DeviceRecord, GroupRecord, TenantRecord, UserRecord
from enseal.wire import device_identity
from enseal.wire.admin import AuditEntry, GroupBody, TenantBody, UserBody
from enseal.wire.devices import DeviceBody
from enseal.wire.identifiers import UserAddress
from enseal.wire.policy import EffectivePolicyBody, PolicyBody


def tenant_body(tenant: TenantRecord) -> TenantBody:
    return TenantBody.model_validate(
        {"tenant": tenant.tenant_id, "kind": tenant.kind, "e2ee": tenant.e2ee, "created_at": tenant.created_at}
    )


def user_body(user: UserRecord) -> UserBody:
    return UserBody(
        user=user.address,
        tenant_admin=user.tenant_admin,
        compliance_recording=user.compliance_recording,
        e2ee_calls_opted_in=user.e2ee_calls_opted_in,
        created_at=user.created_at,
    )


def group_body(group: GroupRecord) -> GroupBody:
    return GroupBody(
        group=group.name, tenant=group.tenant_id, members=[f"{name}@{group.tenant_id}" for name in group.members]
    )


def device_body(device: DeviceRecord) -> DeviceBody:
    address = UserAddress(name=device.user.name, tenant=device.user.tenant_id)
    return DeviceBody(
        device_id=device.device_id,
        user=str(address),
        name=device.name,
        cipher_suite=device.cipher_suite,
        signature_key=device.signature_key,
        credential_identity=device_identity(address, device.device_id).decode(),
        supports_e2ee=device.supports_e2ee,
        created_at=device.created_at,
        revoked_at=device.revoked_at,
    )


def audit_entry(record: AuditRecord) -> AuditEntry:
    return AuditEntry(
        id=record.id,
        at=record.at,
        actor=record.actor,
        action=record.action,
        tenant=record.tenant_id,
        target=record.target,
        result=record.result,
        detail=record.detail,
    )


def policy_body(policy: EnhancedEncryptionPolicy) -> PolicyBody:
    return PolicyBody.model_validate(
        {
            "name": policy.name,
            "calls": policy.calls.value,
            "meetings": policy.meetings.value,
            "description": policy.description,
        }
    )


def effective_policy_body(effective: EffectivePolicy, address: str) -> EffectivePolicyBody:
    return EffectivePolicyBody.model_validate(
        {
            "user": address,
            "policy": policy_body(effective.policy),
            "source": effective.source.value,
            "provenance": effective.provenance,
            "reasons": reason_bodies(effective.reasons),
        }
    )
