"""Storage fixtures: every test that takes ``store`` runs on SQLite and on PostgreSQL.

PostgreSQL is ``ENSEAL_TEST_POSTGRES`` (default postgresql+asyncpg://postgres@127.0.0.1:5432/test,
trust auth); each test gets a database of its own, created and dropped around it. When PostgreSQL
cannot be reached those cases are skipped with the reason, except under CI (env CI set), where
they fail.
"""

from __future__ import annotations

import os
import random
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from enseal.crypto.envelope import KeyEncryptionKey
from enseal.storage import StorageUnavailable, Store, sqlite_url, write_kek_file
from enseal.storage.scratch import DEFAULT_TEST_POSTGRES, scratch_postgres_database

POSTGRES_URL = os.environ.get("ENSEAL_TEST_POSTGRES", DEFAULT_TEST_POSTGRES)


def _postgres_database() -> Iterator[str]:
    try:
        with scratch_postgres_database(POSTGRES_URL) as url:
            yield url
    except StorageUnavailable as exc:
        if os.environ.get("CI"):
            pytest.fail(str(exc))
        pytest.skip(str(exc))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield sqlite_url(tmp_path / "store.db")
    else:
        yield from _postgres_database()


@pytest.fixture
def kek_path(tmp_path: Path) -> Path:
    path = tmp_path / "kek.key"
    write_kek_file(path, KeyEncryptionKey.generate(random.Random(7).randbytes))
    return path


@pytest.fixture
async def store(database_url: str, kek_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(database_url, kek_path, random.Random(11).randbytes)
    try:
        yield opened
    finally:
        await opened.close()
