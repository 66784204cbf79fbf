"""A document's file time: planning a night's run from size and time, not from every hash.

A file the store has seen at the same place, with the same size and modification time, is
taken for the same content without reading its bytes again (as rsync's quick check). A store
made before 0008 has no times: its files are hashed once more, and their times kept then.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Add `documents.mtime_ns`, unknown for the documents there are."""
    op.add_column("documents", sa.Column("mtime_ns", sa.BigInteger, nullable=True))


def downgrade() -> None:
    """Drop it again."""
    op.drop_column("documents", "mtime_ns")
