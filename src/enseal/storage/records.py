"""What repositories return: frozen snapshots of rows, so no ORM object escapes the store."""

from __future__ import annotations

from dataclasses import dataclass, field
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


@dataclass(frozen=True, slots=True, kw_only=True)
class MlsGroupRecord:
    group_id: str
    kind: str
    tenant_id: str
    created_by: str
    created_at: datetime
    epoch: int
    view: bytes = field(repr=False)
    """The delivery service's PublicGroupView (no secrets)."""
    group_info: bytes = field(repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class GroupMemberRecord:
    """One occupied leaf of a group's roster."""

    leaf_index: int
    device_id: str
    user_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class GroupItemRecord:
    """A handshake (``proposal``/``commit``), ``application`` message or ``welcome`` of a group."""

    id: int
    group_id: str
    group_seq: int
    kind: str
    epoch: int
    sender_device_id: str | None
    sender: str
    client_message_id: str | None
    removes_leaf: int | None
    data: bytes = field(repr=False)
    created_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class MailboxStateRecord:
    last_seq: int
    acked_seq: int
    dropped_upto: int


@dataclass(frozen=True, slots=True, kw_only=True)
class MailboxEntryRecord:
    seq: int
    item: GroupItemRecord
    group_kind: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CallRecord:
    call_id: str
    caller: UserRecord
    caller_device_id: str
    callee: UserRecord
    state: str
    encryption: str
    reasons: str
    """The policy decision's reasons as JSON (a list of reason bodies)."""
    rung_devices: tuple[str, ...]
    answered_device_id: str | None
    end_reason: str | None
    deadline: datetime | None
    recording_id: str | None
    created_at: datetime
    ended_at: datetime | None

    def side_of(self, device_id: str) -> str | None:
        """``caller`` or ``callee`` for the call's two connected devices, else None."""
        if device_id == self.caller_device_id:
            return "caller"
        if device_id == self.answered_device_id:
            return "callee"
        return None


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordingRecord:
    recording_id: str
    call_id: str
    state: str
    started_at: datetime
    ended_at: datetime | None
    frames: int
    bytes: int
