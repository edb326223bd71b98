"""Opening the store's database and migrating its schema (SQLAlchemy 2 asyncio; Alembic).

SQLite (the default, a file in the data directory) runs in WAL mode with ``synchronous=FULL``,
so a transaction that committed (and so was acknowledged to a client) survives a crash or a
SIGKILL, and every transaction starts with ``BEGIN IMMEDIATE``: SQLite allows one writer, and
taking the write lock up front turns would-be "database is locked" upgrade failures into a wait
(bounded by :data:`SQLITE_BUSY_TIMEOUT_MS`). PostgreSQL is used through asyncpg as it is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from enseal.storage.errors import StorageUnavailable

MIGRATIONS_DIR: Final = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS: Final = 15_000
"""How long a SQLite transaction waits for the write lock before failing."""
POOL_SIZE: Final = 10
"""Connections kept open to PostgreSQL per server process."""
SUPPORTED_DRIVERS: Final = ("sqlite+aiosqlite", "postgresql+asyncpg")


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the driver, issue BEGIN (the driver's implicit BEGIN is DEFERRED).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    for pragma in (
        "PRAGMA journal_mode=WAL",
        "PRAGMA synchronous=FULL",
        "PRAGMA foreign_keys=ON",
        f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
    ):
        cursor.execute(pragma)
    cursor.close()


def _on_sqlite_begin(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


class Database:
    """An async engine and session factory for one database URL."""

    def __init__(self, url: str) -> None:
        try:
            parsed = make_url(url)
        except ArgumentError as exc:
            raise StorageUnavailable(f"not a database URL: {exc}") from exc
        if parsed.drivername not in SUPPORTED_DRIVERS:
            raise StorageUnavailable(
                f"unsupported database driver {parsed.drivername!r}; use one of {SUPPORTED_DRIVERS}"
            )
        self.url = parsed
        self.is_sqlite = parsed.drivername.startswith("sqlite")
        if self.is_sqlite:
            self.engine: AsyncEngine = create_async_engine(parsed)
            event.listen(self.engine.sync_engine, "connect", _on_sqlite_connect)
            event.listen(self.engine.sync_engine, "begin", _on_sqlite_begin)
        else:
            self.engine = create_async_engine(parsed, pool_size=POOL_SIZE, pool_pre_ping=True)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False, autoflush=False)

    def __repr__(self) -> str:
        return f"Database({self.url.render_as_string(hide_password=True)})"

    async def migrate(self) -> None:
        """Apply every Alembic migration not yet applied (idempotent)."""
        try:
            async with self.engine.begin() as connection:
                await connection.run_sync(_upgrade_to_head)
        except (SQLAlchemyError, OSError) as exc:
            raise StorageUnavailable(f"cannot migrate {self!r}: {exc}") from exc

    async def close(self) -> None:
        await self.engine.dispose()


def _alembic_config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def _upgrade_to_head(connection: Connection) -> None:
    command.upgrade(_alembic_config(connection), "head")
