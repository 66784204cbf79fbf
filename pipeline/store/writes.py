"""Readings into the tables: many documents' forms, fields and tasks in a few statements.

Each table's rows for the whole batch go in one executemany, not one round trip a field:
a page holds about 45 fields, and a statement each made the store's writes cost more in
waiting for the server than in the server's work.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Table, bindparam, func, select, text, update

from pipeline.pages import UNRECOGNISED, FileResult
from pipeline.readings import AuditDraw, field_path
from pipeline.store import schema as t
from pipeline.store.forms import current_corrections
from pipeline.store.rows import Correction, form_rows


@dataclass(frozen=True)
class ToWrite:
    """One document's reading, as the tables take it: which document, what, its crops."""

    document_id: int
    result: FileResult
    crops: Mapping[tuple[int, str], bytes]


def write_readings(
    c: Connection, run_id: str, versions: Mapping[str, str], readings: Sequence[ToWrite]
) -> None:
    """Write each reading as the current one of its document, inside `c`'s transaction.

    A document's earlier forms stay, no longer current; a correction made on them is carried
    to the same field of the new reading, since a person's answer outranks any reading. A
    document with a file error is quarantined (`failed`) with its reason; the forms of any
    pages read before the error are kept all the same. Each document at most once a call.
    """
    if not readings:
        return
    ids = [r.document_id for r in readings]
    old = current_corrections(c, ids)
    c.execute(
        update(t.forms)
        .where(t.forms.c.document_id.in_(ids), t.forms.c.current.is_(True))
        .values(current=False)
    )
    c.execute(t.pages.delete().where(t.pages.c.document_id.in_(ids)))
    pages = [page for r in readings for page in _page_rows(r, run_id)]
    if pages:
        c.execute(t.pages.insert(), pages)
    _insert_forms(c, run_id, versions, readings, old)
    now = datetime.now(UTC)
    c.execute(
        update(t.documents)
        .where(t.documents.c.id == bindparam("b_id"))
        .values(
            state=bindparam("b_state"),
            reason=bindparam("b_reason"),
            pages=bindparam("b_pages"),
            versions=dict(versions),
            read_run_id=run_id,
            seconds=bindparam("b_seconds"),
            updated_at=now,
        ),
        [_document_values(r) for r in readings],
    )
    replacing = c.execute(
        select(t.documents.c.replaces_id, t.documents.c.path).where(
            t.documents.c.id.in_(ids), t.documents.c.replaces_id.is_not(None)
        )
    ).all()
    if replacing:
        # Only while the old content is still the one at this path: it may have been found
        # renamed since this document was planned.
        c.execute(
            update(t.documents)
            .where(t.documents.c.id == bindparam("b_id"), t.documents.c.path == bindparam("b_path"))
            .values(state="superseded", updated_at=now),
            [{"b_id": replaced, "b_path": path} for replaced, path in replacing],
        )


