"""Alembic environment: runs on the connection :meth:`enseal.storage.database.Database.migrate`
hands over (``config.attributes["connection"]``); there is no alembic.ini."""

from __future__ import annotations

from alembic import context

from enseal.storage.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through enseal.storage.database.Database.migrate()")
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
