"""The store: one object the server holds, handing out a unit of work per request.

``async with store.transaction() as tx:`` gives a :class:`Transaction` whose repositories share
one database transaction; it commits when the block ends normally (before the response is sent,
so an acknowledged write is durable) and rolls back on any exception.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from enseal.crypto.randomness import RandomSource
from enseal.storage.accounts import EnrollmentRepository, GroupRepository, TenantRepository, UserRepository
from enseal.storage.admin_keys import AdminKeyRepository, BootstrapRepository
from enseal.storage.audit import AuditRepository
from enseal.storage.calls import CallRepository, RecordingRepository
from enseal.storage.database import Database
from enseal.storage.delivery import MlsGroupRepository
from enseal.storage.devices import ChallengeRepository, DeviceRepository, SessionRepository
from enseal.storage.errors import Conflict, StorageUnavailable
from enseal.storage.key_directory import KeyPackageRepository
from enseal.storage.keyring import Keyring, open_keyring
from enseal.storage.mailboxes import MailboxRepository
from enseal.storage.policies import PolicyRepository
from enseal.storage.sealed import SealedRecordRepository


@dataclass(frozen=True, slots=True)
class Transaction:
    """The repositories of one database transaction."""

    session: AsyncSession
    tenants: TenantRepository
    users: UserRepository
    groups: GroupRepository
    enrollments: EnrollmentRepository
    devices: DeviceRepository
    challenges: ChallengeRepository
    sessions: SessionRepository
    admin_keys: AdminKeyRepository
    bootstrap: BootstrapRepository
    key_packages: KeyPackageRepository
    policies: PolicyRepository
    audit: AuditRepository
    sealed: SealedRecordRepository
    mls_groups: MlsGroupRepository
    mailboxes: MailboxRepository
    calls: CallRepository
    recordings: RecordingRepository


class Store:
    def __init__(self, database: Database, keyring: Keyring) -> None:
        self.database = database
        self.keyring = keyring

    @classmethod
    async def open(cls, url: str, kek_path: Path, random_bytes: RandomSource) -> Store:
        """Open the database, apply migrations, load the KEK."""
        database = Database(url)
        try:
            await database.migrate()
            keyring = await open_keyring(database, kek_path, random_bytes)
        except BaseException:
            await database.close()
            raise
        return cls(database, keyring)

    async def close(self) -> None:
        await self.database.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        session = self.database.sessions()
        try:
            async with session.begin():
                yield Transaction(
                    session=session,
                    tenants=TenantRepository(session),
                    users=UserRepository(session),
                    groups=GroupRepository(session),
                    enrollments=EnrollmentRepository(session),
                    devices=DeviceRepository(session),
                    challenges=ChallengeRepository(session),
                    sessions=SessionRepository(session),
                    admin_keys=AdminKeyRepository(session),
                    bootstrap=BootstrapRepository(session),
                    key_packages=KeyPackageRepository(session),
                    policies=PolicyRepository(session),
                    audit=AuditRepository(session),
                    sealed=SealedRecordRepository(session, self.keyring),
                    mls_groups=MlsGroupRepository(session),
                    mailboxes=MailboxRepository(session),
                    calls=CallRepository(session),
                    recordings=RecordingRepository(session),
                )
        except IntegrityError as exc:
            raise Conflict("the change conflicts with a concurrent change; retry it", type(exc.orig).__name__) from exc
        except (OperationalError, DBAPIError) as exc:
            raise StorageUnavailable(f"database error: {type(exc.orig).__name__ if exc.orig else exc}") from exc
        finally:
            await session.close()
