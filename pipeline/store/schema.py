"""The store's tables, as SQLAlchemy Core metadata: what a batch run keeps between nights.

This is the schema at the newest migration; `migrations/versions/` holds the steps that
bring an older store here. Change both together: a test compares them.

A document is one scan file's content, keyed by its SHA-256, so a renamed or copied file is
the same document. Its forms are kept per reading: reading a document again marks the old
forms `current = false` instead of deleting them, so no result and no correction is lost.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)

metadata = MetaData()

runs = Table(
    "runs",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    # running → done | failed; a run killed outright stays `running` until the next one
    # marks it `interrupted`.
    Column("state", String(16), nullable=False),
    Column("roots", JSON, nullable=False),
    Column("options", JSON, nullable=False),
    Column("versions", JSON),
    Column("counts", JSON),
    Column("pid", Integer),
    Column("host", String(200)),
)

documents = Table(
    "documents",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("sha256", String(64), nullable=False, unique=True),
    Column("path", Text, nullable=False, doc="Absolute path where the file was last seen."),
    Column("name", Text, nullable=False, doc="Path relative to the folder the run was given."),
    Column("size", BigInteger, nullable=False),
    # Added by migration 0008: the file's modification time when last seen at `path`.
    Column("mtime_ns", BigInteger),
    Column("pages", Integer),
    # new → reading → done | failed; superseded when the file at its path changed.
    Column("state", String(16), nullable=False),
    Column("reason", Text, doc="Why it is quarantined (state failed)."),
    Column("versions", JSON, doc="What read its current forms."),
    Column("replaces_id", Integer, ForeignKey("documents.id"), doc="Older content at its path."),
    Column("first_run_id", String(40), ForeignKey("runs.id"), nullable=False),
    Column("read_run_id", String(40), ForeignKey("runs.id")),
    Column("seconds", JSON, doc="Seconds by stage of its last reading."),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

pages = Table(
    "pages",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("document_id", Integer, ForeignKey("documents.id"), nullable=False, index=True),
    Column("number", Integer, nullable=False),
    Column("seconds", Float, nullable=False),
    Column("error", Text),
    Column("run_id", String(40), ForeignKey("runs.id"), nullable=False),
    # Added by migration 0003: the prepared page, downscaled, for the reviewer's form page,
    # and the 3×3 homography from scan pixels (the fields' `bbox`) to that image's pixels.
    Column("image_jpeg", LargeBinary),
    Column("image_transform", JSON),
)

forms = Table(
    "forms",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("document_id", Integer, ForeignKey("documents.id"), nullable=False, index=True),
    Column("seq", Integer, nullable=False, doc="Order of the form in its file, from 0."),
    Column("form_type", String(80), nullable=False),
    Column("pages", JSON, nullable=False),
    Column("issues", JSON, nullable=False),
    Column("versions", JSON, nullable=False),
    Column("current", Boolean, nullable=False),
    Column("run_id", String(40), ForeignKey("runs.id"), nullable=False),
    # Added by migration 0007: a run reads a document once, so a retried write can never
    # leave two copies of its forms (`Store.save_documents`).
    Index("uq_forms_reading", "document_id", "run_id", "seq", unique=True),
)

fields = Table(
    "fields",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("form_id", Integer, ForeignKey("forms.id"), nullable=False, index=True),
    Column("ordinal", Integer, nullable=False, doc="Keeps the record's key order."),
    Column("row", Integer, doc="Indicator row, from 0; null for a scalar field."),
    Column("key", String(40), nullable=False),
    Column("value", Text, nullable=False),
    Column("raw", Text, nullable=False, doc="The text as OCR read it."),
    Column("confidence", Float, nullable=False),
    Column("review", Boolean, nullable=False),
    Column("page", Integer),
    Column("bbox", JSON),
    Column("evidence", JSON, nullable=False),
    # none (not sent) | pending | corrected | unreadable
    Column("review_state", String(16), nullable=False),
)

review_tasks = Table(
    "review_tasks",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("field_id", Integer, ForeignKey("fields.id"), nullable=False, unique=True),
    Column("form_id", Integer, ForeignKey("forms.id"), nullable=False),
    Column("confidence", Float, nullable=False),
    Column("state", String(16), nullable=False),  # open | done | unreadable
    Column("run_id", String(40), ForeignKey("runs.id"), nullable=False),
    # Added by migration 0002: the field's scanned region, upright, as PNG.
    Column("crop_png", LargeBinary),
    # Added by migration 0003. A reviewer holds an open task until `claimed_until`, so two
    # reviewers never get the same one; a claim left by a closed browser simply expires.
    Column("claimed_by", String(200)),
    Column("claimed_until", DateTime(timezone=True)),
    # Who closed it and when (state done, or unreadable: nobody can read the scan).
    Column("closed_by", String(200)),
    Column("closed_at", DateTime(timezone=True)),
    # Added by migration 0005. An audit: a straight-through field drawn at random so that a
    # person's answer measures the silent error rate. The reviewer is never told; the field
    # keeps `review` false. `audit_rate` is the chance it was drawn with (its weight 1/rate).
    Column("audit", Boolean, nullable=False, server_default=false()),
    Column("audit_rate", Float),
    Column("audit_stratum", String(120), doc="`FORM_TYPE:KIND` (`pipeline.audit.Stratum`)."),
    Index("ix_review_tasks_queue", "state", "confidence"),
)

corrections = Table(
    "corrections",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("field_id", Integer, ForeignKey("fields.id"), nullable=False, index=True),
    Column("reviewer", String(200), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("old_value", Text, nullable=False),
    Column("new_value", Text, nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("role", String(16), nullable=False),  # reviewer | admin
    Column("password_hash", Text, nullable=False, doc="argon2id, never the password."),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # Added by migration 0004. A disabled account cannot sign in; its history stays.
    Column("disabled", Boolean, nullable=False, server_default=false()),
    # Failed sign-ins in a row, and the lock they earned; a good sign-in or an admin clears both.
    Column("failed_signins", Integer, nullable=False, server_default="0"),
    Column("locked_until", DateTime(timezone=True)),
)

# Added by migration 0004: a signed-in browser, so the server can end it (sign-out, a new
# role or password, a disabled or removed account) before its cookie expires.
sessions = Table(
    "sessions",
    metadata,
    Column("id", String(64), primary_key=True, doc="SHA-256 of the cookie's token, never it."),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False, index=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)

# Added by migration 0006: the values of the fields a form type marks `lexicon` (names of
# units and projects, 三级 names), as reviewers confirmed or corrected them (`review`) or an
# admin imported them from an official list (`import`). A field's latest answer counts once:
# a reviewer who changes an answer takes the count from the old value.
lexicon = Table(
    "lexicon",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("form_type", String(80), nullable=False),
    Column("key", String(60), nullable=False, doc="`KEY`, or `indicators.KEY` for a row's."),
    Column("value", Text, nullable=False, doc="In the spec's comparison form (`normalise_text`)."),
    Column("source", String(16), nullable=False),  # review | import
    Column("seen", Integer, nullable=False, doc="Answers (or imports) that gave this value."),
    Column("first_seen", DateTime(timezone=True), nullable=False),
    Column("last_seen", DateTime(timezone=True), nullable=False),
    UniqueConstraint("form_type", "key", "value", "source", name="uq_lexicon_value"),
)
