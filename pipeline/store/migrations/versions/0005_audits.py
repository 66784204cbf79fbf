"""Review tasks that are audits: straight-through fields drawn to measure silent errors.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Add `audit`, `audit_rate` and `audit_stratum` to `review_tasks`; old tasks are no audits."""
    with op.batch_alter_table("review_tasks") as batch:
        batch.add_column(sa.Column("audit", sa.Boolean, nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("audit_rate", sa.Float))
        batch.add_column(sa.Column("audit_stratum", sa.String(120)))


def downgrade() -> None:
    """Drop them again."""
    with op.batch_alter_table("review_tasks") as batch:
        batch.drop_column("audit_stratum")
        batch.drop_column("audit_rate")
        batch.drop_column("audit")
