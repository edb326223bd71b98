"""Envelope encryption at rest on both databases: sealed records, KEK rotation (old data still
opens, the old KEK no longer unwraps anything), crash recovery of a rotation, KEK file rules."""

from __future__ import annotations

import os
import random
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from enseal.crypto.envelope import unwrap_data_key
from enseal.errors import AuthenticationError
from enseal.storage import KeyringError, NotFound, Store, open_keyring, read_kek_file, rotate_kek
from enseal.storage.keyring import PENDING_SUFFIX
from enseal.storage.models import DataKeyRow, SealedRecordRow

pytestmark = pytest.mark.anyio

NOW = datetime(2026, 1, 5, tzinfo=UTC)
RNG = random.Random(5).randbytes


async def _seal_some(store: Store) -> dict[int, bytes]:
    sealed = {}
    async with store.transaction() as tx:
        for i in range(3):
            plaintext = f"chat body {i} that is not end-to-end encrypted".encode()
            sealed[await tx.sealed.seal(purpose="chat", plaintext=plaintext, now=NOW)] = plaintext
        await tx.sealed.seal(purpose="key", plaintext=b"first", now=NOW, name="singleton")
        await tx.sealed.seal(purpose="key", plaintext=b"second", now=NOW, name="singleton")
    return sealed


async def test_sealed_records_hold_no_plaintext_and_open(store: Store) -> None:
    sealed = await _seal_some(store)
    async with store.transaction() as tx:
        for record_id, plaintext in sealed.items():
            assert await tx.sealed.open(record_id) == plaintext
        assert await tx.sealed.open_named("singleton") == b"second"
        rows = (await tx.session.scalars(select(SealedRecordRow))).all()
        assert len(rows) == 4  # the replaced singleton is gone, with its data key
        assert len((await tx.session.scalars(select(DataKeyRow))).all()) == 4
        assert all(b"chat body" not in row.ciphertext for row in rows)
        with pytest.raises(NotFound):
            await tx.sealed.open_named("missing")


async def test_a_moved_ciphertext_does_not_open(store: Store) -> None:
    sealed = await _seal_some(store)
    first, second = list(sealed)[:2]
    async with store.transaction() as tx:
        rows = {row.id: row for row in (await tx.session.scalars(select(SealedRecordRow))).all()}
        rows[first].ciphertext = rows[second].ciphertext
        await tx.session.flush()
        with pytest.raises(AuthenticationError):
            await tx.sealed.open(first)


async def test_rotate_kek_rewraps_and_the_old_kek_stops_working(store: Store, kek_path: Path) -> None:
    sealed = await _seal_some(store)
    old = read_kek_file(kek_path)
    old_id, new_id = await rotate_kek(store.database, kek_path, RNG)
    assert old_id == old.kek_id != new_id == read_kek_file(kek_path).kek_id
    assert not kek_path.with_name(kek_path.name + PENDING_SUFFIX).exists()
    assert kek_path.stat().st_mode & 0o777 == 0o600

    reopened = Store(store.database, await open_keyring(store.database, kek_path, RNG))
    async with reopened.transaction() as tx:
        for record_id, plaintext in sealed.items():
            assert await tx.sealed.open(record_id) == plaintext
        key_rows = (await tx.session.scalars(select(DataKeyRow))).all()
    assert {row.kek_id for row in key_rows} == {new_id}
    for row in key_rows:
        with pytest.raises(AuthenticationError):
            unwrap_data_key(old, row.wrapped)
    # The store opened with the old keyring can no longer open anything.
    async with store.transaction() as tx:
        with pytest.raises(KeyringError):
            await tx.sealed.open(next(iter(sealed)))


async def test_open_keyring_refuses_a_kek_that_wraps_nothing_here(store: Store, kek_path: Path, tmp_path: Path) -> None:
    await _seal_some(store)
    other = tmp_path / "other.key"
    from enseal.crypto.envelope import KeyEncryptionKey
    from enseal.storage import write_kek_file

    write_kek_file(other, KeyEncryptionKey.generate(RNG))
    with pytest.raises(KeyringError):
        await open_keyring(store.database, other, RNG)


async def test_a_rotation_interrupted_after_the_database_commit_is_finished_on_open(
    store: Store, kek_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sealed = await _seal_some(store)
    real_replace = os.replace

    def crash(src: object, dst: object) -> None:
        raise OSError("simulated crash before the rename")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="simulated crash"):
        await rotate_kek(store.database, kek_path, RNG)
    monkeypatch.setattr(os, "replace", real_replace)
    pending = kek_path.with_name(kek_path.name + PENDING_SUFFIX)
    assert pending.exists()  # the database is rewrapped, the KEK file still the old one
    new_id = read_kek_file(pending).kek_id
    keyring = await open_keyring(store.database, kek_path, RNG)
    assert keyring.kek_id == new_id and not pending.exists()
    async with Store(store.database, keyring).transaction() as tx:
        for record_id, plaintext in sealed.items():
            assert await tx.sealed.open(record_id) == plaintext


async def test_a_rotation_interrupted_before_the_database_commit_is_abandoned(store: Store, kek_path: Path) -> None:
    sealed = await _seal_some(store)
    old_id = read_kek_file(kek_path).kek_id
    from enseal.crypto.envelope import KeyEncryptionKey
    from enseal.storage import write_kek_file

    write_kek_file(kek_path.with_name(kek_path.name + PENDING_SUFFIX), KeyEncryptionKey.generate(RNG))
    keyring = await open_keyring(store.database, kek_path, RNG)
    assert keyring.kek_id == old_id
    async with Store(store.database, keyring).transaction() as tx:
        assert await tx.sealed.open(next(iter(sealed))) == sealed[next(iter(sealed))]


def test_kek_file_must_be_private(kek_path: Path) -> None:
    kek_path.chmod(0o644)
    with pytest.raises(KeyringError, match="chmod 600"):
        read_kek_file(kek_path)
    kek_path.chmod(0o600)
    kek_path.write_text("not a key\n")
    with pytest.raises(KeyringError):
        read_kek_file(kek_path)
