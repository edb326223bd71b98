"""The key-encryption key (KEK) of the store: its file, and its rotation (ARCHITECTURE.md
section 1, "At rest"; decision record 0506).

The KEK lives in a file of the data directory, mode 0600, never in the database. Rotation is
crash-safe and atomic from the store's point of view:

1. the new KEK is written to ``<kek file>.new`` (fsync'd);
2. one database transaction rewraps every data key from the old KEK to the new one;
3. ``<kek file>.new`` is renamed over the KEK file (fsync'd directory).

If the process dies between 2 and 3, :func:`recover_interrupted_rotation` (run at every start)
sees which KEK the data keys are wrapped with and finishes or abandons the rename. Records are
never re-encrypted: only their data keys are rewrapped.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path
from typing import Final

from sqlalchemy import select, update

from enseal.crypto.envelope import DataKey, KeyEncryptionKey, unwrap_data_key, wrap_data_key
from enseal.crypto.randomness import RandomSource
from enseal.errors import CryptoError
from enseal.storage.database import Database
from enseal.storage.errors import KeyringError
from enseal.storage.models import DataKeyRow

PENDING_SUFFIX: Final = ".new"
REWRAP_BATCH: Final = 1000
"""Data keys rewrapped per query during a rotation (all in one transaction)."""


def _fsync_directory(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def write_kek_file(path: Path, kek: KeyEncryptionKey) -> None:
    """Create ``path`` with mode 0600 holding ``kek``; refuses to overwrite."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(descriptor, kek.to_file().reveal())
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    _fsync_directory(path.parent)


def read_kek_file(path: Path) -> KeyEncryptionKey:
    """The KEK in ``path``; :class:`KeyringError` if it is missing, readable by others, or malformed."""
    try:
        mode = path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise KeyringError(f"{path} must be readable by its owner only (chmod 600)")
        return KeyEncryptionKey.from_file(path.read_bytes())
    except OSError as exc:
        raise KeyringError(f"cannot read the key-encryption key {path}: {exc.strerror}") from exc
    except CryptoError as exc:
        raise KeyringError(f"{path} is not a key-encryption key file") from exc


class Keyring:
    """Wraps and unwraps data keys with the current KEK."""

    def __init__(self, kek: KeyEncryptionKey, random_bytes: RandomSource) -> None:
        self._kek = kek
        self.random_bytes = random_bytes

    @property
    def kek_id(self) -> str:
        return self._kek.kek_id

    def __repr__(self) -> str:
        return f"Keyring(kek_id={self.kek_id})"

    def new_data_key(self) -> tuple[DataKey, bytes]:
        """A fresh data key and its wrapped form."""
        data_key = DataKey.generate(self.random_bytes)
        return data_key, wrap_data_key(self._kek, data_key, self.random_bytes)

    def unwrap(self, *, kek_id: str, wrapped: bytes) -> DataKey:
        if kek_id != self._kek.kek_id:
            raise KeyringError(f"a data key is wrapped by KEK {kek_id}, not the current {self._kek.kek_id}")
        return unwrap_data_key(self._kek, wrapped)


async def _kek_ids_in_use(database: Database) -> set[str]:
    async with database.sessions() as session:
        return set((await session.scalars(select(DataKeyRow.kek_id).distinct())).all())


async def recover_interrupted_rotation(database: Database, path: Path) -> None:
    """Finish or abandon a rotation that a crash interrupted (see the module docstring)."""
    pending = path.with_name(path.name + PENDING_SUFFIX)
    if not pending.exists():
        return
    new = read_kek_file(pending)
    if new.kek_id in await _kek_ids_in_use(database):
        os.replace(pending, path)
    else:
        pending.unlink()
    _fsync_directory(path.parent)


async def open_keyring(database: Database, path: Path, random_bytes: RandomSource) -> Keyring:
    """Load the KEK (after crash recovery) and check that it is the one the data keys use."""
    await recover_interrupted_rotation(database, path)
    kek = read_kek_file(path)
    foreign = await _kek_ids_in_use(database) - {kek.kek_id}
    if foreign:
        raise KeyringError(f"data keys are wrapped by KEK(s) {sorted(foreign)}, but {path} holds {kek.kek_id}")
    return Keyring(kek, random_bytes)


async def rotate_kek(database: Database, path: Path, random_bytes: RandomSource) -> tuple[str, str]:
    """Rewrap every data key under a new KEK and replace the KEK file; (old id, new id)."""
    await recover_interrupted_rotation(database, path)
    old = read_kek_file(path)
    new = KeyEncryptionKey.generate(random_bytes)
    pending = path.with_name(path.name + PENDING_SUFFIX)
    write_kek_file(pending, new)
    try:
        async with database.sessions() as session, session.begin():
            last_id = 0
            while True:
                rows = (
                    await session.execute(
                        select(DataKeyRow.id, DataKeyRow.kek_id, DataKeyRow.wrapped)
                        .where(DataKeyRow.id > last_id)
                        .order_by(DataKeyRow.id)
                        .limit(REWRAP_BATCH)
                    )
                ).all()
                if not rows:
                    break
                for row_id, kek_id, wrapped in rows:
                    if kek_id != old.kek_id:
                        raise KeyringError(f"data key {row_id} is wrapped by KEK {kek_id}, not {old.kek_id}")
                    rewrapped = wrap_data_key(new, unwrap_data_key(old, wrapped), random_bytes)
                    await session.execute(
                        update(DataKeyRow).where(DataKeyRow.id == row_id).values(kek_id=new.kek_id, wrapped=rewrapped)
                    )
                last_id = rows[-1][0]
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            pending.unlink()
        raise
    os.replace(pending, path)
    _fsync_directory(path.parent)
    return old.kek_id, new.kek_id
