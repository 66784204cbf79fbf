"""The store's half of audit sampling: which tasks are audits and what became of them.

`Store` takes these methods from `AuditMethods`. Only current forms of documents that are not
superseded count, as in every export: the estimate is of the store as it would be exported.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Engine, Select, func, select

from pipeline.store import schema as t
from pipeline.store.review import latest_correction
from pipeline.store.rows import AnsweredTask, AuditTask, FieldCount


def _current() -> list[ColumnElement[bool]]:
    return [t.forms.c.current.is_(True), t.documents.c.state != "superseded"]


def _tasks_of_current_forms(which: ColumnElement[bool], columns: Select[Any]) -> Select[Any]:
    """`columns` of the review tasks `which` picks, of current forms, with their fields."""
    return (
        columns.join(t.fields, t.fields.c.id == t.review_tasks.c.field_id)
        .join(t.forms, t.forms.c.id == t.review_tasks.c.form_id)
        .join(t.documents, t.documents.c.id == t.forms.c.document_id)
        .where(which, *_current())
        .order_by(t.review_tasks.c.id)
    )


class AuditMethods:
    """Audit tasks and field counts, for the silent error estimate (`pipeline.audit`)."""

    engine: Engine

    def audit_tasks(self) -> list[AuditTask]:
        """Every audit task of a current form, open or closed, with its latest correction."""
        query = _tasks_of_current_forms(
            t.review_tasks.c.audit.is_(True),
            select(
                t.review_tasks.c.id,
                t.forms.c.form_type,
                t.fields.c.key,
                t.fields.c.row,
                t.fields.c.value,
                t.review_tasks.c.audit_rate.label("rate"),
                t.review_tasks.c.audit_stratum.label("stratum"),
                t.review_tasks.c.state,
                latest_correction().label("corrected"),
            ),
        )
        with self.engine.connect() as c:
            return [AuditTask.model_validate(r._mapping) for r in c.execute(query)]

    def field_counts(self) -> list[FieldCount]:
        """Current fields counted by form type, key, scalar or indicator, and review."""
        indicator = t.fields.c.row.is_not(None)
        query = (
            select(
                t.forms.c.form_type,
                t.fields.c.key,
                indicator.label("indicator"),
                t.fields.c.review,
                func.count().label("count"),
            )
            .join(t.forms, t.forms.c.id == t.fields.c.form_id)
            .join(t.documents, t.documents.c.id == t.forms.c.document_id)
            .where(*_current())
            .group_by(t.forms.c.form_type, t.fields.c.key, indicator, t.fields.c.review)
        )
        with self.engine.connect() as c:
            return [FieldCount.model_validate(r._mapping) for r in c.execute(query)]

    def answered_tasks(self) -> list[AnsweredTask]:
        """Every task of a current form a reviewer answered (closed `done`), audits included.

        What `formscan calibrate` learns from: a task closed as unreadable labels nothing,
        and a field fixed on the form page without a task was not drawn at random.
        """
        query = _tasks_of_current_forms(
            t.review_tasks.c.state == "done",
            select(
                t.review_tasks.c.field_id,
                t.review_tasks.c.form_id,
                t.forms.c.document_id,
                t.forms.c.form_type,
                t.fields.c.key,
                t.fields.c.row,
                t.fields.c.value,
                t.review_tasks.c.audit,
                t.review_tasks.c.audit_rate.label("rate"),
                latest_correction().label("corrected"),
            ),
        )
        with self.engine.connect() as c:
            return [
                AnsweredTask.model_validate(r._mapping)
                for r in c.execute(query)
                if r.corrected is not None
            ]
