"""The server's store (layer L4): SQLAlchemy 2 asyncio models and repositories on SQLite (the
default, a file) or PostgreSQL, Alembic migrations, and envelope encryption of sensitive rows
under the operator's key-encryption key.

Entry point: :meth:`Store.open` then ``async with store.transaction() as tx`` (see
:mod:`enseal.storage.store`).
"""

from enseal.storage.database import Database, sqlite_url
from enseal.storage.errors import AlreadyExists, Conflict, KeyringError, NotFound, StorageUnavailable
from enseal.storage.keyring import Keyring, open_keyring, read_kek_file, rotate_kek, write_kek_file
from enseal.storage.records import (
    AdminKeyRecord,
    AuditRecord,
    CallRecord,
    ChallengeRecord,
    DeviceRecord,
    GroupItemRecord,
    GroupMemberRecord,
    GroupRecord,
    KeyPackageRecord,
    KeyPackageStock,
    MailboxEntryRecord,
    MailboxStateRecord,
    MlsGroupRecord,
    RecordingRecord,
    TenantRecord,
    UserRecord,
)
from enseal.storage.store import Store, Transaction

__all__ = [
    "AdminKeyRecord",
    "AlreadyExists",
    "AuditRecord",
    "CallRecord",
    "ChallengeRecord",
    "Conflict",
    "Database",
    "DeviceRecord",
    "GroupItemRecord",
    "GroupMemberRecord",
    "GroupRecord",
    "KeyPackageRecord",
    "KeyPackageStock",
    "Keyring",
    "KeyringError",
    "MailboxEntryRecord",
    "MailboxStateRecord",
    "MlsGroupRecord",
    "NotFound",
    "RecordingRecord",
    "StorageUnavailable",
    "Store",
    "TenantRecord",
    "Transaction",
    "UserRecord",
    "open_keyring",
    "read_kek_file",
    "rotate_kek",
    "sqlite_url",
    "write_kek_file",
]
