"""What repositories return: frozen snapshots of rows, so no ORM object escapes the store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class TenantRecord:
    tenant_id: str
    kind: str
    e2ee: str
    created_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class UserRecord:
    id: int
    tenant_id: str
    name: str
    tenant_admin: bool
    compliance_recording: bool
    e2ee_calls_opted_in: bool
    created_at: datetime

    @property
    def address(self) -> str:
        return f"{self.name}@{self.tenant_id}"


@dataclass(frozen=True, slots=True, kw_only=True)
class GroupRecord:
    id: int
    tenant_id: str
    name: str
    members: tuple[str, ...]
    """User names (within the tenant), sorted."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceRecord:
    device_id: str
    user: UserRecord
    name: str
    cipher_suite: int
    signature_key: bytes
    supports_e2ee: bool
    created_at: datetime
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True, slots=True, kw_only=True)
class ChallengeRecord:
    challenge_id: str
    device_id: str
    nonce: bytes
    expires_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class AdminKeyRecord:
    key_id: str
    role: str
    tenant_id: str | None
    user: UserRecord | None
    label: str
    created_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyPackageRecord:
    device_id: str
    cipher_suite: int
    ref: bytes
    data: bytes
    not_after: datetime
    last_resort: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyPackageStock:
    """How many packages a device has for one cipher suite."""

    cipher_suite: int
    one_time: int
    last_resort: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditRecord:
    id: int
    at: datetime
    actor: str
    action: str
    tenant_id: str | None
    target: str | None
    result: str
    detail: str | None
