"""The first store: runs, documents, pages, forms, fields, review tasks, corrections.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create the tables."""
    op.create_table(
        "runs",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("roots", sa.JSON, nullable=False),
        sa.Column("options", sa.JSON, nullable=False),
        sa.Column("versions", sa.JSON),
        sa.Column("counts", sa.JSON),
        sa.Column("pid", sa.Integer),
        sa.Column("host", sa.String(200)),
    )
    op.create_table(
        "documents",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("pages", sa.Integer),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("versions", sa.JSON),
        sa.Column("replaces_id", sa.Integer, sa.ForeignKey("documents.id")),
        sa.Column("first_run_id", sa.String(40), sa.ForeignKey("runs.id"), nullable=False),
        sa.Column("read_run_id", sa.String(40), sa.ForeignKey("runs.id")),
        sa.Column("seconds", sa.JSON),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "pages",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("document_id", sa.Integer, sa.ForeignKey("documents.id"), nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("seconds", sa.Float, nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("run_id", sa.String(40), sa.ForeignKey("runs.id"), nullable=False),
    )
    op.create_index("ix_pages_document_id", "pages", ["document_id"])
    op.create_table(
        "forms",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("document_id", sa.Integer, sa.ForeignKey("documents.id"), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("form_type", sa.String(80), nullable=False),
        sa.Column("pages", sa.JSON, nullable=False),
        sa.Column("issues", sa.JSON, nullable=False),
        sa.Column("versions", sa.JSON, nullable=False),
        sa.Column("current", sa.Boolean, nullable=False),
        sa.Column("run_id", sa.String(40), sa.ForeignKey("runs.id"), nullable=False),
    )
    op.create_index("ix_forms_document_id", "forms", ["document_id"])
    op.create_table(
        "fields",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("form_id", sa.Integer, sa.ForeignKey("forms.id"), nullable=False),
        sa.Column("ordinal", sa.Integer, nullable=False),
        sa.Column("row", sa.Integer),
        sa.Column("key", sa.String(40), nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("raw", sa.Text, nullable=False),
        sa.Column("confidence", sa.Float, nullable=False),
        sa.Column("review", sa.Boolean, nullable=False),
        sa.Column("page", sa.Integer),
        sa.Column("bbox", sa.JSON),
        sa.Column("evidence", sa.JSON, nullable=False),
        sa.Column("review_state", sa.String(16), nullable=False),
    )
    op.create_index("ix_fields_form_id", "fields", ["form_id"])
    op.create_table(
        "review_tasks",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("field_id", sa.Integer, sa.ForeignKey("fields.id"), nullable=False, unique=True),
        sa.Column("form_id", sa.Integer, sa.ForeignKey("forms.id"), nullable=False),
        sa.Column("confidence", sa.Float, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("run_id", sa.String(40), sa.ForeignKey("runs.id"), nullable=False),
    )
    op.create_table(
        "corrections",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("field_id", sa.Integer, sa.ForeignKey("fields.id"), nullable=False),
        sa.Column("reviewer", sa.String(200), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("old_value", sa.Text, nullable=False),
        sa.Column("new_value", sa.Text, nullable=False),
    )
    op.create_index("ix_corrections_field_id", "corrections", ["field_id"])


def downgrade() -> None:
    """Drop the tables."""
    for table in ("corrections", "review_tasks", "fields", "forms", "pages", "documents", "runs"):
        op.drop_table(table)
