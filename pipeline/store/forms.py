"""Forms in and out of the tables: a reading's forms written, current forms read back."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from sqlalchemy import Connection, select

from pipeline.readings import AuditDraw, FormReading, field_path
from pipeline.store import schema as t
from pipeline.store.rows import (
    Correction,
    Document,
    StoredForm,
    form_rows,
    reading_of,
)


def insert_form(
    c: Connection,
    document_id: int,
    run_id: str,
    seq: int,
    form: FormReading,
    versions: Mapping[str, str],
    crops: Mapping[tuple[int, str], bytes],
    old: Mapping[tuple[int, str], Correction],
    audits: Mapping[tuple[int, str], AuditDraw],
) -> None:
    """Insert one form of a reading with its fields, review tasks and carried corrections.

    A field drawn for audit gets a task like a review field's, and shows as pending like
    one, so that nothing tells a reviewer it is an audit; its `review` stays false, so the
    export says what routing said.
    """
    form_id = c.execute(
        t.forms.insert().values(
            document_id=document_id,
            seq=seq,
            form_type=form.form_type,
            pages=form.pages,
            issues=form.issues,
            versions=dict(versions),
            current=True,
            run_id=run_id,
        )
    ).inserted_primary_key
    assert form_id is not None
    for row in form_rows(form):
        path = field_path(row["key"], row["row"])
        carried = old.get((seq, path))
        audit = None if row["review"] else audits.get((seq, path))
        asked = row["review"] or audit is not None
        state = "corrected" if carried else ("pending" if asked else "none")
        field_id = c.execute(
            t.fields.insert().values(form_id=form_id[0], review_state=state, **row)
        ).inserted_primary_key
        assert field_id is not None
        if asked:
            c.execute(
                t.review_tasks.insert().values(
                    field_id=field_id[0],
                    form_id=form_id[0],
                    confidence=row["confidence"],
                    state="done" if carried else "open",
                    closed_by=carried.reviewer if carried else None,
                    closed_at=carried.at if carried else None,
                    run_id=run_id,
                    crop_png=crops.get((seq, path)),
                    audit=audit is not None,
                    audit_rate=audit.rate if audit else None,
                    audit_stratum=audit.stratum if audit else None,
                )
            )
        if carried:
            c.execute(
                t.corrections.insert().values(
                    field_id=field_id[0],
                    reviewer=carried.reviewer,
                    at=carried.at,
                    old_value=row["value"],
                    new_value=carried.new_value,
                )
            )


def current_corrections(c: Connection, document_id: int) -> dict[tuple[int, str], Correction]:
    """The latest correction of each field of a document's current forms."""
    query = (
        select(t.forms.c.seq, t.fields.c.key, t.fields.c.row, t.corrections)
        .join(t.fields, t.fields.c.form_id == t.forms.c.id)
        .join(t.corrections, t.corrections.c.field_id == t.fields.c.id)
        .where(t.forms.c.document_id == document_id, t.forms.c.current.is_(True))
        .order_by(t.corrections.c.id)
    )
    return {
        (m["seq"], field_path(m["key"], m["row"])): Correction.model_validate(m)
        for m in c.execute(query).mappings()
    }


def stored_forms(
    c: Connection, forms: list[dict[str, Any]], documents: Mapping[int, Document]
) -> Iterator[StoredForm]:
    """Forms rows with their fields and latest corrections, as `StoredForm`s, in order."""
    form_ids = [f["id"] for f in forms]
    rows = _grouped(
        c.execute(
            select(t.fields)
            .where(t.fields.c.form_id.in_(form_ids))
            .order_by(t.fields.c.form_id, t.fields.c.ordinal)
        ).mappings(),
        "form_id",
    )
    latest: dict[int, Correction] = {}
    for r in c.execute(
        select(t.corrections)
        .join(t.fields, t.fields.c.id == t.corrections.c.field_id)
        .where(t.fields.c.form_id.in_(form_ids))
        .order_by(t.corrections.c.id)
    ).mappings():
        latest[r["field_id"]] = Correction.model_validate(r)
    for form in forms:
        document = documents[form["document_id"]]
        fields = rows.get(form["id"], [])
        yield StoredForm(
            form_id=form["id"],
            document=document,
            seq=form["seq"],
            versions=form["versions"],
            form=reading_of(document.name, form, fields),
            corrections={
                field_path(r["key"], r["row"]): latest[r["id"]] for r in fields if r["id"] in latest
            },
        )


def _grouped(rows: Iterator[Any], key: str) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        out.setdefault(row[key], []).append(dict(row))
    return out
