"""The lexicon: values of the repeating fields, from reviewers' answers and imported lists.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-09
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Add `lexicon`. A store's earlier answers are not taken in: the lexicon starts empty."""
    op.create_table(
        "lexicon",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("form_type", sa.String(80), nullable=False),
        sa.Column("key", sa.String(60), nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("seen", sa.Integer, nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("form_type", "key", "value", "source", name="uq_lexicon_value"),
    )


def downgrade() -> None:
    """Drop it again."""
    op.drop_table("lexicon")
