"""The relational schema of the server's store (SQLAlchemy 2 declarative models).

Times are integer Unix milliseconds (UTC) so SQLite and PostgreSQL store and compare them alike.
Nothing sensitive is stored in the clear: tokens and codes as digests, secrets as sealed records
(envelope encryption, :mod:`enseal.storage.keyring`). Alembic migrations in
``enseal/storage/migrations`` create this schema; a change here needs a new migration.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

BigId = BigInteger().with_variant(Integer(), "sqlite")
"""A 64-bit surrogate key (SQLite only auto-increments INTEGER PRIMARY KEY)."""

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class TenantRow(Base):
    __tablename__ = "tenants"
    id: Mapped[str] = mapped_column(String(63), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    e2ee: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[int] = mapped_column(BigInteger)


class UserRow(Base):
    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))
    tenant_admin: Mapped[bool] = mapped_column(Boolean)
    compliance_recording: Mapped[bool] = mapped_column(Boolean)
    e2ee_calls_opted_in: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[int] = mapped_column(BigInteger)


class GroupRow(Base):
    __tablename__ = "groups"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[int] = mapped_column(BigInteger)


class GroupMemberRow(Base):
    __tablename__ = "group_members"
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)


class EnrollmentCodeRow(Base):
    __tablename__ = "enrollment_codes"
    digest: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[int] = mapped_column(BigInteger)
    used_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    device_id: Mapped[str | None] = mapped_column(String(32), nullable=True)


class DeviceRow(Base):
    __tablename__ = "devices"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    cipher_suite: Mapped[int] = mapped_column(Integer)
    signature_key: Mapped[bytes] = mapped_column(LargeBinary(133), unique=True)
    supports_e2ee: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[int] = mapped_column(BigInteger)
    revoked_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class AuthChallengeRow(Base):
    __tablename__ = "auth_challenges"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    nonce: Mapped[bytes] = mapped_column(LargeBinary(32))
    expires_at: Mapped[int] = mapped_column(BigInteger)


class DeviceSessionRow(Base):
    __tablename__ = "device_sessions"
    token_digest: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[int] = mapped_column(BigInteger)


class AdminKeyRow(Base):
    __tablename__ = "admin_keys"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    key_digest: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    tenant_id: Mapped[str | None] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), nullable=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=True)
    label: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[int] = mapped_column(BigInteger)
    revoked_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class BootstrapTokenRow(Base):
    __tablename__ = "bootstrap_tokens"
    digest: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    created_at: Mapped[int] = mapped_column(BigInteger)
    used_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class KeyPackageRow(Base):
    __tablename__ = "key_packages"
    __table_args__ = (Index("ix_key_packages_device_suite", "device_id", "cipher_suite", "last_resort"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    cipher_suite: Mapped[int] = mapped_column(Integer)
    ref: Mapped[bytes] = mapped_column(LargeBinary(64), unique=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    not_after: Mapped[int] = mapped_column(BigInteger)
    last_resort: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[int] = mapped_column(BigInteger)


class PolicyRow(Base):
    __tablename__ = "policies"
    __table_args__ = (UniqueConstraint("tenant_id", "name_key"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))
    name_key: Mapped[str] = mapped_column(String(64))
    calls: Mapped[str] = mapped_column(String(16))
    meetings: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(Text)


class PolicyAssignmentRow(Base):
    __tablename__ = "policy_assignments"
    __table_args__ = (UniqueConstraint("tenant_id", "target_kind", "target_name"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    target_kind: Mapped[str] = mapped_column(String(8))
    target_name: Mapped[str] = mapped_column(String(64))
    policy_name: Mapped[str] = mapped_column(String(64))
    rank: Mapped[int | None] = mapped_column(Integer, nullable=True)


class AuditRow(Base):
    """Metadata of an admin, policy or security action. No foreign keys: the log outlives rows."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[int] = mapped_column(BigInteger)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64))
    tenant_id: Mapped[str | None] = mapped_column(String(63), nullable=True, index=True)
    target: Mapped[str | None] = mapped_column(String(300), nullable=True)
    result: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str | None] = mapped_column(String(500), nullable=True)


class DataKeyRow(Base):
    """A per-record data key, wrapped by the key-encryption key ``kek_id``."""

    __tablename__ = "data_keys"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    kek_id: Mapped[str] = mapped_column(String(16), index=True)
    wrapped: Mapped[bytes] = mapped_column(LargeBinary(128))
    created_at: Mapped[int] = mapped_column(BigInteger)


class SealedRecordRow(Base):
    """A sensitive value sealed under its own data key; ``name`` makes singletons addressable."""

    __tablename__ = "sealed_records"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str | None] = mapped_column(String(128), unique=True, nullable=True)
    purpose: Mapped[str] = mapped_column(String(64))
    data_key_id: Mapped[int] = mapped_column(ForeignKey("data_keys.id", ondelete="RESTRICT"), index=True)
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[int] = mapped_column(BigInteger)