def _insert_forms(
    c: Connection,
    run_id: str,
    versions: Mapping[str, str],
    readings: Sequence[ToWrite],
    old: Mapping[int, Mapping[tuple[int, str], Correction]],
) -> None:
    """Insert every form of `readings` with its fields, review tasks and carried corrections.

    A field drawn for audit gets a task like a review field's, and shows as pending like
    one, so that nothing tells a reviewer it is an audit; its `review` stays false, so the
    export says what routing said.
    """
    placed = [(r, seq, form) for r in readings for seq, form in enumerate(r.result.forms)]
    if not placed:
        return
    form_ids = _insert_with_ids(
        c,
        t.forms,
        [
            {
                "document_id": r.document_id,
                "seq": seq,
                "form_type": form.form_type,
                "pages": form.pages,
                "issues": form.issues,
                "versions": dict(versions),
                "current": True,
                "run_id": run_id,
            }
            for r, seq, form in placed
        ],
    )
    fields: list[dict[str, Any]] = []
    # Fields a person is asked about, or answered: (index in `fields`, crop, answer, audit).
    asked: list[tuple[int, bytes | None, Correction | None, AuditDraw | None]] = []
    for (r, seq, form), form_id in zip(placed, form_ids, strict=True):
        for row in form_rows(form):
            path = field_path(row["key"], row["row"])
            carried = old.get(r.document_id, {}).get((seq, path))
            audit = None if row["review"] else r.result.audits.get((seq, path))
            sent = row["review"] or audit is not None
            state = "corrected" if carried else ("pending" if sent else "none")
            if sent or carried:
                asked.append((len(fields), r.crops.get((seq, path)), carried, audit))
            fields.append({**row, "form_id": form_id, "review_state": state})
    field_ids = _insert_with_ids(c, t.fields, fields)
    tasks: list[dict[str, Any]] = []
    corrections: list[dict[str, Any]] = []
    for n, crop, carried, audit in asked:
        row = fields[n]
        if row["review"] or audit is not None:
            tasks.append(
                {
                    "field_id": field_ids[n],
                    "form_id": row["form_id"],
                    "confidence": row["confidence"],
                    "state": "done" if carried else "open",
                    "closed_by": carried.reviewer if carried else None,
                    "closed_at": carried.at if carried else None,
                    "run_id": run_id,
                    "crop_png": crop,
                    "audit": audit is not None,
                    "audit_rate": audit.rate if audit else None,
                    "audit_stratum": audit.stratum if audit else None,
                }
            )
        if carried:
            corrections.append(
                {
                    "field_id": field_ids[n],
                    "reviewer": carried.reviewer,
                    "at": carried.at,
                    "old_value": row["value"],
                    "new_value": carried.new_value,
                }
            )
    if tasks:
        c.execute(t.review_tasks.insert(), tasks)
    if corrections:
        c.execute(t.corrections.insert(), corrections)


def _insert_with_ids(c: Connection, table: Table, rows: list[dict[str, Any]]) -> list[int]:
    """Insert `rows` as one executemany, each with an id taken beforehand; those ids, in order.

    Ids are taken first so the rows can go without RETURNING: psycopg then sends them as
    one prepared statement in pipeline mode, where a multi-row INSERT … RETURNING made it
    parse a statement as long as the batch, about three times the time (client and server).
    """
    if not rows:
        return []
    if c.dialect.name == "postgresql":
        ids = list(
            c.execute(
                text(
                    "SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)"
                ),
                {"t": table.name, "n": len(rows)},
            ).scalars()
        )
    else:
        # SQLite: this transaction has written already (forms marked not current), so it
        # holds the database's one write lock and nobody else can take these ids.
        top = c.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one()
        ids = list(range(top + 1, top + 1 + len(rows)))
    c.execute(table.insert(), [{**row, "id": i} for row, i in zip(rows, ids, strict=True)])
    return [int(i) for i in ids]


def _page_rows(reading: ToWrite, run_id: str) -> list[dict[str, Any]]:
    result = reading.result
    rows = []
    for number, seconds in enumerate(result.page_seconds, start=1):
        view = result.page_views.get(number)
        rows.append(
            {
                "document_id": reading.document_id,
                "number": number,
                "seconds": seconds,
                "error": _page_error(number, result),
                "run_id": run_id,
                "image_jpeg": view.jpeg if view else None,
                "image_transform": view.placement() if view else None,
            }
        )
    return rows


def _document_values(reading: ToWrite) -> dict[str, Any]:
    result = reading.result
    reason = result.error
    if reason is not None:
        # The file's name is the document's, and can change: keep only the why.
        reason = reason.removeprefix(f"{result.name}: ")
    return {
        "b_id": reading.document_id,
        "b_state": "failed" if result.error else "done",
        "b_reason": reason,
        "b_pages": result.pages,
        "b_seconds": {k: round(v, 3) for k, v in result.seconds.items()},
    }


def _page_error(number: int, result: FileResult) -> str | None:
    """Why a page gave no form: it failed, or it is of no known form type."""
    failed = next((e for e in result.page_errors if f", page {number}:" in e), None)
    if failed is not None:
        return failed.removeprefix(f"{result.name}, page {number}: ")
    if number in result.unrecognised:
        return f"{UNRECOGNISED}: {result.unrecognised[number]}"
    return None
