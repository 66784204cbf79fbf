"""Alembic's environment for the store: runs migrations on the connection the store hands it.

Migrations run when `Store` opens a database (`pipeline.store.store.upgrade`), never from an
`alembic.ini`; the connection comes in `config.attributes["connection"]`.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from pipeline.store.schema import metadata

connection: Connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    # SQLite alters a table by copying it; batch mode does that for us.
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
