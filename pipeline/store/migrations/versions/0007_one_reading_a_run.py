"""A document's forms are keyed by the run that read them: one reading a run.

Batched writes (`Store.save_documents`) are retried after a crash or a lost connection; the
key makes the database refuse a second copy of a reading whatever the code above it does.
Every store a batch run made holds one reading a run already (`plan_run` reads a document
at most once a run).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Add the unique index `uq_forms_reading` on forms (document, run, order)."""
    op.create_index("uq_forms_reading", "forms", ["document_id", "run_id", "seq"], unique=True)


def downgrade() -> None:
    """Drop it again."""
    op.drop_index("uq_forms_reading", table_name="forms")