# -- phase 2: the MLS delivery service, mailboxes, calls and recordings ------------------------------


class MlsGroupRow(Base):
    """A group the delivery service follows: its public view (PublicGroupView bytes: GroupContext,
    ratchet tree, pending proposals; no secrets) and latest GroupInfo."""

    __tablename__ = "mls_groups"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    conversation_key: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    """For groups created "one per users": a digest of the kind and the sorted access list."""
    tenant_id: Mapped[str] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)
    epoch: Mapped[int] = mapped_column(BigInteger)
    next_seq: Mapped[int] = mapped_column(BigInteger)
    view: Mapped[bytes] = mapped_column(LargeBinary)
    group_info: Mapped[bytes] = mapped_column(LargeBinary)


class MlsGroupUserRow(Base):
    """The access list: users whose devices may be members."""

    __tablename__ = "mls_group_users"
    group_id: Mapped[str] = mapped_column(ForeignKey("mls_groups.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)


class MlsGroupMemberRow(Base):
    """The roster of the current epoch, one row per occupied leaf."""

    __tablename__ = "mls_group_members"
    group_id: Mapped[str] = mapped_column(ForeignKey("mls_groups.id", ondelete="CASCADE"), primary_key=True)
    leaf_index: Mapped[int] = mapped_column(Integer, primary_key=True)
    device_id: Mapped[str] = mapped_column(String(32), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))


class GroupItemRow(Base):
    """One message of a group in delivery order: a handshake of the log, an application message
    of the history, or a Welcome. ``commit_epoch`` makes a second commit for an epoch impossible;
    ``removes_leaf`` marks the server's own Remove proposals."""

    __tablename__ = "group_items"
    __table_args__ = (
        UniqueConstraint("group_id", "group_seq", name="uq_group_items_seq"),
        UniqueConstraint("group_id", "commit_epoch", name="uq_group_items_commit_epoch"),
        UniqueConstraint("group_id", "sender_device_id", "client_message_id", name="uq_group_items_client_id"),
        Index("ix_group_items_group_kind_seq", "group_id", "kind", "group_seq"),
        Index("ix_group_items_created_at", "created_at"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    group_id: Mapped[str] = mapped_column(ForeignKey("mls_groups.id", ondelete="CASCADE"))
    group_seq: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(16))
    epoch: Mapped[int] = mapped_column(BigInteger)
    sender_device_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    sender: Mapped[str] = mapped_column(String(200))
    client_message_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    commit_epoch: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    removes_leaf: Mapped[int | None] = mapped_column(Integer, nullable=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[int] = mapped_column(BigInteger)


class MailboxRow(Base):
    """A device's mailbox counters: the last sequence number given, acknowledged, dropped."""

    __tablename__ = "mailboxes"
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger)
    acked_seq: Mapped[int] = mapped_column(BigInteger)
    dropped_upto: Mapped[int] = mapped_column(BigInteger)


class MailboxEntryRow(Base):
    """An unacknowledged delivery of a group item to a device."""

    __tablename__ = "mailbox_entries"
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("group_items.id", ondelete="CASCADE"), index=True)


class CallRow(Base):
    """A 1:1 call as the server tracks it (state machine from the caller's side)."""

    __tablename__ = "calls"
    __table_args__ = (Index("ix_calls_state_deadline", "state", "deadline"),)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    caller_user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    caller_device_id: Mapped[str] = mapped_column(String(32))
    callee_user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    state: Mapped[str] = mapped_column(String(24))
    encryption: Mapped[str] = mapped_column(String(16))
    reasons: Mapped[str] = mapped_column(Text)
    rung_devices: Mapped[str] = mapped_column(Text)
    answered_device_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    end_reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    deadline: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    recording_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)
    ended_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class RecordingRow(Base):
    """A recording of a standard-encryption call; its frames are sealed chunks."""

    __tablename__ = "recordings"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    call_id: Mapped[str] = mapped_column(String(64), index=True)
    state: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[int] = mapped_column(BigInteger)
    ended_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class RecordingChunkRow(Base):
    """Some seconds of one side's decrypted frames, sealed (``sealed_record_id``)."""

    __tablename__ = "recording_chunks"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    recording_id: Mapped[str] = mapped_column(ForeignKey("recordings.id", ondelete="CASCADE"), index=True)
    sealed_record_id: Mapped[int] = mapped_column(ForeignKey("sealed_records.id", ondelete="RESTRICT"))
    frames: Mapped[int] = mapped_column(Integer)
    bytes: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[int] = mapped_column(BigInteger)
