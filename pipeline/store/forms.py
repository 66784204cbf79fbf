"""Forms out of the tables: current forms read back, and the corrections a reading carries."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from typing import Any

from sqlalchemy import Connection, select

from pipeline.readings import field_path
from pipeline.store import schema as t
from pipeline.store.rows import (
    Correction,
    Document,
    StoredForm,
    reading_of,
)


def current_corrections(
    c: Connection, document_ids: Collection[int]
) -> dict[int, dict[tuple[int, str], Correction]]:
    """The latest correction of each field of the documents' current forms, by document."""
    query = (
        select(t.forms.c.document_id, t.forms.c.seq, t.fields.c.key, t.fields.c.row, t.corrections)
        .join(t.fields, t.fields.c.form_id == t.forms.c.id)
        .join(t.corrections, t.corrections.c.field_id == t.fields.c.id)
        .where(t.forms.c.document_id.in_(document_ids), t.forms.c.current.is_(True))
        .order_by(t.corrections.c.id)
    )
    out: dict[int, dict[tuple[int, str], Correction]] = {}
    for m in c.execute(query).mappings():
        path = field_path(m["key"], m["row"])
        out.setdefault(m["document_id"], {})[(m["seq"], path)] = Correction.model_validate(m)
    return out


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
