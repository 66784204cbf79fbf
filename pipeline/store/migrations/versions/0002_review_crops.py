"""Review tasks keep their field's scanned region, and the queue gets its index.

The review queue is read as open tasks by confidence; without the index every look at the
queue scans all tasks ever made.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Add `review_tasks.crop_png` and the queue index."""
    with op.batch_alter_table("review_tasks") as batch:
        batch.add_column(sa.Column("crop_png", sa.LargeBinary))
    op.create_index("ix_review_tasks_queue", "review_tasks", ["state", "confidence"])


def downgrade() -> None:
    """Drop them again."""
    op.drop_index("ix_review_tasks_queue", "review_tasks")
    with op.batch_alter_table("review_tasks") as batch:
        batch.drop_column("crop_png")
