"""The review queue in a browser: reviewers' accounts, task claims, page images.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Add `users`, claims and closer on `review_tasks`, and the page image on `pages`."""
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    with op.batch_alter_table("review_tasks") as batch:
        batch.add_column(sa.Column("claimed_by", sa.String(200)))
        batch.add_column(sa.Column("claimed_until", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("closed_by", sa.String(200)))
        batch.add_column(sa.Column("closed_at", sa.DateTime(timezone=True)))
    with op.batch_alter_table("pages") as batch:
        batch.add_column(sa.Column("image_jpeg", sa.LargeBinary))
        batch.add_column(sa.Column("image_transform", sa.JSON))


def downgrade() -> None:
    """Drop them again."""
    with op.batch_alter_table("pages") as batch:
        batch.drop_column("image_transform")
        batch.drop_column("image_jpeg")
    with op.batch_alter_table("review_tasks") as batch:
        batch.drop_column("closed_at")
        batch.drop_column("closed_by")
        batch.drop_column("claimed_until")
        batch.drop_column("claimed_by")
    op.drop_table("users")
