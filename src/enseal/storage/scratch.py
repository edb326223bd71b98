"""Throwaway PostgreSQL databases for tests, benchmarks and the demo: created with a unique name
on a server the caller names, dropped afterwards (``DROP DATABASE ... WITH (FORCE)``).

    with scratch_postgres_database("postgresql+asyncpg://postgres@127.0.0.1:5432/test") as url:
        ...  # url names a new, empty database
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy.engine import make_url

from enseal.storage.errors import StorageUnavailable

DEFAULT_TEST_POSTGRES: Final = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
CONNECT_TIMEOUT: Final = 5.0


async def _execute(admin_url: str, statement: str) -> None:
    url = make_url(admin_url)
    connection = await asyncpg.connect(
        host=url.host,
        port=url.port or 5432,
        user=url.username,
        password=url.password,
        database=url.database,
        timeout=CONNECT_TIMEOUT,
    )
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@contextmanager
def scratch_postgres_database(admin_url: str = DEFAULT_TEST_POSTGRES) -> Iterator[str]:
    """A new empty database on the server of ``admin_url``; :class:`StorageUnavailable` if the
    server cannot be reached or refuses. Synchronous: call it outside a running event loop."""
    name = f"enseal_scratch_{uuid.uuid4().hex[:12]}"
    try:
        asyncio.run(_execute(admin_url, f'CREATE DATABASE "{name}"'))
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        raise StorageUnavailable(f"PostgreSQL at {make_url(admin_url)!r} is not usable: {exc!r}") from exc
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(_execute(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
